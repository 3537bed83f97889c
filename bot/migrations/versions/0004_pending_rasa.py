"""handoffs.pending_rasa: a resume Rasa has not accepted yet, retried by the web app

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_rasa", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_handoffs_pending_rasa"), ["pending_rasa"])


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_pending_rasa"))
        batch_op.drop_column("pending_rasa")
