"""events: an index on the time of Rasa's tracker events, for analytics over a period

Rasa's SQL tracker store creates its own ``events`` table (indexed by ``sender_id`` only) on its
first start, in the database it is configured for. When that table is already in this database,
the index is added here; otherwise the tracker store adds it when the Rasa server starts
(``rasa_ext.tracker_store``). Both through ``bot.live.tracker.ensure_indexes``, idempotently.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from bot.live.tracker import EVENT_INDEXES, ensure_indexes

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_indexes(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("events"):
        return
    have = {index["name"] for index in inspector.get_indexes("events")}
    for name in EVENT_INDEXES:
        if name in have:
            op.drop_index(name, table_name="events")
