"""The socket.io channel (what the widget uses), with a real socket.io client."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List

import pytest
import requests
import socketio

pytestmark = pytest.mark.e2e


class Customer:
    """A socket.io client as the widget is: a session, messages in, replies out."""

    def __init__(self, url: str, session_id: str) -> None:
        self.url, self.session_id = url, session_id
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue = asyncio.Queue()
        self.errors: asyncio.Queue = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.client.on("bot_uttered", self.replies.put_nowait)
        self.client.on("error", self.errors.put_nowait)
        self.client.on("session_confirm", lambda _: self.confirmed.set())

    async def __aenter__(self) -> Customer:
        # Long-polling: engineio's websocket client needs a newer aiohttp than Rasa allows.
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(self.confirmed.wait(), 10)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.disconnect()

    async def say(self, text: Any, quiet: float = 1.5) -> List[Dict[str, Any]]:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        return await self.collect(quiet)

    async def collect(self, quiet: float = 1.5) -> List[Dict[str, Any]]:
        """Replies until none has come for ``quiet`` seconds (the first may take longer)."""
        replies = [await asyncio.wait_for(self.replies.get(), 30)]
        while True:
            try:
                replies.append(await asyncio.wait_for(self.replies.get(), quiet))
            except asyncio.TimeoutError:
                return replies


async def test_question_answered_with_payload_and_quick_replies(stack) -> None:
    async with Customer(stack.url, uuid.uuid4().hex) as customer:
        replies = await customer.say("How many days do I have to return something?")
    answer = next(r["custom"]["kb_answer"] for r in replies if "custom" in r)
    assert answer["article_id"] == "return-policy"
    texts = [r["text"] for r in replies if "text" in r]
    assert any("14 days" in t for t in texts)
    quick = [q["payload"] for r in replies for q in r.get("quick_replies", [])]
    assert quick == ["/affirm", "/deny"]


async def test_messages_sent_to_the_session_arrive(stack) -> None:
    """Fails with Rasa's own channel on python-socketio >= 5.10 (RasaHQ/rasa#13027)."""
    session_id = uuid.uuid4().hex
    async with Customer(stack.url, session_id) as customer:
        await customer.say("hello")
        reply = await asyncio.to_thread(
            requests.post,
            f"{stack.url}/conversations/{session_id}/trigger_intent",
            params={"token": stack.token, "output_channel": "socketio"},
            json={"name": "bot_challenge"},
            timeout=30,
        )
        assert reply.status_code == 200
        pushed = await customer.collect()
    assert any("bot" in r.get("text", "") for r in pushed)


async def test_reconnect_continues_the_same_conversation(stack) -> None:
    session_id = uuid.uuid4().hex
    async with Customer(stack.url, session_id) as customer:
        await customer.say("where is my order?")
    async with Customer(stack.url, session_id) as customer:  # a reload of the page
        replies = await customer.say("AM-100482")
    assert any("e-mail" in r.get("text", "") for r in replies)


@pytest.mark.parametrize("message", ["", "   ", 42, "x" * 5000])
async def test_bad_message_gets_an_error_event(stack, message) -> None:
    async with Customer(stack.url, uuid.uuid4().hex) as customer:
        await customer.client.emit(
            "user_uttered", {"message": message, "session_id": customer.session_id}
        )
        error = await asyncio.wait_for(customer.errors.get(), 10)
    assert error["error"]


async def test_message_without_session_gets_an_error_event(stack) -> None:
    async with Customer(stack.url, uuid.uuid4().hex) as customer:
        await customer.client.emit("user_uttered", {"message": "hi"})
        error = await asyncio.wait_for(customer.errors.get(), 10)
    assert "session" in error["error"]


async def test_a_resent_message_is_handled_once_and_acknowledged(stack) -> None:
    """The widget resends a message whose ack it missed, with the same key (metadata
    message_id): the channel handles it once."""
    session_id = uuid.uuid4().hex
    data = {"message": "hello", "session_id": session_id, "metadata": {"message_id": "m-1"}}
    async with Customer(stack.url, session_id) as customer:
        first = await customer.client.call("user_uttered", data, timeout=60)
        replies = await customer.collect()
        second = await customer.client.call("user_uttered", data, timeout=60)
        bad = await customer.client.call("user_uttered", {**data, "message": " "}, timeout=60)
    assert first == {"delivered": True}
    assert second == {"delivered": True, "duplicate": True}
    assert bad["delivered"] is False and "empty" in bad["error"]
    assert all(isinstance(r.get("time"), float) and "author" not in r for r in replies)
    said = [e["text"] for e in stack.tracker(session_id)["events"] if e.get("event") == "user"]
    assert said == ["hello"]


async def test_a_persons_message_says_who_wrote_it(stack) -> None:
    from bot.handoff.rasa_api import RasaClient

    session_id = uuid.uuid4().hex
    async with Customer(stack.url, session_id) as customer:
        await customer.say("hello")
        await asyncio.to_thread(
            RasaClient(stack.url, stack.token).send_as_person,
            session_id,
            "Hi, Rita here",
            author="agent",
            display_name="Rita",
        )
        pushed = await customer.collect()
    assert [(m["text"], m["author"], m["name"]) for m in pushed] == [
        ("Hi, Rita here", "agent", "Rita")
    ]
    assert isinstance(pushed[0]["time"], float)
    # The same message read from the web app (the live stream's reader) has the same key: the
    # widget, which may get it both ways, shows it once.
    said = requests.get(f"{stack.web_url}/api/conversations/{session_id}/messages", timeout=10)
    (read,) = [m for m in said.json()["messages"] if m["author"] == "agent"]
    assert len(pushed[0]["message_id"]) == 32 and read["message_id"] == pushed[0]["message_id"]
