"""kb sync: where each article stood when it was last synced with its file in data/kb

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_article_sync",
        sa.Column("article_pk", sa.Integer(), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=True),
        sa.Column("article_version", sa.Integer(), nullable=False),
        sa.Column("synced_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_pk"],
            ["kb_articles.pk"],
            name=op.f("fk_kb_article_sync_article_pk_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_pk", name=op.f("pk_kb_article_sync")),
    )


def downgrade() -> None:
    op.drop_table("kb_article_sync")
