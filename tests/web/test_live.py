"""Live updates over Server-Sent Events against the running web app: the agent console's stream
(sign-in, queue changes, transcript lines, notes, typing, resuming with Last-Event-ID) and the
customer's (their conversation only), plus the REST customer's messages after a cursor.

What customers say is written by Rasa's own SQL tracker store (``conversations``), as the Rasa
server writes it; handoffs change through the web app's API, as agents change them."""

from __future__ import annotations

import pytest
import requests

from bot.live.cursor import Token
from tests.web.conftest import EventStream, open_handoff

# Customers' keys: what was said is read back only with an id of 16 characters or more.
MINE, THEIRS = "mine-5d41402abc4b2a76", "theirs-7d793037a076"
REST, REST_OTHER = "rest-1-9e107d9d372bb", "rest-2-e4d909c290d0f"


@pytest.fixture
def ona(web):
    web.add_user("ona", "agent")
    return web.client("ona")


def agent_stream(web, http, last_event_id=None) -> EventStream:
    return EventStream(
        f"{web.url}/api/agent/events", cookies=http.cookies, last_event_id=last_event_id
    )


async def test_the_agent_stream_needs_a_signed_in_agent(web) -> None:
    web.add_user("eddie", "editor")
    async with EventStream(f"{web.url}/api/agent/events") as stranger:
        assert stranger.status == 401
    async with agent_stream(web, web.client("eddie")) as editor:
        assert editor.status == 403


async def test_queue_changes_lines_notes_and_typing_arrive(web, ona, conversations) -> None:
    web.add_user("janis", "agent")
    async with agent_stream(web, ona) as stream:
        assert stream.status == 200
        ready = await stream.next("ready")
        assert ready.data == {"resumed": False} and Token.parse(ready.id, "hnft")

        pk = open_handoff(web, "live-1")  # the action server opens it: another process
        queued = await stream.next("handoff", action="request")
        assert queued.data["id"] == pk and queued.data["status"] == "queued"
        assert queued.data["conversation_id"] == "live-1" and queued.id

        web.client("janis").post(f"{web.url}/api/handoffs/{pk}/claim").raise_for_status()
        claimed = await stream.next("handoff", action="claim")
        assert claimed.data["status"] == "assigned"

        await conversations.customer("live-1", "<b>my order</b> never came")
        line = await stream.next("line")
        assert line.data["handoff"] == pk and line.data["conversation_id"] == "live-1"
        assert line.data["line"]["author"] == "customer"
        assert line.data["line"]["text"] == "<b>my order</b> never came"
        transcript = ona.get(f"{web.url}/api/handoffs/{pk}/transcript").json()
        assert transcript[-1]["id"] == line.data["line"]["id"]  # the console de-duplicates by id

        await conversations.bot("live-1", "I'm on it", author="agent", display_name="Janis")
        answer = await stream.next("line")
        assert answer.data["line"]["author"] == "agent" and answer.data["line"]["name"] == "Janis"

        ona.post(f"{web.url}/api/handoffs/{pk}/notes", json={"text": "VIP"}).raise_for_status()
        note = await stream.next("note")
        assert note.data["handoff"] == pk and note.data["note"]["text"] == "VIP"

        requests.post(f"{web.url}/api/conversations/live-1/typing", json={"typing": True})
        typing = await stream.next("typing")
        assert typing.data == {"conversation_id": "live-1", "typing": True}
        assert typing.id is None  # nothing to resume from

        # A conversation without a handoff (the bot alone) is nobody's business in the console.
        await conversations.customer("bot-only", "hello")
        await conversations.customer("live-1", "still there?")
        last = await stream.next("line")
        assert last.data["line"]["text"] == "still there?"
        assert all(
            e.data.get("conversation_id") != "bot-only" for e in stream.events if e.kind == "line"
        )


async def test_a_reconnect_with_last_event_id_gets_what_it_missed(web, ona, conversations) -> None:
    pk = open_handoff(web, "resume-1")
    async with agent_stream(web, ona) as first:
        await first.next("ready")
        await conversations.customer("resume-1", "first")
        seen = await first.next("line")
    # Disconnected: meanwhile a customer writes, an agent claims, a new customer queues.
    await conversations.customer("resume-1", "second")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim").raise_for_status()
    other = open_handoff(web, "resume-2")

    async with agent_stream(web, ona, last_event_id=seen.id) as again:
        ready = await again.next("ready")
        assert ready.data == {"resumed": True}
        before_ready = again.events[: again.events.index(ready)]
        texts = [e.data["line"]["text"] for e in before_ready if e.kind == "line"]
        assert texts == ["second"]  # not "first" again
        actions = [(e.data["id"], e.data["action"]) for e in before_ready if e.kind == "handoff"]
        assert actions == [(pk, "claim"), (other, "request")]
        # ... and live again afterwards, with ids that resume later still.
        await conversations.customer("resume-1", "third")
        third = await again.next("line")
        assert third.data["line"]["text"] == "third"
        assert Token.parse(third.id, "hnft")["t"] >= Token.parse(ready.id, "hnft")["t"]


@pytest.mark.parametrize(
    "last_event_id",
    ["garbage", "h1.h2", "x5", "h99999999999999999999", "h1;DROP TABLE handoffs", "h-1", "h\xb2"],
)
async def test_a_forged_last_event_id_is_refused(web, ona, last_event_id) -> None:
    async with agent_stream(web, ona, last_event_id=last_event_id) as stream:
        assert stream.status == 400


async def test_a_token_from_another_database_means_reload(web, ona) -> None:
    async with agent_stream(web, ona, last_event_id="h999999.t999999") as stream:
        assert (await stream.next("ready")).data == {"resumed": False}


async def test_a_customer_stream_carries_their_conversation_only(web, ona, conversations) -> None:
    pk = open_handoff(web, MINE)
    open_handoff(web, THEIRS)
    await conversations.customer(MINE, "where is my parcel?")
    await conversations.customer(THEIRS, "my secret address is 1 Main St")
    url = f"{web.url}/api/conversations/{MINE}/events"
    async with EventStream(url) as customer:
        said = await customer.next("message")  # what was said before is sent first
        assert said.data["author"] == "customer" and said.data["text"] == "where is my parcel?"
        state = await customer.next("handoff")
        assert state.data["status"] == "queued" and state.data["position"] == 1

        ona.post(f"{web.url}/api/handoffs/{pk}/claim").raise_for_status()
        assert (await customer.next("handoff", status="assigned")).data["agent"] == "Ona"
        await conversations.bot(MINE, "Hello, Ona here", author="agent", display_name="Ona")
        message = await customer.next("message", author="agent")
        assert message.data["text"] == "Hello, Ona here" and message.data["pushed"] is True
        assert message.id == str(message.data["id"])

        ona.post(f"{web.url}/api/handoffs/{pk}/typing", json={"typing": True})
        typing = await customer.next("typing")
        assert typing.data == {"who": "agent", "name": "Ona", "typing": True}

        await conversations.customer(THEIRS, "and my card number")
        await conversations.customer(MINE, "thanks")
        assert (await customer.next("message")).data["text"] == "thanks"
    everything = str([e.data for e in customer.events])
    assert "secret" not in everything and "card" not in everything and THEIRS not in everything

    # Reconnecting after a message id: only what came later.
    async with EventStream(url, last_event_id=message.id) as again:
        await again.next("handoff")  # the state follows the catch-up
        assert [e.data["text"] for e in again.events if e.kind == "message"] == ["thanks"]


def test_a_rest_customer_reads_what_the_agent_wrote(web, ona, conversations) -> None:
    import asyncio

    pk = open_handoff(web, REST)
    ona.post(f"{web.url}/api/handoffs/{pk}/claim").raise_for_status()
    asyncio.run(conversations.customer(REST, "hello?"))
    asyncio.run(conversations.bot(REST, "Ona here", author="agent", display_name="Ona"))
    asyncio.run(conversations.customer(REST_OTHER, "someone else"))

    first = requests.get(f"{web.url}/api/conversations/{REST}/messages").json()
    assert [(m["author"], m.get("text")) for m in first["messages"]] == [
        ("customer", "hello?"),
        ("agent", "Ona here"),
    ]
    assert first["messages"][1]["pushed"] is True and first["messages"][1]["name"] == "Ona"
    assert first["handoff"]["status"] == "assigned" and first["more"] is False
    cursor = first["cursor"]
    assert cursor == first["messages"][-1]["id"]

    nothing = requests.get(f"{web.url}/api/conversations/{REST}/messages?after={cursor}").json()
    assert nothing["messages"] == [] and nothing["cursor"] == cursor
    asyncio.run(conversations.bot(REST, "Anything else?", author="agent", display_name="Ona"))
    later = requests.get(f"{web.url}/api/conversations/{REST}/messages?after={cursor}").json()
    assert [m["text"] for m in later["messages"]] == ["Anything else?"]

    paged = requests.get(f"{web.url}/api/conversations/{REST}/messages?limit=1").json()
    assert len(paged["messages"]) == 1 and paged["more"] is True


def test_the_end_of_a_conversation_and_its_history_alias(web, conversations) -> None:
    """A chat that comes back reads the newest messages (``last``); ``/history`` is the same
    read of the last 200, kept as an alias."""
    import asyncio

    for n in range(4):
        asyncio.run(conversations.customer(MINE, f"message {n}"))
    asyncio.run(conversations.customer(THEIRS, "not yours"))
    end = requests.get(f"{web.url}/api/conversations/{MINE}/messages?last=true&limit=2").json()
    assert [m["text"] for m in end["messages"]] == ["message 2", "message 3"]
    assert end["cursor"] == end["messages"][-1]["id"] and end["more"] is False
    everything = requests.get(f"{web.url}/api/conversations/{MINE}/messages").json()
    history = requests.get(f"{web.url}/api/conversations/{MINE}/history").json()
    assert history == everything  # fewer than 200: the same
    assert history["handoff"] == {"status": "bot"}


@pytest.mark.parametrize("route", ["messages", "history", "events"])
@pytest.mark.parametrize(
    "conversation_id", ["short", "x" * 15, "x" * 129, "has.dots.in.it.1234567", "%2e%2e"]
)
def test_what_was_said_needs_a_hard_to_guess_id(web, route, conversation_id) -> None:
    reply = requests.get(f"{web.url}/api/conversations/{conversation_id}/{route}", stream=True)
    assert reply.status_code in (404, 422)
    reply.close()


@pytest.mark.parametrize(
    "query",
    ["after=-1", "after=abc", f"after={2**70}", "limit=0", "limit=100000", "after=1.5"],
)
def test_a_bad_cursor_is_a_4xx(web, query) -> None:
    reply = requests.get(f"{web.url}/api/conversations/{MINE}/messages?{query}")
    assert reply.status_code == 422
    if query.startswith("after="):
        stream = requests.get(f"{web.url}/api/conversations/{MINE}/events?{query}", stream=True)
        assert stream.status_code == 422
        stream.close()


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "1.5", "9" * 25, "1 OR 1=1", "\xb2"])
def test_a_customer_forged_last_event_id_is_a_4xx(web, last_event_id) -> None:
    reply = requests.get(
        f"{web.url}/api/conversations/{MINE}/events",
        headers={"Last-Event-ID": last_event_id},
        stream=True,
    )
    assert 400 <= reply.status_code < 500
    reply.close()


@pytest.mark.parametrize(
    "conversation_id", ["x" * 129, "%00", "..%2F..%2Fetc", "'; DROP TABLE events; --", "ąčę😀"]
)
def test_hostile_conversation_ids_are_never_a_5xx(web, conversation_id) -> None:
    reply = requests.get(f"{web.url}/api/conversations/{conversation_id}/messages")
    assert reply.status_code < 500
    if reply.status_code == 200:
        assert reply.json()["messages"] == []
