"""follow_ups: an index on delivered_at, for the undelivered ones the Rasa server looks for

The Rasa server asks which conversations have an undelivered follow-up about once a second
(``bot.handoff.follow_ups.FollowUpWatch``); the index finds them without reading the delivered
ones, however many there are.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_delivered_at"), ["delivered_at"])


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_delivered_at"))
