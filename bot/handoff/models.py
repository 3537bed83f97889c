"""Handoff requests: a customer's conversation that should go to a person."""

from __future__ import annotations

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.timeutil import UTCDateTime, utcnow

OPEN_STATUSES = ("requested",)
REASONS = (
    "asked_for_person",
    "not_understood_twice",
    "negative_feedback",
    "order_lookup_failed",
)


class HandoffRequest(Base):
    """One request for a person; at most one open request per conversation."""

    __tablename__ = "handoff_requests"
    __table_args__ = (
        # Race-safe: a retry or a second click cannot open a second request.
        Index(
            "uq_handoff_requests_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status = 'requested'"),
            postgresql_where=text("status = 'requested'"),
        ),
    )

    pk = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    status = Column(String(32), nullable=False, default="requested")
    reason = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False, default="en")
    channel = Column(String(64), nullable=True)
    last_question = Column(Text, nullable=True)
    context = Column(JSON, nullable=False, default=dict)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    closed_at = Column(UTCDateTime, nullable=True)

    @property
    def reference(self) -> str:
        """The reference a customer can quote to the store's staff."""
        return f"H-{self.pk:06d}"
