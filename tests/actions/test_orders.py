"""Order-status actions: the form's validation and the lookup."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.orders import ActionCheckOrderStatus, ValidateOrderStatusForm
from tests.actions.conftest import customs, make_tracker, responses

RIGHT = {"order_number": "AM-100482", "order_email": "ieva.kazlauskiene@example.com"}


@pytest.mark.parametrize(
    "value, expected",
    [("am 100482", "AM-100482"), ("it's 100482", "AM-100482"), ("hello", None), ("", None)],
)
def test_order_number_is_normalised(dispatcher, value, expected) -> None:
    result = ValidateOrderStatusForm().validate_order_number(value, dispatcher, make_tracker(), {})
    assert result == {"order_number": expected}
    assert responses(dispatcher) == ([] if expected else ["utter_order_number_invalid"])


@pytest.mark.parametrize(
    "value, expected",
    [("Ieva@Example.com", "ieva@example.com"), ("not an email", None)],
)
def test_email_is_normalised(dispatcher, value, expected) -> None:
    result = ValidateOrderStatusForm().validate_order_email(value, dispatcher, make_tracker(), {})
    assert result == {"order_email": expected}


async def test_form_asks_nothing_once_attempts_are_used_up(action_db, dispatcher) -> None:
    form = ValidateOrderStatusForm()
    slots = ["order_number", "order_email"]
    assert await form.required_slots(slots, dispatcher, make_tracker(), {}) == slots
    used_up = make_tracker(slots={"order_lookup_attempts": 3.0})
    assert await form.required_slots(slots, dispatcher, used_up, {}) == []


async def test_matching_order_is_shown(action_db, dispatcher) -> None:
    events = await ActionCheckOrderStatus().run(dispatcher, make_tracker(slots=RIGHT), {})
    (status,) = customs(dispatcher, "order_status")
    assert status["found"] and status["status"] == "in_transit" and status["carrier"] == "DPD"
    message = next(m for m in dispatcher.messages if m.get("response"))
    assert message["response"] == "utter_order_on_its_way"
    assert message["number"] == "AM-100482" and message["tracking_number"]
    assert SlotSet("order_verified", True) in events


@pytest.mark.parametrize(
    "slots",
    [
        {"order_number": "AM-100482", "order_email": "someone@example.com"},
        {"order_number": "AM-999999", "order_email": "ieva.kazlauskiene@example.com"},
    ],
)
async def test_wrong_number_and_wrong_email_get_the_same_answer(action_db, dispatcher, slots):
    events = await ActionCheckOrderStatus().run(dispatcher, make_tracker(slots=slots), {})
    assert responses(dispatcher) == ["utter_order_not_found"]
    assert customs(dispatcher, "order_status") == [{"found": False}]
    assert SlotSet("order_lookup_attempts", 1.0) in events
    assert SlotSet("order_number", None) in events and SlotSet("order_email", None) in events


async def test_last_attempt_says_the_limit(action_db, dispatcher) -> None:
    slots = {
        "order_number": "AM-999999",
        "order_email": "x@example.com",
        "order_lookup_attempts": 2.0,
    }
    await ActionCheckOrderStatus().run(dispatcher, make_tracker(slots=slots), {})
    assert responses(dispatcher) == ["utter_order_lookup_limit"]


async def test_no_lookup_after_the_limit_even_with_right_details(action_db, dispatcher) -> None:
    slots = {**RIGHT, "order_lookup_attempts": 3.0}
    await ActionCheckOrderStatus().run(dispatcher, make_tracker(slots=slots), {})
    assert responses(dispatcher) == ["utter_order_lookup_limit"]
    assert customs(dispatcher, "order_status") == []
