"""Rasa's SQL tracker store configured by one URL, with SQLite connections kept open."""

from __future__ import annotations

import datetime as dt

from alembic import command
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event, inspect, text
from sqlalchemy.pool import QueuePool

from bot import db
from bot.analytics.conversations import read_query
from rasa_ext import tracker_store as rasa_ext_tracker_store
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


def said(tracker: DialogueStateTracker) -> list:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def utter(text: str) -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 1.0})


async def test_a_saved_tracker_writes_only_its_new_events_without_counting_the_stored_ones(
    tmp_path,
) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    statements: list = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first = DialogueStateTracker("customer-1", slots=[])
    first.update(utter("hello"))
    await store.save(first)  # a new tracker: its stored events are counted once
    read = await store.retrieve("customer-1")
    assert read is not None
    read.update(utter("again"))
    statements.clear()
    await store.save(read)
    read.update(utter("and again"))
    await store.save(read)
    assert not [s for s in statements if "count(" in s.lower()]
    assert said(await store.retrieve("customer-1")) == ["hello", "again", "and again"]


async def test_a_new_conversation_is_created_and_saved_without_counting(tmp_path) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    statements: list = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tracker = await store.get_or_create_tracker("new-customer")
    assert [e.as_dict()["event"] for e in tracker.events] == ["action"]  # listening
    tracker.update(utter("hello"))
    await store.save(tracker)
    assert not [s for s in statements if "count(" in s.lower()]
    again = await store.get_or_create_tracker("new-customer")
    assert said(again) == ["hello"] and len(again.events) == 2


async def test_a_new_conversation_through_rasas_wrapper_is_saved_without_counting(
    tmp_path,
) -> None:
    """The Rasa server reaches the store through FailSafeTrackerStore, whose own (stock)
    get_or_create_tracker reads, builds and saves: the read that found nothing vouches."""
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    wrapped = FailSafeTrackerStore(store)
    statements: list = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tracker = await wrapped.get_or_create_tracker("wrapped-customer")
    tracker.update(utter("hello"))
    await wrapped.save(tracker)
    assert not [s for s in statements if "count(" in s.lower()]
    assert said(await wrapped.retrieve("wrapped-customer")) == ["hello"]
    assert len((await wrapped.retrieve("wrapped-customer")).events) == 2


async def test_a_read_that_found_nothing_vouches_once_and_not_for_long(
    tmp_path, monkeypatch
) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    assert await store.retrieve("late") is None
    now = rasa_ext_tracker_store.time.monotonic()
    monkeypatch.setattr(
        rasa_ext_tracker_store.time,
        "monotonic",
        lambda: now + rasa_ext_tracker_store.ABSENT_SECONDS + 1,
    )
    # meanwhile another process stored this conversation's first message
    other = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    first = DialogueStateTracker("late", slots=[])
    first.update(utter("hello"))
    await other.save(first)
    mine = DialogueStateTracker("late", slots=[])  # built here, knows nothing of that
    mine.update(utter("hello"))
    mine.update(utter("again"))
    await store.save(mine)  # too late to vouch: counted, so "hello" is not stored twice
    assert said(await store.retrieve("late")) == ["hello", "again"]


async def test_a_tracker_that_does_not_know_what_is_stored_is_counted(tmp_path) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker = DialogueStateTracker("customer-2", slots=[])
    tracker.update(utter("hello"))
    await store.save(tracker)
    copy = tracker.copy()  # Rasa's copies are new objects: nothing remembered
    copy.update(utter("again"))
    await store.save(copy)
    bounded = DialogueStateTracker.from_events(
        "customer-2", list(copy.events), slots=[], max_event_history=2
    )
    rasa_ext_tracker_store.remember_persisted(bounded)
    assert rasa_ext_tracker_store.persisted(bounded) is None  # a bounded history is counted
    assert said(await store.retrieve("customer-2")) == ["hello", "again"]


async def test_reads_and_writes_the_same_rows_as_stock_rasa(tmp_path) -> None:
    """Two sessions, saved by ours and by stock Rasa's store: each reads what the other wrote,
    the latest session by default and every session in full, with the same columns filled."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    ours = UrlSQLTrackerStore(Domain.empty(), url=url)
    stock = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    for name, store in (("by-ours", ours), ("by-stock", stock)):
        tracker = DialogueStateTracker(name, slots=[])
        tracker.update(SessionStarted(timestamp=1.0))
        tracker.update(UserUttered("old", {"name": "greet", "confidence": 1.0}, timestamp=2.0))
        tracker.update(ActionExecuted("utter_greet", timestamp=3.0))
        await store.save(tracker)
        tracker.update(SessionStarted(timestamp=10.0))
        tracker.update(UserUttered("new", {"name": "bye", "confidence": 1.0}, timestamp=11.0))
        await store.save(tracker)
    for name in ("by-ours", "by-stock"):
        for reader in (ours, stock):
            latest = await reader.retrieve(name)
            assert latest is not None and said(latest) == ["new"]
            full = await reader.retrieve_full_tracker(name)
            assert full is not None and said(full) == ["old", "new"]
    with ours.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data"
                " FROM events ORDER BY id"
            )
        ).all()
    by_ours = [row[1:] for row in rows if row[0] == "by-ours"]
    by_stock = [row[1:] for row in rows if row[0] == "by-stock"]
    assert by_ours == by_stock and len(by_ours) == 5


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
    db.upgrade(url, "0010")
    engine = db.make_engine(url)
    db.upgrade(url, "0011")  # no events table yet: nothing to index, no error
    store = UrlSQLTrackerStore(Domain.empty(), url=url)
    with store.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_events_timestamp"))  # as an older version left it
    command.downgrade(db.alembic_config(url), "0010")
    assert "ix_events_timestamp" not in _indexes(engine)
    db.upgrade(url, "0011")
    assert "ix_events_timestamp" in _indexes(engine)
    command.downgrade(db.alembic_config(url), "0010")
    assert "ix_events_timestamp" not in _indexes(engine)
    engine.dispose()


async def test_with_a_schema_named_reads_and_saves_go_through_rasas_session(
    tmp_path, monkeypatch
) -> None:
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    sessions: list = []
    stock_scope = store.session_scope
    monkeypatch.setattr(store, "session_scope", lambda: sessions.append(1) or stock_scope())
    # (this test's name, in tmp_path, must not contain "postgres": Rasa takes any such URL for
    # PostgreSQL's)
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "amberline")  # Rasa checks it only on PostgreSQL
    tracker = await store.get_or_create_tracker("schema-customer")
    tracker.update(utter("hello"))
    await store.save(tracker)
    assert said(await store.retrieve("schema-customer")) == ["hello"]
    assert len(sessions) >= 3
