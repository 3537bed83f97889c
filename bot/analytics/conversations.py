"""Conversations as analytics counts them, read from Rasa's SQL tracker store.

A *conversation* is one session of one conversation id (Rasa's ``sender_id``): it starts at a
``session_started`` event (Rasa starts a new session after ``SESSION_GAP`` of silence, see
``domain.yml``'s ``session_expiration_time``), or at the id's first event in the window, or after
``SESSION_GAP`` without any event (a store that did not record the session's start). Only the
events analytics needs are read: what was said (``user``, ``bot``), session starts, and slots
(the language).

What a conversation holds: its start and last event, its language, how many messages the
customer wrote, the articles the bot answered with (the ``kb_answer`` payload the action server
sends, ``actions/kb.py``), found orders (``order_status``), the customer's messages the bot did
not understand (a ``kb_miss`` payload answers them), the times of agents' messages, and the
e-mail address an order lookup verified (who the customer is across conversations).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from bot.live.tracker import EVENTS, has_events_table

logger = logging.getLogger(__name__)

SESSION_GAP = dt.timedelta(minutes=60)  # domain.yml: session_config.session_expiration_time
READ = ("user", "bot", "session_started", "slot")
LANGUAGES = ("en", "lt", "lv", "pl")
ORDER_TOPIC = "order-status"


@dataclass
class Conversation:
    """One session of one conversation id, and what analytics links to it."""

    conversation_id: str
    started: dt.datetime
    ended: dt.datetime
    language: Optional[str] = None
    customer_messages: int = 0
    answers: List[Tuple[dt.datetime, str, str]] = field(default_factory=list)  # time, id, lang
    orders_found: int = 0
    asked_order: bool = False
    misses: List[Tuple[dt.datetime, str]] = field(default_factory=list)  # time, customer text
    agent_messages: List[dt.datetime] = field(default_factory=list)
    # Linked afterwards (bot.analytics.report): the conversation's handoffs and bad ratings, the
    # customer it belongs to, and whether the same id has a later conversation.
    handoffs: List[Any] = field(default_factory=list)
    unhelpful: int = 0
    customer: str = ""
    followed: bool = False
    last_typed: str = ""
    email: Optional[str] = None  # the order lookup's e-mail, until it is verified
    verified_email: Optional[str] = None

    @property
    def topics(self) -> Set[str]:
        """What the conversation was about: the articles answered with, and order status."""
        topics = {article for _, article, _ in self.answers}
        if self.asked_order or self.orders_found:
            topics.add(ORDER_TOPIC)
        return topics

    @property
    def answered(self) -> bool:
        """The bot gave an answer: an article, or a found order's status."""
        return bool(self.answers) or self.orders_found > 0


def _time(stamp: Any) -> Optional[dt.datetime]:
    try:
        return dt.datetime.fromtimestamp(float(stamp), tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _part(value: Dict[str, Any], key: str) -> Dict[str, Any]:
    """``value[key]`` when it is a dict, else an empty one (rows are read, not trusted)."""
    part = value.get(key)
    return part if isinstance(part, dict) else {}


def _apply(conversation: Conversation, kind: str, when: dt.datetime, event: Dict[str, Any]) -> None:
    """Adds one event's meaning to ``conversation``."""
    if kind == "user":
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            return
        conversation.customer_messages += 1
        if not text.startswith("/"):  # a button's payload is not something the customer typed
            conversation.last_typed = text
        intent = _part(_part(event, "parse_data"), "intent")
        if intent.get("name") == "order_status":
            conversation.asked_order = True
    elif kind == "bot":
        if _part(event, "metadata").get("author") == "agent":
            conversation.agent_messages.append(when)
        custom = _part(_part(event, "data"), "custom")
        answer = custom.get("kb_answer")
        if isinstance(answer, dict) and isinstance(answer.get("article_id"), str):
            language = answer.get("language")
            language = language if language in LANGUAGES else conversation.language
            conversation.answers.append((when, answer["article_id"], language or ""))
        if isinstance(custom.get("kb_miss"), dict) and conversation.last_typed:
            conversation.misses.append((when, conversation.last_typed))
            conversation.last_typed = ""
        order = custom.get("order_status")
        if isinstance(order, dict) and order.get("found") is True:
            conversation.orders_found += 1
    elif kind == "slot":
        value = event.get("value")
        if event.get("name") == "order_email" and isinstance(value, str):
            conversation.email = value.strip().lower() or None
        if event.get("name") == "order_verified" and value is True and conversation.email:
            conversation.verified_email = conversation.email  # as actions/handoff.customer_key_of
        if event.get("name") == "session_started_metadata" and isinstance(value, dict):
            value = value.get("language")
        elif event.get("name") != "language":
            return
        if isinstance(value, str) and value[:2].lower() in LANGUAGES:
            conversation.language = value[:2].lower()


def sessions_of(conversation_id: str, rows: Iterable[Tuple[str, Any, Any]]) -> List[Conversation]:
    """The conversations of one id from its rows (type, timestamp, JSON data), oldest first."""
    found: List[Conversation] = []
    current: Optional[Conversation] = None
    for kind, stamp, data in rows:
        when = _time(stamp)
        if when is None:
            continue
        try:
            event = json.loads(data or "{}")
        except ValueError:
            logger.warning("conversation %s: an event is not JSON; skipped", conversation_id)
            continue
        if not isinstance(event, dict):
            continue
        if kind == "session_started" and current is not None and not current.customer_messages:
            current.started = when  # nothing was said yet: the session starts here
        elif current is None or kind == "session_started" or when - current.ended > SESSION_GAP:
            language = current.language if current is not None else None
            current = Conversation(conversation_id, when, when, language=language)
            found.append(current)
        current.ended = max(current.ended, when)
        _apply(current, kind, when, event)
    for earlier in found[:-1]:
        earlier.followed = True
    return found


def read_query(since: dt.datetime, until: dt.datetime) -> Select:
    """The tracker rows analytics reads for a period, by conversation id then in order; by
    time, through the index ``bot.live.tracker.ensure_indexes`` adds to Rasa's table."""
    return (
        select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
        .where(
            EVENTS.c.timestamp >= since.timestamp(),
            EVENTS.c.timestamp < until.timestamp(),
            EVENTS.c.type_name.in_(READ),
        )
        .order_by(EVENTS.c.sender_id, EVENTS.c.id)
    )


def read_conversations(
    engine: Engine, since: dt.datetime, until: dt.datetime
) -> List[Conversation]:
    """Every conversation with events between ``since`` and ``until`` (a bounded window: the
    caller chooses it), grouped by conversation id, oldest first within an id."""
    if not has_events_table(engine):
        return []
    query = read_query(since, until)
    conversations: List[Conversation] = []
    with engine.connect() as connection:
        rows: List[Tuple[str, Any, Any]] = []
        sender: Optional[str] = None
        for row in connection.execute(query):
            if row.sender_id != sender:
                if sender is not None:
                    conversations.extend(sessions_of(sender, rows))
                sender, rows = row.sender_id, []
            rows.append((row.type_name, row.timestamp, row.data))
        if sender is not None:
            conversations.extend(sessions_of(sender, rows))
    return conversations
