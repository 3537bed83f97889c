"""The request for a person: recorded once, with the conversation's context."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionRequestHuman, wait_words
from bot import db
from bot.handoff.config import get_config
from bot.handoff.models import Handoff
from bot.settings import PROJECT_ROOT
from bot.timeutil import utcnow
from bot.users import create_user
from tests.actions.conftest import customs, make_tracker, responses

EARLIER = [
    {
        "event": "user",
        "text": "how do i return a tv",
        "timestamp": 1700000000.0,
        "parse_data": {"intent": {"name": "faq", "confidence": 0.8}, "entities": []},
    },
    {"event": "bot", "text": "Here is how...", "timestamp": 1700000001.0},
]


async def test_request_is_recorded_with_context(action_db, dispatcher) -> None:
    tracker = make_tracker("I want to talk to a person", intent="request_human", events=EARLIER)
    events = await ActionRequestHuman().run(dispatcher, tracker, {})
    (handoff,) = customs(dispatcher, "handoff")
    assert handoff["status"] == "offline" and handoff["reason"] == "asked_for_person"
    assert handoff["reference"].startswith("H-")
    message = next(m for m in dispatcher.messages if m.get("response"))
    assert message["response"] == "utter_handoff_offline"
    assert message["handoff_reference"] == handoff["reference"]
    assert events[0]["value"] == handoff["reference"]
    with db.session_scope(db.get_engine(action_db)) as session:
        (request,) = session.execute(select(Handoff)).scalars()
        assert request.last_question == "how do i return a tv"
        assert request.context["transcript"][0]["text"] == "how do i return a tv"
        assert request.channel == "rest"


async def test_reason_from_the_button(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "/request_human",
        intent="request_human",
        entities=[{"entity": "handoff_reason", "value": "not_understood_twice"}],
    )
    await ActionRequestHuman().run(dispatcher, tracker, {})
    assert customs(dispatcher, "handoff")[0]["reason"] == "not_understood_twice"


async def test_unknown_reason_is_not_trusted(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "/request_human",
        intent="request_human",
        entities=[{"entity": "handoff_reason", "value": "<script>"}],
    )
    await ActionRequestHuman().run(dispatcher, tracker, {})
    assert customs(dispatcher, "handoff")[0]["reason"] == "asked_for_person"


async def test_repeat_request_keeps_one_handoff(action_db, dispatcher) -> None:
    tracker = make_tracker("human please", intent="request_human")
    await ActionRequestHuman().run(dispatcher, tracker, {})
    await ActionRequestHuman().run(dispatcher, tracker, {})
    first, second = customs(dispatcher, "handoff")
    assert first["reference"] == second["reference"]
    assert responses(dispatcher) == ["utter_handoff_offline", "utter_handoff_offline"]


async def test_language_comes_from_the_session_metadata(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "human please",
        intent="request_human",
        slots={"session_started_metadata": {"language": "pl-PL"}},
    )
    await ActionRequestHuman().run(dispatcher, tracker, {})
    with db.session_scope(db.get_engine(action_db)) as session:
        (request,) = session.execute(select(Handoff)).scalars()
        assert request.language == "pl" and request.context["language"] == "pl"


@pytest.fixture
def always_open(tmp_path, monkeypatch) -> Iterator[None]:
    """The shipped handoff.yml with every team on duty around the clock."""
    text = (PROJECT_ROOT / "handoff.yml").read_text()
    text = re.sub(r'"\d\d:\d\d-\d\d:\d\d"|closed', '"00:00-24:00"', text)
    path = tmp_path / "handoff.yml"
    path.write_text(text)
    monkeypatch.setenv("BOT_HANDOFF_CONFIG", str(path))
    get_config.cache_clear()
    yield
    get_config.cache_clear()


def online_agent(url: str, name: str = "ona") -> None:
    with db.session_scope(db.get_engine(url)) as session:
        user = create_user(
            session,
            username=name,
            password="a long enough password",
            display_name="Ona",
            teams=["support-baltics"],
            languages=["en", "lt"],
        )
        user.presence = "online"
        user.last_seen_at = utcnow()


async def test_with_an_agent_on_duty_the_customer_joins_the_queue(
    action_db, dispatcher, always_open
) -> None:
    online_agent(action_db)
    tracker = make_tracker("can i talk to a human", intent="request_human", events=EARLIER)
    events = await ActionRequestHuman().run(dispatcher, tracker, {})
    (handoff,) = customs(dispatcher, "handoff")
    assert handoff["status"] == "queued" and handoff["position"] == 1
    assert handoff["estimated_wait_seconds"] == 0 and handoff["long_wait"] is False
    message = next(m for m in dispatcher.messages if m.get("response"))
    assert message["response"] == "utter_handoff_queued"
    assert message["handoff_position"] == 1 and message["handoff_wait"] == "less than a minute"
    assert [e["event"] for e in events].count("pause") == 1
    with db.session_scope(db.get_engine(action_db)) as session:
        (stored,) = session.execute(select(Handoff)).scalars()
        assert stored.status == "queued" and stored.team == "support-baltics"


async def test_off_hours_make_a_ticket_even_with_agents_online(
    action_db, dispatcher, tmp_path, monkeypatch
) -> None:
    text = re.sub(r'"\d\d:\d\d-\d\d:\d\d"', "closed", (PROJECT_ROOT / "handoff.yml").read_text())
    (tmp_path / "closed.yml").write_text(text)
    monkeypatch.setenv("BOT_HANDOFF_CONFIG", str(tmp_path / "closed.yml"))
    get_config.cache_clear()
    try:
        online_agent(action_db)
        events = await ActionRequestHuman().run(
            dispatcher, make_tracker("human", intent="request_human"), {}
        )
    finally:
        get_config.cache_clear()
    assert customs(dispatcher, "handoff")[0]["status"] == "offline"
    assert "pause" not in [e["event"] for e in events]


def test_wait_words() -> None:
    assert wait_words(None) == "unknown"
    assert wait_words(20) == "less than a minute"
    assert wait_words(60) == "about 1 minute"
    assert wait_words(361) == "about 7 minutes"


async def test_a_long_wait_is_said_honestly_with_a_way_to_leave_a_message(
    action_db, dispatcher, handoff_config
) -> None:
    def edit(text: str) -> str:
        text = re.sub(r'"\d\d:\d\d-\d\d:\d\d"|closed', '"00:00-24:00"', text)
        return text.replace("max_wait_minutes: 15", "max_wait_minutes: 1")

    handoff_config(edit)
    with db.session_scope(db.get_engine(action_db)) as session:
        busy = create_user(
            session,
            username="busy",
            password="a long enough password",
            teams=["support-baltics"],
            languages=["en"],
            capacity=1,
        )
        busy.presence, busy.last_seen_at = "online", utcnow()
    other = make_tracker("human please", intent="request_human", sender="someone-else")
    await ActionRequestHuman().run(CollectingDispatcher(), other, {})
    with db.session_scope(db.get_engine(action_db)) as session:
        from bot.handoff import queue
        from bot.users import find_user

        queue.claim(
            session, queue.open_handoff(session, "someone-else"), find_user(session, "busy")
        )

    await ActionRequestHuman().run(
        dispatcher, make_tracker("human please", intent="request_human"), {}
    )
    (handoff,) = customs(dispatcher, "handoff")
    assert handoff["status"] == "queued" and handoff["long_wait"] is True
    assert handoff["estimated_wait_seconds"] == 360  # one seat, six minutes a chat (handoff.yml)
    assert handoff["leave_message"] == "/api/conversations/test-conversation/ticket"
    assert responses(dispatcher) == ["utter_handoff_queued_long"]
