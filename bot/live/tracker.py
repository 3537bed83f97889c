"""Reading conversations from Rasa's SQL tracker store, without Rasa.

Rasa's ``SQLTrackerStore`` (rasa/core/tracker_store.py, ``SQLEvent``) keeps every event of every
conversation as one row of the table ``events``: an increasing ``id``, the conversation's
``sender_id``, the event's ``type_name`` and the whole event as JSON in ``data``. Rows are only
ever added. Only the columns read here are declared; the table is Rasa's, created by Rasa, so it
may not exist yet when nothing has been said.

Rasa indexes only ``sender_id``; analytics reads a period by ``timestamp``
(``bot.analytics.conversations``), which without an index reads the whole table however short the
period. ``ensure_indexes`` adds ours, idempotently, where our code meets the table: when the Rasa
server opens its tracker store (``rasa_ext.tracker_store``, just after Rasa created the table), and
in migration 0011 for a database that already has it. Both are needed: Rasa creates the table
outside our migrations (on its first start, in whichever database the tracker store is
configured for, perhaps not ours), so a migration alone would miss a fresh installation.

What a row becomes: a transcript line for the agent (``bot.handoff.context.transcript_of``) and a
chat message for the customer (``customer_message``), each carrying the row's id as its cursor.

``customer_message`` is the one set of rules about what a customer may read back of their
conversation, wherever they read it (``GET /api/conversations/<id>/messages`` and its alias
``/history``, the live stream ``/events``): only what was said to them or by them (no intents,
confidences, slots, actions or notes), a button they clicked as they saw it (never its payload),
and only the custom payloads the customer's chat uses (``SHOWN_CUSTOM``); what the bot computed
for agents and editors (suggestion scores, misses, order lookups) stays internal. The callers
read one conversation only, by its id.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from bot.handoff.context import MAX_TEXT, display_text, event_time, transcript_of

logger = logging.getLogger(__name__)

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)
SAID = ("user", "bot")  # the event types that are something said
BATCH = 500
# What of a bot message's ``data`` the customer's chat shows (as Rasa's channels send it).
MESSAGE_PARTS = ("buttons", "image", "attachment")
# The custom payloads a customer may read back, with the keys of each they may see (None: all).
SHOWN_CUSTOM: Dict[str, Optional[Tuple[str, ...]]] = {
    "handoff": None,
    "kb_answer": ("article_id", "version", "language"),  # not the model's confidence
}
# An idempotency key (metadata.message_id): the widget's for what the customer wrote, the web
# app's for what a person or the handoff service wrote; the same on every path a message takes.
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


@dataclass(frozen=True)
class TrackerEvent:
    """One row: its id, conversation and the event as Rasa wrote it."""

    id: int
    conversation_id: str
    event: Dict[str, Any]


_WITH_TABLE: weakref.WeakSet[Engine] = weakref.WeakSet()


def has_events_table(engine: Engine) -> bool:
    """True once Rasa has created its table (at its first start on this database)."""
    if engine not in _WITH_TABLE:
        if not inspect(engine).has_table(EVENTS.name):
            return False
        _WITH_TABLE.add(engine)
    return True


# Our indexes on Rasa's table; names and statements fixed here (SQLite and PostgreSQL alike).
EVENT_INDEXES = {
    "ix_events_timestamp": "CREATE INDEX IF NOT EXISTS ix_events_timestamp ON events (timestamp)",
}


def ensure_indexes(connection: Connection) -> List[str]:
    """Create our indexes on Rasa's ``events`` table where they are missing; nothing when the
    table does not exist yet. The names of those created. Raises SQLAlchemyError when the
    database refuses."""
    inspector = inspect(connection)
    if not inspector.has_table(EVENTS.name):
        return []
    have = {index["name"] for index in inspector.get_indexes(EVENTS.name)}
    created = []
    for name, statement in EVENT_INDEXES.items():
        if name not in have:
            connection.execute(text(statement))
            created.append(name)
    return created


def last_id(engine: Engine) -> int:
    """The newest row's id (0 when there is none, or no table yet)."""
    if not has_events_table(engine):
        return 0
    with engine.connect() as connection:
        return int(connection.execute(select(func.max(EVENTS.c.id))).scalar() or 0)


def _decode(rows: Sequence[Any]) -> List[TrackerEvent]:
    events = []
    for row in rows:
        try:
            event = json.loads(row.data or "{}")
        except ValueError:
            logger.warning("tracker event %s is not JSON; skipped", row.id)
            event = {}
        events.append(TrackerEvent(int(row.id), str(row.sender_id), event))
    return events


def read_after(
    engine: Engine,
    after: int,
    *,
    conversation_id: Optional[str] = None,
    said_only: bool = False,
    limit: int = BATCH,
    newest: bool = False,
) -> List[TrackerEvent]:
    """Rows with ``id > after``, oldest first: of one conversation, or of all; the first
    ``limit`` of them, or with ``newest`` the last ``limit``."""
    if not has_events_table(engine):
        return []
    query = select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.id > after)
    if conversation_id is not None:
        query = query.where(EVENTS.c.sender_id == conversation_id)
    if said_only:
        query = query.where(EVENTS.c.type_name.in_(SAID))
    order = EVENTS.c.id.desc() if newest else EVENTS.c.id
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(order).limit(limit)).all()
    return _decode(rows[::-1] if newest else rows)


def transcript_line(row: TrackerEvent) -> Optional[Dict[str, Any]]:
    """The row as a line of the agent's transcript (with its ``id``), or None."""
    lines = transcript_of([row.event])
    return {**lines[0], "id": row.id} if lines else None


def said_in(engine: Engine, conversation_id: str, after: int = 0) -> List[TrackerEvent]:
    """Everything said in the conversation after row ``after``, oldest first."""
    rows: List[TrackerEvent] = []
    while True:
        page = read_after(engine, after, conversation_id=conversation_id, said_only=True)
        rows.extend(page)
        if len(page) < BATCH:
            return rows
        after = page[-1].id


def transcript(engine: Engine, conversation_id: str) -> List[Dict[str, Any]]:
    """The whole conversation as the agent reads it: every line with its id, oldest first."""
    lines = map(transcript_line, said_in(engine, conversation_id))
    return [line for line in lines if line is not None]


def customer_messages(engine: Engine, conversation_id: str, after: int = 0) -> List[Dict[str, Any]]:
    """The conversation's messages after row ``after`` as its customer sees them."""
    messages = map(customer_message, said_in(engine, conversation_id, after))
    return [message for message in messages if message is not None]


def customer_message(row: TrackerEvent) -> Optional[Dict[str, Any]]:
    """The row as the customer's chat shows it, or None when it is nothing said to them.

    ``author`` is customer, bot, agent (with ``name``) or system; ``pushed`` is true for what
    was sent to the conversation from outside a reply to the customer (a person's message, a
    change of the handoff, the hand-back), which a REST client sees only here; ``message_id``,
    when the message has one, is its idempotency key (the same on the socket.io channel).
    What a customer may see is said in this module's docstring.
    """
    event = row.event
    kind = event.get("event")
    meta = event.get("metadata") or {}
    data = event.get("data") or {}
    if kind == "user" and not isinstance(meta, dict):
        meta = {}
    if kind not in SAID or not isinstance(meta, dict) or not isinstance(data, dict):
        return None
    message: Dict[str, Any] = {"id": row.id, "time": event_time(event)}
    if isinstance(meta.get("message_id"), str) and MESSAGE_ID.fullmatch(meta["message_id"]):
        message["message_id"] = meta["message_id"]
    if kind == "user":  # (a user event without text is an intent triggered from outside)
        text = as_seen(event.get("text"), meta)
        return {**message, "author": "customer", "text": text} if text else None
    author = meta.get("author") if meta.get("author") in ("agent", "system") else "bot"
    message.update(author=author, pushed="author" in meta)
    if author == "agent":
        message["name"] = str(meta.get("display_name") or "")[:100]
    if event.get("text"):
        message["text"] = str(event["text"])[:MAX_TEXT]
    message.update({part: data[part] for part in MESSAGE_PARTS if data.get(part)})
    custom = shown_custom(data.get("custom"))
    if custom:
        message["custom"] = custom
    if "text" not in message and not any(p in message for p in (*MESSAGE_PARTS, "custom")):
        return None
    return message


def as_seen(text: Optional[str], meta: Dict[str, Any]) -> str:
    """What the customer wrote as they saw it: a clicked button by the words it showed (the
    widget sends them as ``metadata.shown``), else in words (``display_text``), never a payload."""
    shown = meta.get("shown")
    if (text or "").startswith("/") and isinstance(shown, str) and shown.strip():
        return shown[:MAX_TEXT]
    return display_text(text)


def shown_custom(custom: Any) -> Dict[str, Any]:
    """The part of a custom payload a customer may read back (``SHOWN_CUSTOM``)."""
    if not isinstance(custom, dict):
        return {}
    shown: Dict[str, Any] = {}
    for key, keys in SHOWN_CUSTOM.items():
        value = custom.get(key)
        if isinstance(value, dict):
            shown[key] = value if keys is None else {k: value[k] for k in keys if k in value}
    return shown
