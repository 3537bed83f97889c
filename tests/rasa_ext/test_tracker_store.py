"""Rasa's SQL tracker store configured by one URL, with SQLite connections kept open."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.pool import QueuePool

from rasa_ext.tracker_store import UrlSQLTrackerStore


async def test_sqlite_tracker_store_keeps_connections_and_round_trips(tmp_path) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    assert isinstance(store.engine.pool, QueuePool)
    tracker = DialogueStateTracker("customer-1", slots=[])
    tracker.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}))
    await store.save(tracker)
    tracker.update(UserUttered("again", {"name": "greet", "confidence": 1.0}))
    await store.save(tracker)
    read = await store.retrieve("customer-1")
    assert read is not None
    assert [e.text for e in read.events if isinstance(e, UserUttered)] == ["hello", "again"]
    assert store.engine.pool.checkedin() >= 1  # the connection went back to the pool, open
