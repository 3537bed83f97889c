"""Each conversation's lock shared by several Rasa processes, every change atomic: in memory, in
SQL (SQLite here, PostgreSQL where BOT_TEST_POSTGRES_URL is set) and in Redis (BOT_TEST_REDIS_URL;
`.ci/services` starts both)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import Callable, Iterator, List

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import MetaData

from bot.settings import get_settings
from rasa_ext.lock_store import ConversationLockStore, MemoryLocks, RedisLocks, SQLLocks
from tests.conftest import postgres_database

REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL")
Factory = Callable[[], ConversationLockStore]


def store_on(locks: object) -> ConversationLockStore:
    store = ConversationLockStore.__new__(ConversationLockStore)
    store.locks = locks
    return store


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database("amberline_locks") as url:
        yield url


def factory(kind: str, request, tmp_path) -> Factory:
    """New stores (as other processes would have) on one shared place of ``kind``."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'locks.db'}"
        return lambda: store_on(SQLLocks(url))
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        return lambda: store_on(SQLLocks(url))
    if not REDIS_URL:
        pytest.skip("BOT_TEST_REDIS_URL is not set (run .ci/services)")
    prefix = "test" + uuid.uuid4().hex[:8]
    return lambda: store_on(RedisLocks(REDIS_URL, prefix))


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def shared(request, tmp_path) -> Factory:
    return factory(request.param, request, tmp_path)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
def store(request, tmp_path) -> ConversationLockStore:
    if request.param == "memory":
        return store_on(MemoryLocks())
    return factory(request.param, request, tmp_path)()


async def test_messages_of_a_conversation_are_served_one_at_a_time_in_order(store) -> None:
    order: List[str] = []

    async def handle(name: str, seconds: float) -> None:
        async with store.lock("conv-1"):
            order.append(f"{name} starts")
            await asyncio.sleep(seconds)
            order.append(f"{name} ends")

    first = asyncio.create_task(handle("first", 0.2))
    await asyncio.sleep(0.05)  # the first holds the lock
    await asyncio.gather(first, handle("second", 0))
    assert order == ["first starts", "first ends", "second starts", "second ends"]
    assert store.get_lock("conv-1") is None  # nobody holds or waits: the lock is gone


async def test_other_conversations_do_not_wait(store) -> None:
    # The second lock would never be taken if it waited for the first.
    async with store.lock("conv-a"), store.lock("conv-b"):
        assert store.get_lock("conv-b") is not None


async def test_a_waiting_message_looks_again_soon_not_after_a_second(store) -> None:
    waited: List[float] = []

    async def second() -> None:
        began = asyncio.get_running_loop().time()
        async with store.lock("conv-2"):
            waited.append(asyncio.get_running_loop().time() - began)

    async with store.lock("conv-2"):
        task = asyncio.create_task(second())
        await asyncio.sleep(0.05)
    await task
    assert waited[0] < 0.9  # stock Rasa looked again only after 1 s


def test_tickets_taken_at_once_by_several_processes_are_all_different(shared) -> None:
    """Each thread has its own store (its own connections), as each Rasa process would: stock
    RedisLockStore's read-change-write gave two of them the same ticket (RasaHQ/rasa#9213)."""
    tickets: List[int] = []
    guard = threading.Lock()

    def take(store: ConversationLockStore) -> None:
        for _ in range(25):
            number = store.issue_ticket("busy-conversation", 60)
            with guard:
                tickets.append(number)

    threads = [threading.Thread(target=take, args=(shared(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(100))
    lock = shared().get_lock("busy-conversation")
    assert lock is not None and len(lock.tickets) == 100
    for number in tickets:
        shared().cleanup("busy-conversation", number)
    assert shared().get_lock("busy-conversation") is None


async def test_a_lock_held_beyond_its_lifetime_is_refused_to_the_waiter(store) -> None:
    store.issue_ticket("stuck", 0.1)  # held by a process that died; its ticket expires
    ticket = store.issue_ticket("stuck", 60)
    lock = await store._acquire_lock("stuck", ticket, 1)  # the dead ticket expired
    assert not lock.is_locked(ticket)
    store.cleanup("stuck", ticket)
    with pytest.raises(LockError):  # every ticket expired: stock Rasa's answer too
        await store._acquire_lock("stuck", ticket, 1)


@pytest.fixture
def settings_env(monkeypatch, tmp_path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.delenv("BOT_REDIS_URL", raising=False)
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_rasa_takes_it_from_endpoints_and_lets_several_processes_serve(settings_env) -> None:
    endpoint = EndpointConfig(type="rasa_ext.lock_store.ConversationLockStore")
    assert isinstance(LockStore.create(endpoint), ConversationLockStore)
    settings_env.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(endpoint) == 2  # refused with stock in-memory locks


def test_the_locks_live_where_the_processes_can_share_them(settings_env) -> None:
    assert ConversationLockStore().locks.name == "memory"  # one process
    settings_env.setenv("SANIC_WORKERS", "2")
    assert ConversationLockStore().locks.name == "sql"
    if REDIS_URL:
        settings_env.setenv("BOT_REDIS_URL", REDIS_URL)
        get_settings.cache_clear()
        assert ConversationLockStore().locks.name == "redis"
    settings_env.setenv("SANIC_WORKERS", "many")
    settings_env.delenv("BOT_REDIS_URL", raising=False)
    get_settings.cache_clear()
    assert ConversationLockStore().locks.name == "memory"  # a bad value: one process, as Rasa


def test_a_table_created_by_another_process_meanwhile_is_used(tmp_path, monkeypatch) -> None:
    """Two Rasa processes start at once on a new database: both see no table, one creates it,
    and the other's CREATE fails. That process must go on, not die."""
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    SQLLocks(url)  # the other process was first
    stock_create_all = MetaData.create_all

    def check_said_absent(self, bind, tables=None, checkfirst=True) -> None:
        stock_create_all(self, bind, tables=tables, checkfirst=False)

    monkeypatch.setattr(MetaData, "create_all", check_said_absent)
    store = store_on(SQLLocks(url))
    assert store.issue_ticket("late-starter", 60) == 0
