"""handoff follow-ups: notes, surveys, wrong-answer reports, webhook outbox, customer key

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_key", sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f("ix_handoffs_customer_key"), ["customer_key"])

    op.create_table(
        "handoff_notes",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("handoff_pk", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.pk"], name=op.f("fk_handoff_notes_author_id_users")),
        sa.ForeignKeyConstraint(["handoff_pk"], ["handoffs.pk"], name=op.f("fk_handoff_notes_handoff_pk_handoffs")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_handoff_notes")),
    )
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_notes_handoff_pk"), ["handoff_pk"])

    op.create_table(
        "surveys",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("handoff_pk", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_surveys_score")),
        sa.ForeignKeyConstraint(["handoff_pk"], ["handoffs.pk"], name=op.f("fk_surveys_handoff_pk_handoffs")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_surveys")),
        sa.UniqueConstraint("handoff_pk", name=op.f("uq_surveys_handoff_pk")),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveys_conversation_id"), ["conversation_id"])

    op.create_table(
        "wrong_answer_reports",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("handoff_pk", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("bot_text", sa.Text(), nullable=False),
        sa.Column("customer_text", sa.Text(), nullable=True),
        sa.Column("article_id", sa.String(length=100), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_pk"], ["handoffs.pk"], name=op.f("fk_wrong_answer_reports_handoff_pk_handoffs")),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.pk"], name=op.f("fk_wrong_answer_reports_reporter_id_users")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_wrong_answer_reports")),
    )
    with op.batch_alter_table("wrong_answer_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wrong_answer_reports_conversation_id"), ["conversation_id"])
        batch_op.create_index(batch_op.f("ix_wrong_answer_reports_handoff_pk"), ["handoff_pk"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", bot.timeutil.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_deliveries_event_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("wrong_answer_reports")
    op.drop_table("surveys")
    op.drop_table("handoff_notes")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_customer_key"))
        batch_op.drop_column("customer_key")
