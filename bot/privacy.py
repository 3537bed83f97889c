"""Personal data masked out of customers' words before editors read them.

What is masked: e-mail addresses, card-like numbers (13 to 19 digits, spaces or dashes between),
phone numbers (7 to 15 digits, with an optional +, spaces, dashes, dots or brackets) and order
numbers (as the order lookup reads them, ``bot.orders.lookup``). Each becomes a placeholder in
brackets that says what was there, so that "where is order 123456" and "where is order 654321"
read, and group, as the same question.
"""

from __future__ import annotations

import re

from bot.orders.lookup import _EMAIL, _ORDER_NUMBER

_CARD = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().-]{5,}\d(?!\w)")

EMAIL = "[e-mail]"
CARD = "[card number]"
PHONE = "[phone]"
ORDER = "[order number]"


def _phone(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PHONE if 7 <= digits <= 15 else match.group(0)


def mask_personal(text: str) -> str:
    """``text`` with e-mail addresses, card-like numbers, phone numbers and order numbers
    replaced by placeholders ("[e-mail]", "[card number]", "[phone]", "[order number]")."""
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(CARD, text)
    text = _PHONE.sub(_phone, text)
    return _ORDER_NUMBER.sub(ORDER, text)
