"""Rasa's SQL tracker store configured by one URL, with SQLite connections kept open."""

from __future__ import annotations

import datetime as dt

from alembic import command
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import inspect, text
from sqlalchemy.pool import QueuePool

from bot import db
from bot.analytics.conversations import read_query
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


def _indexes(engine) -> set:
    return {index["name"] for index in inspect(engine).get_indexes("events")}


def _plan(engine) -> str:
    """How SQLite reads analytics' query for a period (bot.analytics.conversations)."""
    since = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    query = read_query(since, since + dt.timedelta(days=1))
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        return " ".join(
            str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql))
        )


def test_events_are_indexed_by_time_when_the_store_opens(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = UrlSQLTrackerStore(Domain.empty(), url=url)
    assert {"ix_events_sender_id", "ix_events_timestamp"} <= _indexes(store.engine)
    assert "USING INDEX ix_events_timestamp" in _plan(store.engine)
    again = UrlSQLTrackerStore(Domain.empty(), url=url)  # a restart: nothing to do, no error
    assert "ix_events_timestamp" in _indexes(again.engine)


def test_the_migration_indexes_an_existing_events_table(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db.upgrade(url, "0009")
    engine = db.make_engine(url)
    db.upgrade(url, "0011")  # no events table yet: nothing to index, no error
    store = UrlSQLTrackerStore(Domain.empty(), url=url)
    with store.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_events_timestamp"))  # as an older version left it
    command.downgrade(db.alembic_config(url), "0009")
    assert "ix_events_timestamp" not in _indexes(engine)
    db.upgrade(url, "0011")
    assert "ix_events_timestamp" in _indexes(engine)
    command.downgrade(db.alembic_config(url), "0009")
    assert "ix_events_timestamp" not in _indexes(engine)
    engine.dispose()
