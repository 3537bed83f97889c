"""Personal data masked out of customers' words before editors read them."""

from __future__ import annotations

import pytest

from bot.privacy import mask_personal


@pytest.mark.parametrize(
    "text, masked",
    [
        ("write to Ann.B+x@example.co.uk please", "write to [e-mail] please"),
        ("card 4111 1111 1111 1111 was charged", "card [card number] was charged"),
        ("card 4111-1111-1111-1111", "card [card number]"),
        ("call +370 612 34567 now", "call [phone] now"),
        ("call (22) 123-45-67", "call [phone]"),
        ("order 100482 is late", "order [order number] is late"),
        ("order AM-100482 is late", "order [order number] is late"),
        ("2 items for 25 EUR", "2 items for 25 EUR"),
        ("no personal data here", "no personal data here"),
    ],
)
def test_masked(text, masked) -> None:
    assert mask_personal(text) == masked
