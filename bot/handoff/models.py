"""Handoffs: a conversation that goes from the bot to a person, and its history.

A handoff's ``status`` says who owns the conversation (bot.handoff.ownership): while it is
``queued`` or ``assigned`` the conversation is with the queue or an agent, and the bot is silent.
Every change of status is a ``HandoffEvent`` row, so that wait, first-response and resolution times
can be computed later; the handoff row also keeps those times for quick reading.
"""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import relationship
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.timeutil import UTCDateTime, utcnow

# Why a conversation went to a person (PRODUCT.md, "Full context").
REASONS = (
    "asked_for_person",
    "not_understood_twice",
    "negative_feedback",
    "frustration",
    "sensitive_topic",
    "order_lookup_failed",
)
# The open statuses: at most one open handoff per conversation (a partial unique index).
OPEN_WHERE = "status IN ('queued', 'assigned')"


class Handoff(Base):
    """One handoff of one conversation to a person."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # Race-safe: a retry or a second click cannot open a second handoff.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(OPEN_WHERE),
            postgresql_where=text(OPEN_WHERE),
        ),
        Index("ix_handoffs_status_team", "status", "team"),
    )

    pk = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    status = Column(String(32), nullable=False, default="queued")
    reason = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False, default="en")
    team = Column(String(64), nullable=True)
    priority = Column(Integer, nullable=False, default=0)
    channel = Column(String(64), nullable=True)
    last_question = Column(Text, nullable=True)
    # The handoff package (bot.handoff.context), versioned JSON.
    context = Column(JSON, nullable=False, default=dict)
    agent_id = Column(Integer, ForeignKey("users.pk"), nullable=True, index=True)
    customer_email = Column(String(320), nullable=True)
    # Who the customer is across conversations: a verified e-mail, or the site's visitor id.
    customer_key = Column(String(320), nullable=True, index=True)
    # A change Rasa has not accepted yet ("resume"): the web app retries it (bot/web/conversation).
    pending_rasa = Column(String(16), nullable=True, index=True)
    outcome = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    queued_at = Column(UTCDateTime, nullable=True)
    assigned_at = Column(UTCDateTime, nullable=True)
    first_agent_reply_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    agent = relationship("User", lazy="joined")
    events = relationship(
        "HandoffEvent", order_by="HandoffEvent.pk", back_populates="handoff", lazy="selectin"
    )

    @property
    def reference(self) -> str:
        """The reference a customer can quote to the store's staff."""
        return f"H-{self.pk:06d}"


class HandoffEvent(Base):
    """One change of a handoff: claimed, transferred, handed back, resolved, a note..."""

    __tablename__ = "handoff_events"

    pk = Column(Integer, primary_key=True)
    handoff_pk = Column(Integer, ForeignKey("handoffs.pk"), nullable=False, index=True)
    action = Column(String(32), nullable=False)
    from_status = Column(String(32), nullable=True)
    to_status = Column(String(32), nullable=False)
    # who: a user's pk, or None for the customer or the system
    actor_id = Column(Integer, ForeignKey("users.pk"), nullable=True)
    actor = Column(String(64), nullable=False)  # "customer", "system", or the user's name
    note = Column(Text, nullable=True)
    data = Column(JSON, nullable=False, default=dict)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    handoff = relationship("Handoff", back_populates="events")


class HandoffNote(Base):
    """An agent's internal note on a handoff (never shown to the customer)."""

    __tablename__ = "handoff_notes"

    pk = Column(Integer, primary_key=True)
    handoff_pk = Column(Integer, ForeignKey("handoffs.pk"), nullable=False, index=True)
    author_id = Column(Integer, ForeignKey("users.pk"), nullable=True)
    author = Column(String(100), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Survey(Base):
    """The customer's satisfaction after a conversation with a person: 1 to 5, a comment."""

    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    pk = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    handoff_pk = Column(Integer, ForeignKey("handoffs.pk"), nullable=True, unique=True)
    score = Column(Integer, nullable=False)
    comment = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class WrongAnswerReport(Base):
    """An agent's "the bot got this wrong" on one of the bot's messages: work for the editors."""

    __tablename__ = "wrong_answer_reports"

    pk = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    handoff_pk = Column(Integer, ForeignKey("handoffs.pk"), nullable=True, index=True)
    reporter_id = Column(Integer, ForeignKey("users.pk"), nullable=True)
    bot_text = Column(Text, nullable=False)
    customer_text = Column(Text, nullable=True)
    article_id = Column(String(100), nullable=True)
    comment = Column(Text, nullable=True)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class WebhookDelivery(Base):
    """One handoff event to deliver to the configured webhook (an outbox: at least once)."""

    __tablename__ = "webhook_deliveries"

    pk = Column(Integer, primary_key=True)
    # The idempotency key the receiver sees (header Idempotency-Key): the same on every retry.
    event_id = Column(String(64), nullable=False, unique=True)
    event_type = Column(String(64), nullable=False)
    payload = Column(JSON, nullable=False)
    status = Column(String(16), nullable=False, default="pending", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime, nullable=True)


class FollowUp(Base):
    """What an agent promised to come back with, delivered on the customer's return (a chat
    message) or by e-mail when the address is known."""

    __tablename__ = "follow_ups"

    pk = Column(Integer, primary_key=True)
    handoff_pk = Column(Integer, ForeignKey("handoffs.pk"), nullable=False, index=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    author = Column(String(100), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime, nullable=True, index=True)
    delivered_by = Column(String(16), nullable=True)  # "chat" or "email"
