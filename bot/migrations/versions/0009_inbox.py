"""inbox: what editors did with the inbox's groups, and which messages each action handled

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_actions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("article_id", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_inbox_actions")),
    )
    op.create_table(
        "inbox_handled",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_pk"],
            ["inbox_actions.pk"],
            name=op.f("fk_inbox_handled_action_pk_inbox_actions"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbox_handled")),
    )
    with op.batch_alter_table("inbox_handled", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_handled_action_pk"), ["action_pk"])


def downgrade() -> None:
    op.drop_table("inbox_handled")
    op.drop_table("inbox_actions")
