"""Messages about other companies' shops and services."""

from __future__ import annotations

import pytest

from bot.kb.answering import Thresholds, Understanding, combine
from bot.kb.scope import mentions_other_service, other_services


def test_the_shipped_list_loads() -> None:
    names = other_services()
    assert "amazon" in names and "gmail" in names
    assert "samsung" not in names and "inpost" not in names  # sold or used by Amberline


@pytest.mark.parametrize(
    "text, expected",
    [
        ("how do I return a parcel I bought on Amazon", True),
        ("reset my GMAIL password", True),
        ("do you deliver furniture from IKEA?", True),
        ("I paid with booking.com and want a refund", True),
        ("can I pay with Apple Pay", False),
        ("how long does InPost delivery take", False),
        ("amazonian parrot", False),  # whole words only
        ("", False),
    ],
)
def test_mentions_other_service(text: str, expected: bool) -> None:
    assert mentions_other_service(text) is expected


def test_other_service_lowers_every_score() -> None:
    signals = {"semantic": {"reset-password": 0.8}}
    plain = combine(Understanding(), signals, Thresholds())["reset-password"]
    other = combine(Understanding(other_service=True), signals, Thresholds())["reset-password"]
    assert other == pytest.approx(plain - Thresholds().other_service_penalty)
