"""Personal data masked out of customers' words: e-mails, card, order and phone numbers."""

from __future__ import annotations

import pytest

from bot.privacy import mask, without_placeholders


@pytest.mark.parametrize(
    "text, masked",
    [
        ("write to Jonas.Petraitis@example.lt please", "write to [e-mail] please"),
        ("order AM-100482 is late", "order [order number] is late"),
        ("my order am 123456 and 654321", "my order [order number] and [order number]"),
        ("card 4111 1111 1111 1111 was charged", "card [card number] was charged"),
        ("card 4111-1111-1111-1111", "card [card number]"),
        ("call me +370 612 34567", "call me [phone number]"),
        ("or 8 (612) 34567 after 5", "or [phone number] after 5"),
        ("tel. +48 601-234-567", "tel. [phone number]"),
        # What is not personal stays: amounts, years, postcodes, short numbers.
        ("paid 120 EUR in 2024 for 2 items", "paid 120 EUR in 2024 for 2 items"),
        ("postcode LT-01234, flat 12", "postcode LT-01234, flat 12"),
        ("", ""),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_without_placeholders() -> None:
    masked = mask("do you accept bitcoin? I'm a@b.lt, order AM-100482")
    assert without_placeholders(masked) == "do you accept bitcoin? I'm , order"
