"""Several web processes behind a load balancer, sharing typing and live updates through a real
Redis server (`.ci/services` starts one; BOT_TEST_REDIS_URL says where) and one database."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Iterator, List

import pytest
import requests

from bot.live.broker import RedisBroker
from bot.live.hub import Hub
from bot.stack import free_port
from tests.web.conftest import EventStream, Web, open_handoff, serve

pytestmark = pytest.mark.redis
REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL")


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("BOT_TEST_REDIS_URL is not set (run .ci/services)")
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """Keys and channel of this test only; removed after."""
    import redis

    name = "amberline-test-" + uuid.uuid4().hex[:8]
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def wait_for_listeners(redis_url: str, channel: str, count: int) -> None:
    """Until ``count`` processes listen on the channel (subscribing takes a moment)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 20
        while client.pubsub_numsub(channel)[0][1] < count:
            assert time.monotonic() < deadline, f"{channel}: not {count} listeners"
            time.sleep(0.05)
    finally:
        client.close()


@pytest.fixture
def two_processes(database_url: str, redis_url: str, prefix: str) -> Iterator[List[Web]]:
    """Two web apps on one database and one Redis, as behind a load balancer."""
    rasa = f"http://127.0.0.1:{free_port()}"
    runs = [
        serve(database_url, rasa, "no-rasa", redis_url=redis_url, redis_prefix=prefix)
        for _ in range(2)
    ]
    webs = [Web(next(run), database_url) for run in runs]
    wait_for_listeners(redis_url, f"{prefix}:live", 2)
    yield webs
    for run in runs:
        run.close()


async def test_two_brokers_share_typing_state_and_events(redis_url: str, prefix: str) -> None:
    hubs = [Hub(), Hub()]
    brokers = [RedisBroker(hub, redis_url, prefix=prefix) for hub in hubs]
    for hub in hubs:
        hub.start()
    streams = [hub.subscribe(lambda c: True) for hub in hubs]
    listeners = [asyncio.create_task(b.run()) for b in brokers]
    try:
        assert all(b.ping() for b in brokers)
        await asyncio.to_thread(wait_for_listeners, redis_url, brokers[0].channel, 2)
        assert await asyncio.to_thread(brokers[0].typing, "c1", who="customer", typing=True)
        assert brokers[1].is_typing("c1") and not brokers[1].is_typing("c2")
        for stream in streams:  # each process hears it once, the sender included
            change = await stream.next(10)
            assert change["conversation_id"] == "c1" and change["typing"] is True
            assert await stream.next(0.2) is None
        await asyncio.to_thread(brokers[1].typing, "c1", who="customer", typing=False)
        assert not brokers[0].is_typing("c1")
    finally:
        for listener in listeners:
            listener.cancel()
        for broker in brokers:
            broker.close()


async def test_two_web_processes_behave_as_one(two_processes: List[Web]) -> None:
    a, b = two_processes
    a.add_user("ona", "agent")
    a.add_user("janis", "agent")
    ona = a.client("ona")  # the session cookie is good on every process (one secret)
    customer_id = "lb-1-0cc175b9c0f1b6a8"  # the customer's key (16 characters or more)
    pk = open_handoff(a, customer_id)
    async with EventStream(f"{b.url}/api/agent/events", cookies=ona.cookies) as console:
        await console.next("ready")
        # The customer's typing reaches process A; the console is connected to process B.
        await asyncio.to_thread(
            requests.post, f"{a.url}/api/conversations/{customer_id}/typing", json={"typing": True}
        )
        assert (await console.next("typing")).data == {
            "conversation_id": customer_id,
            "typing": True,
        }
        detail = await asyncio.to_thread(ona.get, f"{b.url}/api/handoffs/{pk}")
        assert detail.json()["customer_typing"] is True

        # A colleague claims through process A: the console on B learns of it.
        janis = a.client("janis")
        await asyncio.to_thread(janis.post, f"{a.url}/api/handoffs/{pk}/claim")
        assert (await console.next("handoff", action="claim")).data["id"] == pk

        # The agent types on B; the customer's stream is on A.
        async with EventStream(f"{a.url}/api/conversations/{customer_id}/events") as customer:
            await customer.next("handoff")
            await asyncio.to_thread(
                janis.post, f"{b.url}/api/handoffs/{pk}/typing", json={"typing": True}
            )
            typing = await customer.next("typing")
            assert typing.data == {"who": "agent", "name": "Janis", "typing": True}
