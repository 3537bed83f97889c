"""Typing in one web process's memory (the default broker): recorded, expired, told to the
streams. The Redis broker, shared by several processes, is tested in
tests/integration/test_redis.py."""

from __future__ import annotations

from bot.live import broker as broker_module
from bot.live.broker import LocalBroker, make_broker
from bot.live.hub import Hub


async def test_typing_is_recorded_and_told_to_the_streams(monkeypatch) -> None:
    hub = Hub()
    hub.start()
    stream = hub.subscribe(lambda c: True)
    broker = make_broker(hub, None, "amberline")
    assert isinstance(broker, LocalBroker)

    assert broker.typing("c1", who="customer", typing=True) is True
    assert broker.is_typing("c1") and not broker.is_typing("c1", who="agent")
    assert not broker.is_typing("c2")
    assert await stream.next(5) == {
        "kind": "typing",
        "conversation_id": "c1",
        "who": "customer",
        "name": "",
        "typing": True,
    }
    broker.typing("c1", who="customer", typing=False)
    assert not broker.is_typing("c1")
    assert (await stream.next(5))["typing"] is False

    broker.typing("c3", who="agent", typing=True, name="Ona" * 100)
    assert len((await stream.next(5))["name"]) == 100
    monkeypatch.setattr(broker_module, "TYPING_SECONDS", 0.0)
    assert not broker.is_typing("c3", who="agent")  # a hint that was not renewed has gone
