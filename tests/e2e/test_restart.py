"""A restart of the servers in the middle of a conversation loses nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import custom, texts

pytestmark = pytest.mark.e2e


def test_order_form_survives_a_restart(stack, sender) -> None:
    stack.say(sender, "where is my order?")
    assert "e-mail" in texts(stack.say(sender, "AM-100655")).lower()
    stack.restart()
    reply = stack.say(sender, "anna.nowak@example.pl")
    status = custom(reply, "order_status")
    assert status["found"] and status["number"] == "AM-100655"
    events = [e["event"] for e in stack.tracker(sender)["events"]]
    assert events.count("user") == 3
