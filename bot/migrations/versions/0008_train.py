"""training_jobs: retraining started from the editor

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_jobs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stage_started_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("heartbeat_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("finished_at", bot.timeutil.UTCDateTime(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=True),
        sa.Column("current_model", sa.String(length=1000), nullable=True),
        sa.Column("candidate_model", sa.String(length=1000), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("stage_times", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_training_jobs")),
        sa.UniqueConstraint("running", name=op.f("uq_training_jobs_running")),
    )


def downgrade() -> None:
    op.drop_table("training_jobs")
