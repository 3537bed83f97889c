"""Database engine, sessions and schema migrations.

One engine per process and URL; one session per unit of work (``session_scope``), never one for
the life of the process. The schema is created and upgraded only by Alembic migrations
(``python -m bot db upgrade``), so a later version upgrades an existing database in place.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Deterministic constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Typed Any: SQLAlchemy 1.4's declarative base is only understood by mypy through a plugin.
Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the Rasa server, the action server and the web app read while one writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # With WAL, NORMAL syncs the log to disk at checkpoints, not at every commit: a commit
    # survives a crash of any of our processes, and a power cut can lose only the last commits,
    # never the database's consistency. FULL (SQLite's default) waited for the disk at every
    # commit, inside the Rasa server's event loop: 0.5-0.8 ms each here, several per message
    # (benchmarks/RESULTS.md, 2026-12-07 b).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file URL (SQLite creates the file, not its folder)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def is_sqlite_file(url: str) -> bool:
    """An SQLite database in a file (not in memory)."""
    if not url.startswith("sqlite"):
        return False
    path = url.split("///", 1)[-1] if "///" in url else ""
    return bool(path) and path != ":memory:" and "mode=memory" not in url


def sqlite_file_pool() -> Dict[str, Any]:
    """Engine arguments that keep SQLite file connections open between sessions.

    SQLAlchemy 1.4 gives SQLite files a NullPool: every session opened a new connection and ran
    ``sqlite_pragmas`` again (about a tenth of the Rasa server's time under load, py-spy). A
    QueuePool is SQLAlchemy 2.0's default for SQLite files; a connection is used by one thread at a
    time.
    """
    return {
        "poolclass": QueuePool,
        "pool_size": 5,
        "max_overflow": 10,
        "connect_args": {"check_same_thread": False, "timeout": 10},
    }


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite files get their folder, WAL and foreign keys.

    A database server's connections are tested before use (``pool_pre_ping``: a server restart
    or an idle timeout may have closed them); an SQLite file cannot drop a connection, and the
    test query was about a tenth of the action server's time under load (py-spy)."""
    kwargs: dict = {"future": True, "pool_pre_ping": not url.startswith("sqlite")}
    ensure_sqlite_folder(url)
    if is_sqlite_file(url):
        kwargs.update(sqlite_file_pool())
    elif url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", sqlite_pragmas)
    return engine


@functools.lru_cache(maxsize=8)
def get_engine(url: Optional[str] = None) -> Engine:
    """The process's shared engine for ``url`` (default: the configured database)."""
    if url is None:
        from bot.settings import get_settings

        url = get_settings().database_url
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker:
    """A session maker bound to ``engine`` (2.0-style sessions)."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back and re-raises on error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    """Alembic's configuration for our migrations against ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema at ``url`` to ``revision``."""
    from alembic import command

    import bot.models  # noqa: F401  (registers every table on Base.metadata)

    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)
    logger.info("database schema at %s", revision)


def current_revision(engine: Engine) -> Optional[str]:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
