"""The safety net that recognises a request for a person in any wording."""

from __future__ import annotations

import pytest

from bot.handoff.detect import asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "agent please",
        "human",
        "Operator!!",
        "a real person",
        "I prefer talking to people not machines",
        "can I talk to someone from customer service",
        "let me speak with a manager now",
        "I need a human",
        "chcę porozmawiać z człowiekiem",
        "prosze o konsultanta",
        "noriu kalbėti su žmogumi",
        "gribu runāt ar cilvēku",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "do your agents speak polish",
        "how long does a refund take",
        "is the delivery person allowed to leave it at the door",
        "where is my order",
        "",
        "agent " * 200,
    ],
)
def test_other_messages(text: str) -> None:
    assert not asks_for_person(text)
