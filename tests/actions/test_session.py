"""Session start: language from metadata, the customer's identity carried over."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.session import ActionSessionStart


def tracker(slots) -> Tracker:
    return Tracker("s1", slots, {}, [], False, None, {}, "action_listen")


async def test_language_comes_from_metadata(dispatcher) -> None:
    events = await ActionSessionStart().run(
        dispatcher, tracker({"session_started_metadata": {"language": "lt-LT"}}), {}
    )
    assert SlotSet("language", "lt") in events
    assert events[0]["event"] == "session_started"
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"


async def test_unknown_language_is_ignored(dispatcher) -> None:
    events = await ActionSessionStart().run(
        dispatcher, tracker({"session_started_metadata": {"language": "<b>"}}), {}
    )
    assert not any(e.get("name") == "language" for e in events)


async def test_verified_customer_is_carried_over(dispatcher) -> None:
    events = await ActionSessionStart().run(
        dispatcher, tracker({"order_verified": True, "customer_name": "Ieva"}), {}
    )
    assert SlotSet("order_verified", True) in events and SlotSet("customer_name", "Ieva") in events
