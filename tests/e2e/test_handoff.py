"""A person takes over, through the running stack: the customer on Rasa's REST channel, the agent
on the web app's API (as the console drives it).

The bot pauses, the customer's messages wait for the agent, the agent's messages are recorded in
the same transcript, and the bot resumes when handed back.
"""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from bot import db
from bot.users import create_user, find_user
from tests.e2e.conftest import after_the_follow_up_look, custom, texts

pytestmark = pytest.mark.e2e
POLISH = {"language": "pl"}  # only the Polish team's agent is online: other tests stay offline
PASSWORD = "a long enough password"


@pytest.fixture
def agata(stack) -> Iterator[requests.Session]:
    """The Polish team's agent, signed in to the web app and online."""
    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        if find_user(session, "e2e-agata") is None:
            create_user(
                session,
                username="e2e-agata",
                password=PASSWORD,
                display_name="Agata",
                teams=["support-poland"],
                languages=["pl"],
            )
    http = requests.Session()
    http.post(
        f"{stack.web_url}/api/session", json={"username": "e2e-agata", "password": PASSWORD}
    ).raise_for_status()
    http.post(f"{stack.web_url}/api/presence", json={"presence": "online"}).raise_for_status()
    yield http
    http.delete(f"{stack.web_url}/api/session")
    with db.session_scope(engine) as session:
        assert find_user(session, "e2e-agata").presence == "offline"
    engine.dispose()


def claimed(stack, sender: str, agent: requests.Session) -> dict:
    """A Polish customer asks for a person and ``agent`` claims the handoff; its queue entry."""
    stack.say(sender, "hello", metadata=POLISH)
    stack.say(sender, "I want to talk to a person")
    (item,) = [
        h
        for h in agent.get(f"{stack.web_url}/api/handoffs?view=queued").json()
        if h["conversation_id"] == sender
    ]
    agent.post(f"{stack.web_url}/api/handoffs/{item['id']}/claim").raise_for_status()
    return item


def test_the_queue_then_the_agent_then_the_bot_again(stack, sender, agata) -> None:
    web = stack.web_url
    stack.say(sender, "hello", metadata=POLISH)
    joined = custom(stack.say(sender, "I want to talk to a person"), "handoff")
    assert joined["status"] == "queued" and joined["position"] == 1
    assert joined["estimated_wait_seconds"] == 0

    # While queued the bot is silent: the message is acknowledged and kept for the agent.
    waiting = stack.say(sender, "my blender arrived broken")
    assert texts(waiting) == ""
    assert custom(waiting, "handoff") == {**joined, "delivered": True}
    # Rasa's own commands cannot take the conversation back behind the agent's back.
    refused = custom(stack.say(sender, "/restart"), "handoff")
    assert refused["status"] == "queued" and refused["refused"] == "/restart"

    (item,) = [
        h
        for h in agata.get(f"{web}/api/handoffs?view=queued").json()
        if h["conversation_id"] == sender
    ]
    assert item["reason"] == "asked_for_person" and item["language"] == "pl"
    assert "Handed off: the customer asked for a person" in item["summary"]
    claimed = agata.post(f"{web}/api/handoffs/{item['id']}/claim").json()
    assert claimed == {"id": item["id"], "status": "assigned", "customer_told": True}
    assert custom(stack.say(sender, "hello?"), "handoff")["agent"] == "Agata"

    sent = agata.post(
        f"{web}/api/handoffs/{item['id']}/messages",
        json={"text": "Cześć, tu Agata. <b>Przykro</b> mi!"},
    )
    assert sent.json() == {"delivered": True}
    transcript = agata.get(f"{web}/api/handoffs/{item['id']}/transcript").json()
    customer_said = [line["text"] for line in transcript if line["author"] == "customer"]
    assert "my blender arrived broken" in customer_said and "hello?" in customer_said
    assert "/restart" not in customer_said
    (agent_line,) = [line for line in transcript if line["author"] == "agent"]
    assert agent_line == {
        **agent_line,
        "name": "Agata",
        "text": "Cześć, tu Agata. <b>Przykro</b> mi!",
    }
    assert any(line["author"] == "system" and "Agata" in line["text"] for line in transcript)
    # A REST customer reads what the agent wrote on the web app, after a cursor.
    said = requests.get(f"{web}/api/conversations/{sender}/messages", timeout=10).json()
    assert said["handoff"]["status"] == "assigned" and said["handoff"]["agent"] == "Agata"
    (pushed,) = [m for m in said["messages"] if m["author"] == "agent"]
    assert pushed["text"] == "Cześć, tu Agata. <b>Przykro</b> mi!" and pushed["pushed"] is True
    assert pushed["name"] == "Agata" and said["messages"][-1] == pushed
    later = requests.get(
        f"{web}/api/conversations/{sender}/messages",
        params={"after": said["cursor"]},
        timeout=10,
    ).json()
    assert later["messages"] == [] and later["cursor"] == said["cursor"]

    back = agata.post(
        f"{web}/api/handoffs/{item['id']}/hand-back", json={"note": "refund explained"}
    )
    assert back.json()["status"] == "returned" and back.json()["customer_told"] is True
    again = stack.say(sender, "hello")
    assert "virtual assistant" in texts(again) and custom(again, "handoff") is None
    assert (
        agata.get(f"{web}/api/handoffs/{item['id']}").json()["events"][-1]["note"]
        == "refund explained"
    )


def test_a_second_request_while_queued_does_not_open_another(stack, sender, agata) -> None:
    stack.say(sender, "hi", metadata=POLISH)
    first = custom(stack.say(sender, "agent please"), "handoff")
    second = custom(stack.say(sender, "/request_human"), "handoff")  # a button click, paused
    assert second["reference"] == first["reference"] and second["delivered"] is True
    mine = [
        h
        for h in agata.get(f"{stack.web_url}/api/handoffs").json()
        if h["conversation_id"] == sender
    ]
    assert len(mine) == 1
    agata.post(f"{stack.web_url}/api/handoffs/{mine[0]['id']}/resolve", json={"outcome": "spam"})
    assert custom(stack.say(sender, "hello"), "handoff") is None


def test_a_human_conversation_survives_a_restart_of_every_server(stack, sender, agata) -> None:
    web = stack.web_url
    item = claimed(stack, sender, agata)
    agata.post(
        f"{web}/api/handoffs/{item['id']}/messages", json={"text": "Before the restart"}
    ).raise_for_status()

    stack.restart()  # Rasa, the action server and the web app, all at once

    # The agent's session, the ownership and the pause all survive: the bot stays silent.
    waiting = stack.say(sender, "are you still there?")
    assert texts(waiting) == "" and custom(waiting, "handoff")["agent"] == "Agata"
    agata.post(f"{web}/api/presence", json={"presence": "online"}).raise_for_status()
    agata.post(
        f"{web}/api/handoffs/{item['id']}/messages", json={"text": "Yes, still here"}
    ).raise_for_status()
    lines = [
        (line["author"], line["text"])
        for line in agata.get(f"{web}/api/handoffs/{item['id']}/transcript").json()
    ]
    assert ("agent", "Before the restart") in lines
    assert ("customer", "are you still there?") in lines
    assert lines[-1] == ("agent", "Yes, still here")
    agata.post(f"{web}/api/handoffs/{item['id']}/resolve", json={"outcome": "solved"})
    assert custom(stack.say(sender, "hello"), "handoff") is None


async def test_a_socketio_customer_hears_the_agent_live_and_rates(stack, agata) -> None:
    """The widget's channel: state changes and the agent's words are pushed to the customer."""
    import asyncio
    import uuid

    from tests.e2e.test_socketio import Customer

    web = stack.web_url
    session_id = uuid.uuid4().hex

    def payloads(replies, key):
        return [r["custom"][key] for r in replies if key in (r.get("custom") or {})]

    async with Customer(stack.url, session_id) as customer:
        await customer.client.emit(
            "user_uttered",
            {"message": "hello", "session_id": session_id, "metadata": POLISH},
        )
        await customer.collect()
        (queued,) = payloads(await customer.say("I want to talk to a person"), "handoff")
        assert queued["status"] == "queued" and queued["position"] >= 1
        (waiting,) = payloads(await customer.say("anyone there?"), "handoff")
        assert waiting["delivered"] is True

        queue = await asyncio.to_thread(agata.get, f"{web}/api/handoffs?view=queued")
        (item,) = [h for h in queue.json() if h["conversation_id"] == session_id]
        await asyncio.to_thread(agata.post, f"{web}/api/handoffs/{item['id']}/claim")
        joined = await customer.collect()
        assert payloads(joined, "handoff")[0] == {
            "status": "assigned",
            "agent": "Agata",
            "reference": item["reference"],
        }
        assert any("Agata" in r.get("text", "") for r in joined)

        typing: asyncio.Queue = asyncio.Queue()
        customer.client.on("typing", typing.put_nowait)
        shown = await asyncio.to_thread(
            agata.post, f"{web}/api/handoffs/{item['id']}/typing", json={"typing": True}
        )
        assert shown.json() == {"shown": True}
        assert await asyncio.wait_for(typing.get(), 10) == {
            "who": "agent",
            "name": "Agata",
            "typing": True,
        }
        # The customer's typing shows in the agent's console.
        await asyncio.to_thread(
            requests.post, f"{web}/api/conversations/{session_id}/typing", json={"typing": True}
        )
        detail = await asyncio.to_thread(agata.get, f"{web}/api/handoffs/{item['id']}")
        assert detail.json()["customer_typing"] is True

        await asyncio.to_thread(
            agata.post, f"{web}/api/handoffs/{item['id']}/messages", json={"text": "Dzień dobry!"}
        )
        (live,) = [r for r in await customer.collect() if r.get("text")]
        assert live["text"] == "Dzień dobry!"

        await asyncio.to_thread(
            agata.post, f"{web}/api/handoffs/{item['id']}/resolve", json={"outcome": "solved"}
        )
        closing = await customer.collect()
        back = payloads(closing, "handoff")[-1]
        assert back["status"] == "bot" and back["survey"].endswith(f"/{session_id}/survey")
        rated = await asyncio.to_thread(
            requests.post, f"{web}{back['survey']}", json={"score": 5, "comment": "szybko"}
        )
        assert rated.json() == {"reference": item["reference"], "score": 5}
        greeting = await customer.say("hello")
        assert any("virtual assistant" in r.get("text", "") for r in greeting)


def test_a_follow_up_is_said_when_the_customer_returns(stack, sender, agata) -> None:
    web = stack.web_url
    item = claimed(stack, sender, agata)
    agata.post(
        f"{web}/api/handoffs/{item['id']}/resolve", json={"outcome": "follow_up"}
    ).raise_for_status()
    agata.post(
        f"{web}/api/handoffs/{item['id']}/follow-up", json={"text": "Paczka jest w drodze."}
    ).raise_for_status()
    after_the_follow_up_look()
    back = stack.say(sender, "hello")
    assert back[0]["text"] == (
        "Agata from our customer-service team, following up: Paczka jest w drodze."
    )
    assert custom(back, "follow_up") == {"author": "Agata", "text": "Paczka jest w drodze."}
    assert "virtual assistant" in texts(back)  # and the bot answers as usual
    assert custom(stack.say(sender, "hello"), "follow_up") is None  # said once
