"""follow_ups: what an agent promised to come back with

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("handoff_pk", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", bot.timeutil.UTCDateTime(), nullable=True),
        sa.Column("delivered_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["handoff_pk"], ["handoffs.pk"], name=op.f("fk_follow_ups_handoff_pk_handoffs")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_conversation_id"), ["conversation_id"])
        batch_op.create_index(batch_op.f("ix_follow_ups_handoff_pk"), ["handoff_pk"])


def downgrade() -> None:
    op.drop_table("follow_ups")
