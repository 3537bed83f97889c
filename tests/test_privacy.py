"""Personal data masked out of what customers wrote."""

from __future__ import annotations

import pytest

from bot.privacy import mask, mask_value, without_placeholders


@pytest.mark.parametrize(
    "text, masked",
    [
        ("write to ieva.k+shop@example.com please", "write to [email] please"),
        ("order AM-100482 never came", "order [order number] never came"),
        ("order am 100482", "order [order number]"),
        ("my number is 100482", "my number is [order number]"),
        ("call me on +370 612 34567", "call me on [phone]"),
        ("tel. (8-5) 212 3456", "tel. [phone]"),
        ("card 4111 1111 1111 1111 was charged", "card [card number] was charged"),
        ("card 4111-1111-1111-1111", "card [card number]"),
        ("I paid 129.99 EUR for 2 items in 14 days", "I paid 129.99 EUR for 2 items in 14 days"),
        ("Šiauliai, 2024-05-01", "Šiauliai, 2024-05-01"),
        ("write to Ann.B+x@example.co.uk please", "write to [email] please"),
        ("call (22) 123-45-67", "call [phone]"),
        ("2 items for 25 EUR", "2 items for 25 EUR"),
        ("my order am 123456 and 654321", "my order [order number] and [order number]"),
        ("or 8 (612) 34567 after 5", "or [phone] after 5"),
        ("tel. +48 601-234-567", "tel. [phone]"),
        ("paid 120 EUR in 2024 for 2 items", "paid 120 EUR in 2024 for 2 items"),
        ("postcode LT-01234, flat 12", "postcode LT-01234, flat 12"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("", ""),
    ],
)
def test_personal_data_is_masked_and_the_rest_kept(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_values_are_masked_inside_lists_and_maps_and_numbers_kept() -> None:
    value = {"to": ["a@b.lt", "x"], "n": 3, "ok": True, "none": None}
    assert mask_value(value) == {"to": ["[email]", "x"], "n": 3, "ok": True, "none": None}
    assert mask_value("AM-100482") == "[order number]"


def test_without_placeholders() -> None:
    masked = mask("do you accept bitcoin? I'm a@b.lt, order AM-100482")
    assert without_placeholders(masked) == "do you accept bitcoin? I'm , order"
