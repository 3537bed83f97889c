"""Real conversations from Rasa's tracker store, as the story editor shows them.

Found by their id or by text the customer wrote, newest first; one conversation is shown as
turns the editor can correct: what the customer wrote (masked, ``bot.privacy``) with the
intent the bot understood and its confidence, what the bot did (the action, and what it said),
what it remembered (slots the stories use) and the form it ran. What agents wrote is shown but
is not a turn of a story.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.editor.stories import SKIPPED_ACTIONS
from bot.errors import ConversationNotFound
from bot.handoff.context import MAX_TEXT, display_text, event_time
from bot.kb.text import clean_text
from bot.live.tracker import EVENTS, has_events_table, read_after
from bot.privacy import mask, mask_value

MAX_FOUND = 50
MAX_EVENTS = 2000
SNIPPET = 160
# Slots a story keeps: the form's questions (what it asks next); the others do not shape what the
# bot does next in this assistant (influence_conversation: false), so stories leave them out.
STORY_SLOTS = ("requested_slot",)


def _like(text: str) -> str:
    """A LIKE pattern for ``text`` inside Rasa's JSON, which escapes non-ASCII as \\uXXXX (so
    only an ASCII part can be looked for there, in any letter case; the caller confirms)."""
    pieces = re.split(r"[^\x20-\x7e]+", text)
    encoded = json.dumps(max(pieces, key=len))[1:-1]
    for special in ("\\", "%", "_"):
        encoded = encoded.replace(special, "\\" + special)
    return f"%{encoded}%"


def find(
    engine: Engine, *, text: Optional[str] = None, conversation_id: Optional[str] = None
) -> List[Dict[str, Any]]:
    """Conversations, newest first: whose id contains ``conversation_id``, in which the customer
    wrote ``text`` (letter case ignored), or all; at most MAX_FOUND. Control characters in
    what is looked for are ignored; nothing is found when nothing else is left."""
    text = clean_text(text) if text is not None else None
    conversation_id = clean_text(conversation_id) if conversation_id is not None else None
    if text == "" or conversation_id == "" or not has_events_table(engine):
        return []
    newest = func.max(EVENTS.c.id).label("newest")
    query = select(EVENTS.c.sender_id, newest).where(EVENTS.c.type_name == "user")
    if conversation_id:
        pattern = conversation_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(EVENTS.c.sender_id.like(f"%{pattern}%", escape="\\"))
    if text:
        query = query.where(EVENTS.c.data.like(_like(text), escape="\\"))
    query = query.group_by(EVENTS.c.sender_id).order_by(newest.desc()).limit(MAX_FOUND * 4)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for row in rows:
        summary = _summary(engine, str(row.sender_id), text)
        if summary is not None:
            found.append(summary)
        if len(found) == MAX_FOUND:
            break
    return found


def _summary(engine: Engine, conversation_id: str, text: Optional[str]) -> Optional[Dict]:
    """The conversation in the list: its first (or matching) customer message, masked, and how
    many messages the customer wrote; None when ``text`` matched only outside the messages."""
    said = [
        r.event
        for r in read_after(
            engine, 0, conversation_id=conversation_id, said_only=True, limit=MAX_EVENTS
        )
        if r.event.get("event") == "user"
    ]
    if not said:
        return None
    shown = said[0]
    if text:
        needle = text.casefold()
        hits = [e for e in said if needle in str(e.get("text") or "").casefold()]
        if not hits:
            return None
        shown = hits[0]
    return {
        "conversation_id": conversation_id,
        "started_at": event_time(said[0]),
        "last_at": event_time(said[-1]),
        "messages": len(said),
        "snippet": mask(display_text(shown.get("text")))[:SNIPPET],
    }


def conversation(engine: Engine, conversation_id: str) -> Dict[str, Any]:
    """The conversation as turns (oldest first). Raises ConversationNotFound."""
    rows = read_after(engine, 0, conversation_id=conversation_id, limit=MAX_EVENTS)
    if not rows:
        raise ConversationNotFound(f"no conversation {conversation_id!r}")
    turns: List[Dict[str, Any]] = []
    for row in rows:
        turn = turn_of(row.event)
        if turn is None:
            continue
        if turn["kind"] == "said" and turn["author"] == "bot":
            # What the bot said belongs to its last action since the customer last wrote.
            bot = next((t for t in reversed(turns) if t["kind"] in ("bot", "customer")), None)
            if bot is not None and bot["kind"] == "bot":
                bot["said"].append(turn["text"])
                continue
        turn["id"] = row.id
        turns.append(turn)
    return {
        "conversation_id": conversation_id,
        "started_at": event_time(rows[0].event),
        "turns": turns,
    }


def turn_of(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """One tracker event as a turn, or None when it is not part of a story."""
    kind = event.get("event")
    time = event_time(event)
    if kind == "user":
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        return {
            "kind": "customer",
            "time": time,
            "text": mask(display_text(event.get("text"))),
            # What Rasa received (a button's payload as sent): what a test story replays.
            "message": mask(str(event.get("text") or ""))[:MAX_TEXT],
            "intent": intent.get("name"),
            "confidence": intent.get("confidence"),
            "entities": [
                {"entity": str(e.get("entity")), "value": mask_value(e.get("value"))}
                for e in parse.get("entities") or []
                if isinstance(e, dict) and e.get("entity")
            ],
        }
    if kind == "action":
        name = event.get("name")
        if not name or name in SKIPPED_ACTIONS:
            return None
        return {"kind": "bot", "time": time, "action": name, "said": []}
    if kind == "bot" and event.get("text"):
        meta = event.get("metadata") or {}
        author = meta.get("author") if meta.get("author") in ("agent", "system") else "bot"
        text = mask(str(event["text"]))
        return {"kind": "said", "time": time, "author": author, "text": text}
    if kind == "slot" and event.get("name") in STORY_SLOTS:
        return {
            "kind": "slot",
            "time": time,
            "name": event["name"],
            "value": mask_value(event.get("value")),
        }
    if kind == "active_loop":
        return {"kind": "form", "time": time, "name": event.get("name")}
    return None
