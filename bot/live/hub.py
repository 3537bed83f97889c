"""Fan-out in one web process: every change goes to each open stream that wants it.

A change is a small dict with a ``kind`` (``handoff``, ``line``, ``note``, ``follow_up``,
``typing``) and, for the changes read from the database, the ``token`` a client that received it
can resume from (bot.live.cursor). The watcher and the broker publish; each stream subscribes
with a filter and reads its own bounded queue. A stream that falls too far behind is dropped
(``overflowed``) rather than holding memory: its client reconnects and catches up from the
database.

Everything here runs on the web app's event loop; other threads publish through
``publish_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Iterable, Optional, Set

from bot.live.cursor import Token

logger = logging.getLogger(__name__)
Change = Dict[str, Any]
QUEUE_SIZE = 1000


class Subscription:
    """One stream's place in the hub."""

    def __init__(self, wants: Callable[[Change], bool], size: int = QUEUE_SIZE) -> None:
        self.wants = wants
        self.queue: asyncio.Queue[Change] = asyncio.Queue(size)
        self.overflowed = False

    def offer(self, change: Change) -> None:
        if self.overflowed or not self.wants(change):
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream ends; its client resumes from the database

    async def next(self, timeout: float) -> Optional[Change]:
        """The next change, or None when none came within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None


class Hub:
    """This process's open streams, and the token of everything published so far."""

    def __init__(self, *, max_subscriptions: int = 2000) -> None:
        self.subscriptions: Set[Subscription] = set()
        self.max_subscriptions = max_subscriptions
        self.published = Token()
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    def start(self) -> None:
        """Remember the running loop, for publishing from other threads."""
        self.loop = asyncio.get_running_loop()

    @property
    def full(self) -> bool:
        return len(self.subscriptions) >= self.max_subscriptions

    def subscribe(self, wants: Callable[[Change], bool]) -> Subscription:
        subscription = Subscription(wants)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def publish(self, changes: Iterable[Change], token: Optional[Token] = None) -> None:
        """Offer each change to every stream; then everything up to ``token`` is published."""
        for change in changes:
            for subscription in list(self.subscriptions):
                try:
                    subscription.offer(change)
                except Exception:  # a stream's filter must not stop the others
                    logger.exception("a stream's filter failed on a %s change", change.get("kind"))
        if token is not None:
            self.published = token

    def publish_threadsafe(self, change: Change) -> None:
        """``publish`` from another thread (a request handler, the broker's listener)."""
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.publish, [change])
