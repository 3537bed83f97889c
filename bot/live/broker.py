"""Who is typing, and telling every web process: in memory, or in Redis when configured.

"Typing…" is a hint that lives a few seconds (``TYPING_SECONDS``) and is kept in no table. With
one web process, ``LocalBroker`` keeps it in memory and hands typing changes to the process's own
hub. Behind a load balancer the customer's typing may reach one process while the agent's console
is connected to another: with ``BOT_REDIS_URL`` set, ``RedisBroker`` keeps the state in Redis keys
that expire by themselves and publishes each change on a Redis channel to which every process
listens, so that all processes behave as one.

Typing is never worth an error page: when Redis does not answer, the hint is dropped and logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional, Tuple

from bot.live.hub import Change, Hub

logger = logging.getLogger(__name__)
TYPING_SECONDS = 6.0
MAX_TYPING = 10_000  # conversations remembered in memory at once
WHO = ("customer", "agent")


def typing_change(conversation_id: str, who: str, typing: bool, name: str = "") -> Change:
    return {
        "kind": "typing",
        "conversation_id": conversation_id,
        "who": who,
        "name": name[:100],
        "typing": typing,
    }


class LocalBroker:
    """This process's memory: right for one web process."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.since: Dict[Tuple[str, str], float] = {}

    def typing(self, conversation_id: str, *, who: str, typing: bool, name: str = "") -> bool:
        """Record that ``who`` (customer or agent) is typing or stopped, and tell the streams;
        False when it could not be recorded."""
        if len(self.since) > MAX_TYPING:
            self.since.clear()
        if typing:
            self.since[(who, conversation_id)] = time.monotonic()
        else:
            self.since.pop((who, conversation_id), None)
        self.hub.publish_threadsafe(typing_change(conversation_id, who, typing, name))
        return True

    def is_typing(self, conversation_id: str, who: str = "customer") -> bool:
        since = self.since.get((who, conversation_id))
        return since is not None and time.monotonic() - since < TYPING_SECONDS

    async def run(self) -> None:
        """Nothing to listen to: other processes' typing never reaches this one."""

    def close(self) -> None:
        self.since.clear()


class RedisBroker:
    """Redis keys for the state, a Redis channel for the changes; see the module docstring."""

    def __init__(self, hub: Hub, url: str, *, prefix: str = "amberline") -> None:
        import redis  # type: ignore[import-untyped]

        self.hub = hub
        self.url = url
        self.prefix = prefix
        self.channel = f"{prefix}:live"
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.errors = (redis.RedisError, OSError)

    def _key(self, who: str, conversation_id: str) -> str:
        return f"{self.prefix}:typing:{who}:{conversation_id}"

    def typing(self, conversation_id: str, *, who: str, typing: bool, name: str = "") -> bool:
        """As ``LocalBroker.typing``, for every process (each hears it on the channel)."""
        key = self._key(who, conversation_id)
        change = typing_change(conversation_id, who, typing, name)
        try:
            pipe = self.redis.pipeline()
            if typing:
                pipe.set(key, name[:100], px=int(TYPING_SECONDS * 1000))
            else:
                pipe.delete(key)
            pipe.publish(self.channel, json.dumps(change))
            pipe.execute()
        except self.errors as error:
            logger.warning("typing not shared: Redis did not answer (%s)", error)
            return False
        return True

    def is_typing(self, conversation_id: str, who: str = "customer") -> bool:
        try:
            return bool(self.redis.exists(self._key(who, conversation_id)))
        except self.errors as error:
            logger.warning("typing not read: Redis did not answer (%s)", error)
            return False

    async def run(self) -> None:
        """Forever: hand the changes published on the channel (by any process) to this hub."""
        import redis.asyncio as aioredis  # type: ignore[import-untyped]

        delay = 0.5
        while True:
            client = aioredis.from_url(self.url, socket_connect_timeout=2)
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                delay = 0.5
                async for message in pubsub.listen():
                    change = self._decode(message.get("data"))
                    if change is not None:
                        self.hub.publish([change])
            except self.errors as error:
                logger.warning("Redis channel lost (%s); listening again in %.0f s", error, delay)
            finally:
                await client.close(close_connection_pool=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @staticmethod
    def _decode(data: Any) -> Optional[Change]:
        try:
            change = json.loads(data)
        except (TypeError, ValueError):
            return None
        if not isinstance(change, dict) or change.get("kind") != "typing":
            return None
        return change

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except self.errors:
            return False

    def close(self) -> None:
        self.redis.close()


Broker = LocalBroker | RedisBroker


def make_broker(hub: Hub, redis_url: Optional[str], prefix: str) -> Broker:
    """Redis when a URL is configured, else this process's memory."""
    return RedisBroker(hub, redis_url, prefix=prefix) if redis_url else LocalBroker(hub)
