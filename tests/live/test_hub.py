"""The hub hands each change to the streams that want it, and drops a stream that lags."""

from __future__ import annotations

import threading

from bot.live.cursor import Token
from bot.live.hub import Hub, Subscription


async def test_each_stream_gets_what_it_wants() -> None:
    hub = Hub()
    hub.start()
    lines = hub.subscribe(lambda c: c["kind"] == "line")
    everything = hub.subscribe(lambda c: True)
    hub.publish([{"kind": "line", "n": 1}, {"kind": "note", "n": 2}], Token({"t": 7}))
    assert await lines.next(1) == {"kind": "line", "n": 1}
    assert await lines.next(0.05) is None
    assert [(await everything.next(1))["n"] for _ in range(2)] == [1, 2]
    assert hub.published == Token({"t": 7})
    hub.unsubscribe(lines)
    hub.publish([{"kind": "line", "n": 3}])
    assert lines.queue.empty() and hub.published == Token({"t": 7})


async def test_a_failing_filter_does_not_stop_the_others() -> None:
    hub = Hub()
    hub.subscribe(lambda c: c["missing"])
    fine = hub.subscribe(lambda c: True)
    hub.publish([{"kind": "line"}])
    assert await fine.next(1) == {"kind": "line"}


async def test_a_stream_that_falls_behind_is_dropped() -> None:
    slow = Subscription(lambda c: True, size=2)
    for n in range(3):
        slow.offer({"kind": "line", "n": n})
    assert slow.overflowed and slow.queue.qsize() == 2
    slow.offer({"kind": "line", "n": 4})
    assert slow.queue.qsize() == 2


async def test_other_threads_publish_on_the_loop() -> None:
    hub = Hub()
    hub.start()
    stream = hub.subscribe(lambda c: True)
    threading.Thread(target=hub.publish_threadsafe, args=({"kind": "typing"},)).start()
    assert await stream.next(5) == {"kind": "typing"}


def test_publishing_before_the_loop_runs_is_dropped_and_streams_are_capped() -> None:
    hub = Hub(max_subscriptions=1)
    hub.publish_threadsafe({"kind": "typing"})  # no loop yet: nobody to deliver to
    assert not hub.full
    hub.subscribe(lambda c: True)
    assert hub.full
