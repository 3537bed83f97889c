"""handoff queue: users, handoffs with owner states and times, handoff events

Revision ID: 0002
Revises: 0001

The foundation's ``handoff_requests`` become ``handoffs``. Its open requests ("requested": the
customer was told how to reach the staff, nobody could take the chat) are kept as tickets.
"""

import sqlalchemy as sa
from alembic import op

import bot.timeutil

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_WHERE = "status IN ('queued', 'assigned')"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", bot.timeutil.UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_users_capacity")),
        sa.CheckConstraint(
            "presence IN ('online', 'away', 'offline')", name=op.f("ck_users_presence")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )

    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_handoff_requests_open_conversation",
            sqlite_where=sa.text("status = 'requested'"),
            postgresql_where=sa.text("status = 'requested'"),
        )
        batch_op.drop_index("ix_handoff_requests_conversation_id")
    op.execute("UPDATE handoff_requests SET status = 'ticket' WHERE status = 'requested'")
    op.rename_table("handoff_requests", "handoffs")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("customer_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("queued_at", bot.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", bot.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("first_agent_reply_at", bot.timeutil.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("updated_at", bot.timeutil.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_handoffs_agent_id_users"), "users", ["agent_id"], ["pk"]
        )
    op.execute("UPDATE handoffs SET updated_at = COALESCE(closed_at, created_at)")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=bot.timeutil.UTCDateTime(), nullable=False)
        batch_op.create_index(batch_op.f("ix_handoffs_conversation_id"), ["conversation_id"])
        batch_op.create_index(batch_op.f("ix_handoffs_agent_id"), ["agent_id"])
        batch_op.create_index("ix_handoffs_status_team", ["status", "team"])
        batch_op.create_index(
            "uq_handoffs_open_conversation",
            ["conversation_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_WHERE),
            postgresql_where=sa.text(OPEN_WHERE),
        )

    op.create_table(
        "handoff_events",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("handoff_pk", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.pk"], name=op.f("fk_handoff_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["handoff_pk"], ["handoffs.pk"], name=op.f("fk_handoff_events_handoff_pk_handoffs")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_handoff_events")),
    )
    with op.batch_alter_table("handoff_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_events_handoff_pk"), ["handoff_pk"])


def downgrade() -> None:
    op.drop_table("handoff_events")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_handoffs_open_conversation",
            sqlite_where=sa.text(OPEN_WHERE),
            postgresql_where=sa.text(OPEN_WHERE),
        )
        batch_op.drop_index("ix_handoffs_status_team")
        batch_op.drop_index(batch_op.f("ix_handoffs_agent_id"))
        batch_op.drop_index(batch_op.f("ix_handoffs_conversation_id"))
        batch_op.drop_constraint(op.f("fk_handoffs_agent_id_users"), type_="foreignkey")
        for column in (
            "updated_at",
            "first_agent_reply_at",
            "assigned_at",
            "queued_at",
            "outcome",
            "customer_email",
            "agent_id",
            "priority",
            "team",
        ):
            batch_op.drop_column(column)
    op.rename_table("handoffs", "handoff_requests")
    op.execute(
        "UPDATE handoff_requests SET status = 'closed' WHERE status IN ('queued', 'assigned')"
    )
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.create_index("ix_handoff_requests_conversation_id", ["conversation_id"])
        batch_op.create_index(
            "uq_handoff_requests_open_conversation",
            ["conversation_id"],
            unique=True,
            sqlite_where=sa.text("status = 'requested'"),
            postgresql_where=sa.text("status = 'requested'"),
        )
    op.drop_table("users")
