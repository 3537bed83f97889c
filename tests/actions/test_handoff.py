"""The request for a person: recorded once, with the conversation's context."""

from __future__ import annotations

from sqlalchemy import select

from actions.handoff import ActionRequestHuman
from bot import db
from bot.handoff.models import HandoffRequest
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
        (request,) = session.execute(select(HandoffRequest)).scalars()
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
        (request,) = session.execute(select(HandoffRequest)).scalars()
        assert request.language == "pl" and request.context["language"] == "pl"
