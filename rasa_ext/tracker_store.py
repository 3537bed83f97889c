"""Rasa's SQL tracker store, configured by one SQLAlchemy URL.

Stock Rasa wants dialect, host, port and database as separate YAML keys; operators give us one
URL (``BOT_TRACKER_DATABASE_URL``, else ``BOT_DATABASE_URL``): SQLite by default, PostgreSQL when
the URL says so. SQLite files get WAL mode and a busy timeout, so the Rasa server, the action
server and the web app can share one file. Rasa's ``events`` table gets our index on its time
(``bot.live.tracker.ensure_indexes``).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy import create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.db import ensure_sqlite_folder, is_sqlite_file, sqlite_file_pool, sqlite_pragmas
from bot.live.tracker import ensure_indexes
from bot.settings import get_settings

logger = logging.getLogger(__name__)


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
