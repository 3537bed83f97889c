"""Rasa's SQL tracker store, configured by one SQLAlchemy URL.

Stock Rasa wants dialect, host, port and database as separate YAML keys; operators give us one
URL (``BOT_TRACKER_DATABASE_URL``, else ``BOT_DATABASE_URL``): SQLite by default, PostgreSQL when
the URL says so. SQLite files get WAL mode and a busy timeout, so the Rasa server, the action
server and the web app can share one file. Rasa's ``events`` table gets our index on its time
(``bot.live.tracker.ensure_indexes``).

Reading and writing a conversation cost a third of the Rasa server's busy time under load (py-spy,
``python -m benchmarks.profile``), mostly in Python around the SQL. Here, the same rows:

- A save writes only what is new without asking the database how much of the conversation it
  holds: stock ``save`` counted the stored events of the session first (``_additional_events``,
  about a tenth of the busy time), although the tracker it saves was read from, or last saved to,
  this store a moment before, under the conversation's lock. The tracker remembers how many of its
  events are stored (``PERSISTED``); one that does not know (built elsewhere, copied, or with a
  bounded event history) is counted as before. A new conversation is known to hold nothing when
  this store's read found nothing for it a moment before (Rasa's ``get_or_create_tracker`` reads,
  builds and saves the new tracker at once, also through the ``FailSafeTrackerStore`` that wraps
  the store). The new rows go in as one multi-row INSERT rather than one ORM object each.
- A read selects only the events' JSON with a statement built once (stock built an ORM query with
  its subquery, and an ORM object per row, for every message).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import time
from typing import Any, Dict, Iterator, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import POSTGRESQL_SCHEMA, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, create_engine, event, func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.db import ensure_sqlite_folder, is_sqlite_file, sqlite_file_pool, sqlite_pragmas
from bot.live.tracker import ensure_indexes
from bot.settings import get_settings

logger = logging.getLogger(__name__)

PERSISTED = "_bot_persisted_events"  # how many of a tracker's events the store holds
# How long a read that found no event of a conversation vouches for the save that follows it
# (Rasa's get_or_create_tracker saves the new tracker at once, under the conversation's lock).
ABSENT_SECONDS = 2.0


def remember_persisted(tracker: DialogueStateTracker) -> None:
    """All of ``tracker``'s events are stored now."""
    vars(tracker)[PERSISTED] = len(tracker.events)


def event_row(sender_id: str, happened: Any) -> Dict[str, Any]:
    """The ``events`` row of one event, as stock ``save`` fills it."""
    data = happened.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": happened.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def persisted(tracker: DialogueStateTracker) -> Optional[int]:
    """How many of ``tracker``'s events are stored, when it knows (and its history is whole)."""
    count = vars(tracker).get(PERSISTED)
    if count is None or tracker._max_event_history is not None or count > len(tracker.events):
        return None
    return int(count)


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` taking ``url`` (or the configured database URL)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        url: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        url = url or (host if host and "://" in host else None)
        url = url or get_settings().effective_tracker_url
        ensure_sqlite_folder(url)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        if is_sqlite_file(url):
            # Rasa's engine has SQLAlchemy 1.4's NullPool for SQLite files: a new connection per
            # read and per save. Same database, with its connections kept (bot.db).
            stock: Any = vars(self)["engine"]  # typed by Rasa only through assignment
            stock.dispose()
            self.engine = create_engine(stock.url, **sqlite_file_pool())
            self.sessionmaker = sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)
        self._absent: Dict[str, float] = {}  # sender_id -> when a read found none of its events
        self._ensure_indexes()
        logger.info("tracker store on %s", self.engine.url.render_as_string(hide_password=True))

    def _ensure_indexes(self) -> None:
        """Our indexes on Rasa's ``events`` table, which Rasa has just created if it had to
        (``bot.live.tracker.ensure_indexes`` says why here). Only a speed-up: a failure is
        logged and the server starts."""
        try:
            with self.engine.begin() as connection:
                created = ensure_indexes(connection)
        except SQLAlchemyError as error:
            logger.warning("tracker store: could not index events by time: %s", error)
            return
        if created:
            logger.info("tracker store: created %s", ", ".join(created))

    @functools.cached_property
    def _reads(self) -> Dict[bool, Any]:
        """The statements reading a conversation's events (by ``sender_id``), in order: of every
        session (True) or since the latest ``session_started`` (False), as ``_event_query``."""
        table = self.SQLEvent.__table__
        mine = table.c.sender_id == bindparam("sender_id")
        start = (
            select(func.max(table.c.timestamp))
            .where(mine, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        every = select(table.c.data).where(mine).order_by(table.c.id)
        latest = every.where(or_(table.c.timestamp >= start, start.is_(None)))
        return {True: every, False: latest}

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        with self._scope() as db:
            rows = db.execute(
                self._reads[fetch_events_from_all_sessions], {"sender_id": sender_id}
            ).scalars()
            events = [json.loads(data) for data in rows]
        if not events:
            self._mark_absent(sender_id)
            return None
        self._absent.pop(sender_id, None)
        if not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        remember_persisted(tracker)
        return tracker

    @contextlib.contextmanager
    def _scope(self) -> Iterator[Any]:
        """One transaction on a plain connection (an ORM session per read and save cost about
        4% of the busy time), or Rasa's session when a PostgreSQL schema is configured, since
        Rasa checks in each session that the schema exists."""
        if os.environ.get(POSTGRESQL_SCHEMA):
            with self.session_scope() as session:
                yield session
                session.commit()
        else:
            with self.engine.begin() as connection:
                yield connection

    @functools.cached_property
    def _insert(self) -> Any:
        return insert(self.SQLEvent.__table__)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events of ``tracker`` that are not stored yet."""
        await self.stream_events(tracker)
        count = self._stored_count(tracker)
        if count is None:  # counted in the database, as stock Rasa does
            with self.session_scope() as session:
                rows = [
                    event_row(tracker.sender_id, e)
                    for e in super()._additional_events(session, tracker)
                ]
                if rows:
                    session.execute(self._insert, rows)
                session.commit()
        else:
            rows = [
                event_row(tracker.sender_id, e)
                for e in itertools.islice(tracker.events, count, None)
            ]
            if rows:
                with self._scope() as db:
                    db.execute(self._insert, rows)
        remember_persisted(tracker)

    def _mark_absent(self, sender_id: str) -> None:
        now = time.monotonic()
        if len(self._absent) > 1000:  # reads never followed by a save: forget the old ones
            self._absent = {k: t for k, t in self._absent.items() if now - t < ABSENT_SECONDS}
        self._absent[sender_id] = now

    def _known_empty(self, tracker: DialogueStateTracker) -> bool:
        """A read found no event of this conversation a moment ago (used once)."""
        found_none = self._absent.pop(tracker.sender_id, None)
        return (
            found_none is not None
            and time.monotonic() - found_none < ABSENT_SECONDS
            and tracker._max_event_history is None
        )

    def _stored_count(self, tracker: DialogueStateTracker) -> Optional[int]:
        """How many of ``tracker``'s events are stored, when known without asking."""
        count = persisted(tracker)
        if count is None and self._known_empty(tracker):
            count = 0
        return count
