"""Each conversation's lock, shared by every Rasa server process, taken atomically.

Rasa handles one message of a conversation at a time with a ticket lock (``rasa.core.lock``). Its
stock stores fall short of several processes behind one address (``SANIC_WORKERS``): the
in-memory store is one process's, and ``RedisLockStore`` takes a ticket with a read, a change and
a write that another process can interleave (RasaHQ/rasa#9213), so two processes may both think
they hold the lock. Every change here is a compare-and-set: a Redis transaction on the key
(``WATCH``/``MULTI``), or an SQL row written only if its ``version`` is still the one read.

Where the locks live, in order:

1. ``BOT_REDIS_URL`` set (the operator already runs Redis to scale out): Redis.
2. More than one Rasa process (``SANIC_WORKERS`` > 1) and no Redis: a table in the tracker store's
   database (SQLite by default, PostgreSQL when configured), ``conversation_locks``.
3. Otherwise: this process's memory, as stock Rasa, the cheapest where one process serves.

A waiting message looks again after 10 ms, doubling to 200 ms (stock Rasa waits a whole second
between looks, so a customer's second message sent during the first one's answer waited at least
a second), and gives up with ``LockError`` after the lock's lifetime.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any, Callable, Dict, List, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from bot.db import make_engine
from bot.retraining.serving import rasa_workers
from bot.settings import get_settings

logger = logging.getLogger(__name__)

Change = Callable[[Optional[TicketLock]], Optional[TicketLock]]
FIRST_WAIT, LONGEST_WAIT = 0.01, 0.2  # seconds between looks at a lock held by another message
ATTEMPTS = 100  # compare-and-set attempts before giving up (each loses only to another writer)


def read_lock(text: Optional[str]) -> Optional[TicketLock]:
    return TicketLock.from_dict(json.loads(text)) if text else None


def kept(lock: Optional[TicketLock]) -> Optional[TicketLock]:
    """The lock without expired tickets; none when no ticket is left (nobody holds or waits)."""
    if lock is None:
        return None
    lock.remove_expired_tickets()
    return lock if lock.tickets else None


class MemoryLocks:
    """One process's locks (a change runs without awaiting: nothing interleaves)."""

    name = "memory"

    def __init__(self) -> None:
        self.locks: Dict[str, TicketLock] = {}

    def get(self, conversation_id: str) -> Optional[TicketLock]:
        return self.locks.get(conversation_id)

    def change(self, conversation_id: str, change: Change) -> Optional[TicketLock]:
        new = change(self.locks.get(conversation_id))
        if new is None:
            self.locks.pop(conversation_id, None)
        else:
            self.locks[conversation_id] = new
        return new


class RedisLocks:
    """Locks in Redis, changed in a transaction that is retried when the key changed meanwhile.
    A key expires one second after its last ticket, so a killed process leaves nothing behind."""

    name = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        import redis  # type: ignore[import-untyped]

        self.red = redis.Redis.from_url(url, socket_timeout=10)
        self.prefix = f"{prefix}:lock:"

    def get(self, conversation_id: str) -> Optional[TicketLock]:
        return read_lock(self.red.get(self.prefix + conversation_id))

    def change(self, conversation_id: str, change: Change) -> Optional[TicketLock]:
        key = self.prefix + conversation_id

        def transaction(pipe: Any) -> Optional[TicketLock]:
            new = change(read_lock(pipe.get(key)))
            pipe.multi()
            if new is None:
                pipe.delete(key)
            else:
                lasts = max(t.expires for t in new.tickets) - time.time()
                pipe.set(key, new.dumps(), ex=max(1, math.ceil(lasts) + 1))
            return new

        result: Optional[TicketLock] = self.red.transaction(
            transaction, key, value_from_callable=True
        )
        return result


class SQLLocks:
    """Locks as rows of ``conversation_locks`` in the tracker store's database; a row is written
    only if its ``version`` is the one read (or inserted only if absent), else read again."""

    name = "sql"

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        if self.engine.dialect.name == "sqlite":
            # A lock outlives no crash anyway: its commits need not wait for the disk.
            event.listen(self.engine, "connect", no_disk_sync)
        metadata = MetaData()
        self.table = Table(
            "conversation_locks",
            metadata,
            Column("conversation_id", String(255), primary_key=True),
            Column("tickets", Text, nullable=False),
            Column("version", Integer, nullable=False),
        )
        self._create(metadata)

    def _create(self, metadata: MetaData) -> None:
        """The table, unless it exists. Sanic starts the Rasa processes at once: on a new
        database another one may create it between the check and the CREATE, and the error
        killed the process that lost (seen in CI: one worker of two left)."""
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError:
            if not inspect(self.engine).has_table(self.table.name):
                raise
            logger.debug("conversation_locks was created by another process meanwhile")

    def get(self, conversation_id: str) -> Optional[TicketLock]:
        with self.engine.connect() as conn:
            text = conn.execute(
                select(self.table.c.tickets).where(self.table.c.conversation_id == conversation_id)
            ).scalar()
        return read_lock(text)

    def change(self, conversation_id: str, change: Change) -> Optional[TicketLock]:
        t = self.table
        mine = t.c.conversation_id == conversation_id
        for attempt in range(ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    row = conn.execute(select(t.c.tickets, t.c.version).where(mine)).first()
                    new = change(read_lock(row.tickets) if row else None)
                    if row is None:
                        if new is not None:
                            conn.execute(
                                insert(t).values(
                                    conversation_id=conversation_id,
                                    tickets=new.dumps(),
                                    version=0,
                                )
                            )
                        return new
                    same = (mine, t.c.version == row.version)
                    if new is None:
                        written = conn.execute(delete(t).where(*same)).rowcount
                    else:
                        written = conn.execute(
                            sql_update(t)
                            .where(*same)
                            .values(tickets=new.dumps(), version=row.version + 1)
                        ).rowcount
                    if written == 1:
                        return new
            except (IntegrityError, OperationalError) as error:
                # Another process inserted the row first, or (SQLite) wrote since this read.
                logger.debug("lock of %s changed meanwhile (%s)", conversation_id, error)
            time.sleep(0.001 * min(attempt, 20))
        raise LockError(f"the lock of conversation {conversation_id!r} kept changing")


def no_disk_sync(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class ConversationLockStore(LockStore):
    """Rasa's lock store, named in ``endpoints.yml``: kept in the places above, every change
    atomic."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        settings = get_settings()
        self.locks: Any
        if settings.redis_url is not None:
            self.locks = RedisLocks(settings.redis_url.get_secret_value(), settings.redis_prefix)
        elif rasa_workers() > 1:
            self.locks = SQLLocks(settings.effective_tracker_url)
        else:
            self.locks = MemoryLocks()
        logger.info("conversation locks in %s", self.locks.name)
        super().__init__()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self.locks.get(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.locks.change(lock.conversation_id, lambda _: lock)

    def delete_lock(self, conversation_id: str) -> None:
        self.locks.change(conversation_id, lambda _: None)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        issued: List[int] = []

        def take(lock: Optional[TicketLock]) -> TicketLock:
            lock = lock or TicketLock(conversation_id)
            issued.append(lock.issue_ticket(lock_lifetime))
            return lock

        try:
            self.locks.change(conversation_id, take)
        except LockError:
            raise
        except Exception as error:  # as stock Rasa: the message is refused with a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return issued[-1]  # the attempt that was written

    def update_lock(self, conversation_id: str) -> None:
        self.locks.change(conversation_id, kept)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def done(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return kept(lock)

        self.locks.change(conversation_id, done)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """The ticket is done; the lock goes when no ticket is left (in the same change)."""
        self.finish_serving(conversation_id, ticket_number)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        wait, began = FIRST_WAIT, time.monotonic()
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None:  # every ticket expired, ours too
                break
            if not lock.is_locked(ticket):
                return lock
            if time.monotonic() - began > LOCK_LIFETIME:
                break
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
