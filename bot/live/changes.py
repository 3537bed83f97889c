"""What changed in the database since a position, and the watcher that follows it.

Four append-only tables are followed, each named by a letter in tokens (bot.live.cursor):

- ``h`` ``handoff_events``: a handoff was requested, claimed, transferred, requeued, handed
  back, resolved, abandoned or became a ticket -> a ``handoff`` change;
- ``n`` ``handoff_notes``: an internal note -> a ``note`` change;
- ``f`` ``follow_ups``: a promised follow-up was written -> a ``follow_up`` change;
- ``t`` Rasa's ``events`` (bot.live.tracker): something was said -> a ``line`` change, with the
  agent's transcript line, the customer's chat message and the conversation's latest handoff.

The watcher reads them for every stream of its process at once (``Watcher.poll``); a client that
comes back with a token is sent what it missed by ``replay``, built by the same readers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.handoff.models import FollowUp, Handoff, HandoffEvent, HandoffNote
from bot.live import tracker
from bot.live.cursor import DEFAULT_GRACE_SECONDS, GapCursor, Token
from bot.live.hub import Change, Hub

logger = logging.getLogger(__name__)
TABLES = ("h", "n", "f", "t")
BATCH = 500
Rows = List[Tuple[int, Optional[Change]]]  # every id read, with its change (None: nothing said)


def _handoff_changes(engine: Engine, after: int, limit: int) -> Rows:
    query = (
        select(HandoffEvent, Handoff)
        .join(Handoff, Handoff.pk == HandoffEvent.handoff_pk)
        .where(HandoffEvent.pk > after)
        .order_by(HandoffEvent.pk)
        .limit(limit)
    )
    with session_scope(engine) as session:
        return [
            (
                event.pk,
                {
                    "kind": "handoff",
                    "id": handoff.pk,
                    "reference": handoff.reference,
                    "conversation_id": handoff.conversation_id,
                    "team": handoff.team,
                    "action": event.action,
                    "status": event.to_status,
                },
            )
            for event, handoff in session.execute(query).all()
        ]


def _note_changes(engine: Engine, after: int, limit: int) -> Rows:
    query = select(HandoffNote).where(HandoffNote.pk > after).order_by(HandoffNote.pk).limit(limit)
    with session_scope(engine) as session:
        return [
            (
                note.pk,
                {
                    "kind": "note",
                    "handoff": note.handoff_pk,
                    "note": {
                        "id": note.pk,
                        "author": note.author,
                        "text": note.text,
                        "time": note.created_at.isoformat(),
                    },
                },
            )
            for note in session.execute(query).scalars()
        ]


def _follow_up_changes(engine: Engine, after: int, limit: int) -> Rows:
    query = select(FollowUp.pk, FollowUp.handoff_pk).where(FollowUp.pk > after)
    with session_scope(engine) as session:
        rows = session.execute(query.order_by(FollowUp.pk).limit(limit)).all()
    return [(pk, {"kind": "follow_up", "handoff": handoff_pk}) for pk, handoff_pk in rows]


def latest_handoffs(engine: Engine, conversation_ids: Sequence[str]) -> Dict[str, int]:
    """Each conversation's latest handoff (conversations without one are left out)."""
    if not conversation_ids:
        return {}
    query = (
        select(Handoff.conversation_id, func.max(Handoff.pk))
        .where(Handoff.conversation_id.in_(sorted(set(conversation_ids))))
        .group_by(Handoff.conversation_id)
    )
    with session_scope(engine) as session:
        return {str(cid): int(pk) for cid, pk in session.execute(query).all()}


def _said_changes(engine: Engine, tracker_engine: Engine, after: int, limit: int) -> Rows:
    rows = tracker.read_after(tracker_engine, after, limit=limit)
    said = [r for r in rows if r.event.get("event") in tracker.SAID]
    handoffs = latest_handoffs(engine, [r.conversation_id for r in said])
    changes: Rows = []
    for row in rows:
        is_said = row.event.get("event") in tracker.SAID
        line = tracker.transcript_line(row) if is_said else None
        message = tracker.customer_message(row) if is_said else None
        change = None
        if line is not None or message is not None:
            change = {
                "kind": "line",
                "conversation_id": row.conversation_id,
                "handoff": handoffs.get(row.conversation_id),
                "line": line,
                "message": message,
            }
        changes.append((row.id, change))
    return changes


Reader = Callable[[int, int], Rows]


def readers(engine: Engine, tracker_engine: Engine) -> Dict[str, Reader]:
    """For each table letter: read (id, change) of the rows after a position, oldest first."""
    return {
        "h": lambda after, limit: _handoff_changes(engine, after, limit),
        "n": lambda after, limit: _note_changes(engine, after, limit),
        "f": lambda after, limit: _follow_up_changes(engine, after, limit),
        "t": lambda after, limit: _said_changes(engine, tracker_engine, after, limit),
    }


def newest(engine: Engine, tracker_engine: Engine) -> Token:
    """The position of every table now: where a watcher that has just started begins."""
    with session_scope(engine) as session:
        positions = {
            table: int(session.execute(select(func.max(pk))).scalar() or 0)
            for table, pk in (("h", HandoffEvent.pk), ("n", HandoffNote.pk), ("f", FollowUp.pk))
        }
    positions["t"] = tracker.last_id(tracker_engine)
    return Token(positions)


def replay(
    engine: Engine, tracker_engine: Engine, since: Token, *, limit: int = BATCH
) -> Optional[List[Change]]:
    """Every change after ``since``, table by table; None when a table has more than ``limit``
    (the client should reload everything instead)."""
    changes: List[Change] = []
    for table, read in readers(engine, tracker_engine).items():
        rows = read(since[table], limit + 1)
        if len(rows) > limit:
            return None
        changes.extend({**c, "table": table, "row": pk} for pk, c in rows if c is not None)
    return changes


class Watcher:
    """Follows the four tables for one web process and publishes to its hub."""

    def __init__(
        self,
        engine: Engine,
        tracker_engine: Engine,
        hub: Hub,
        *,
        every: float,
        grace: float = DEFAULT_GRACE_SECONDS,
    ) -> None:
        self.engine = engine
        self.tracker_engine = tracker_engine
        self.hub = hub
        self.every = every
        self.grace = grace
        self.readers = readers(engine, tracker_engine)
        self.cursors: Dict[str, GapCursor] = {}

    def token(self) -> Token:
        return Token({table: cursor.position for table, cursor in self.cursors.items()})

    def start(self) -> Token:
        """Begin at the tables' newest rows (what came before is the clients' to load)."""
        start = newest(self.engine, self.tracker_engine)
        self.cursors = {t: GapCursor(start[t], grace=self.grace) for t in TABLES}
        return start

    def poll(self) -> Tuple[List[Change], Token]:
        """The changes not published before, each stamped with the token a client that has
        received it (and everything before it) may resume from; and the new positions."""
        before = self.token()
        found: List[Change] = []
        for table, read in self.readers.items():
            cursor = self.cursors[table]
            rows = read(cursor.position, BATCH)
            fresh = set(cursor.accept(pk for pk, _ in rows))
            found.extend(
                {**c, "table": table, "row": pk} for pk, c in rows if pk in fresh and c is not None
            )
        after = self.token()
        running = before.copy()
        for change in found:
            # Rows of this table up to min(row, its new position) are published by now (rows
            # after this one in the batch are not yet); other tables are as far as before.
            table = change["table"]
            running.positions[table] = max(running[table], min(change["row"], after[table]))
            change["token"] = running.copy()
        return found, after

    async def run(self) -> None:
        """Forever: poll every ``every`` seconds and publish what is new."""
        failing = False
        while True:
            try:
                if not self.cursors:
                    self.hub.published = await asyncio.to_thread(self.start)
                changes, token = await asyncio.to_thread(self.poll)
            except Exception:
                if not failing:
                    logger.exception("live updates: the database could not be read; retrying")
                failing = True
            else:
                if failing:
                    logger.info("live updates: reading the database again")
                failing = False
                self.hub.publish(changes, token)
            await asyncio.sleep(self.every)
