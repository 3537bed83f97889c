"""Reading conversations from Rasa's SQL tracker store, without Rasa.

Rasa's ``SQLTrackerStore`` (rasa/core/tracker_store.py, ``SQLEvent``) keeps every event of every
conversation as one row of the table ``events``: an increasing ``id``, the conversation's
``sender_id``, the event's ``type_name`` and the whole event as JSON in ``data``. Rows are only
ever added. Only the columns read here are declared; the table is Rasa's, created by Rasa (our
migrations never touch it), so it may not exist yet when nothing has been said.

What a row becomes: a transcript line for the agent (``bot.handoff.context.transcript_of``) and a
chat message for the customer (``customer_message``), each carrying the row's id as its cursor.
"""

from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, inspect, select
from sqlalchemy.engine import Engine

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
MESSAGE_PARTS = ("buttons", "image", "attachment", "custom")


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
) -> List[TrackerEvent]:
    """Rows with ``id > after``, oldest first: of one conversation, or of all."""
    if not has_events_table(engine):
        return []
    query = select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.id > after)
    if conversation_id is not None:
        query = query.where(EVENTS.c.sender_id == conversation_id)
    if said_only:
        query = query.where(EVENTS.c.type_name.in_(SAID))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(EVENTS.c.id).limit(limit)).all()
    return _decode(rows)


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
    """The row as the customer's chat shows it, or None when it is nothing said.

    ``author`` is customer, bot, agent (with ``name``) or system; ``pushed`` is true for what
    was sent to the conversation from outside a reply to the customer (a person's message, a
    change of the handoff, the hand-back), which a REST client sees only here.
    """
    event = row.event
    kind = event.get("event")
    message: Dict[str, Any] = {"id": row.id, "time": event_time(event)}
    if kind == "user":
        return {**message, "author": "customer", "text": display_text(event.get("text"))}
    if kind != "bot":
        return None
    meta: Dict[str, Any] = event.get("metadata") or {}
    data: Dict[str, Any] = event.get("data") or {}
    if not isinstance(meta, dict) or not isinstance(data, dict):
        return None
    author = meta.get("author") if meta.get("author") in ("agent", "system") else "bot"
    message.update(author=author, pushed="author" in meta)
    if author == "agent":
        message["name"] = str(meta.get("display_name") or "")[:100]
    if event.get("text"):
        message["text"] = str(event["text"])[:MAX_TEXT]
    message.update({part: data[part] for part in MESSAGE_PARTS if data.get(part)})
    if "text" not in message and not any(part in message for part in MESSAGE_PARTS):
        return None
    return message
