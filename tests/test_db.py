"""Schema migrations: create, upgrade in place without losing data, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot import db
from bot.db import Base
from bot.kb import repository


def test_upgrade_creates_every_table(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {
        "kb_articles",
        "kb_article_questions",
        "kb_article_versions",
        "orders",
        "handoffs",
        "handoff_events",
        "users",
        "kb_article_ratings",
        "alembic_version",
    } <= tables
    assert db.current_revision(engine) is not None


def test_migrations_match_the_models(engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_again_keeps_data(database_url, engine) -> None:
    with db.session_scope(engine) as session:
        repository.save_article(
            session,
            article_id="kept",
            language="en",
            title="Kept",
            body="Still here.",
            questions=["is it kept"],
            status="published",
            author="test",
        )
    db.upgrade(database_url)  # a later version's `make install` on the same database
    with db.session_scope(engine) as session:
        assert repository.get_article(session, "kept", "en").body == "Still here."


def test_sqlite_file_gets_its_folder_and_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_foundation_handoff_requests_become_tickets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0001")
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO handoff_requests (conversation_id, status, reason, language, context,"
                " created_at) VALUES ('old', 'requested', 'asked_for_person', 'en', '{}',"
                " '2026-11-01 10:00:00')"
            )
        )
    db.upgrade(url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT conversation_id, status, updated_at FROM handoffs")
        ).one()
    engine.dispose()
    assert row[0] == "old" and row[1] == "ticket" and row[2] is not None


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:///var/amberline.db", True),
        ("sqlite:////tmp/x.db", True),
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
        ("postgresql://u:p@localhost/amberline", False),
    ],
)
def test_is_sqlite_file(url: str, file: bool) -> None:
    assert db.is_sqlite_file(url) is file


def test_sqlite_file_connections_are_kept_between_sessions(tmp_path) -> None:
    from sqlalchemy import text
    from sqlalchemy.pool import QueuePool

    engine = db.make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    assert isinstance(engine.pool, QueuePool)
    connections = set()
    for _ in range(3):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            connections.add(id(connection.connection.dbapi_connection))
    assert len(connections) == 1


def test_the_kb_sync_migration_downgrades_and_upgrades(database_url, engine) -> None:
    from alembic import command

    head = db.current_revision(engine)
    command.downgrade(db.alembic_config(database_url), "0009")
    assert "kb_article_sync" not in inspect(engine).get_table_names()
    db.upgrade(database_url)
    assert db.current_revision(engine) == head
    assert "kb_article_sync" in inspect(engine).get_table_names()


def test_only_server_connections_are_tested_before_use(tmp_path) -> None:
    sqlite = db.make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    server = db.make_engine("postgresql://user:secret@db.invalid/amberline")  # never connects
    assert sqlite.pool._pre_ping is False  # a file cannot drop a connection
    assert server.pool._pre_ping is True
    sqlite.dispose()
    server.dispose()
