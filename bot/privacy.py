"""Personal data masked out of what customers wrote, before an editor sees it or saves it
(stories, real conversations, analytics' unanswered topics, the inbox).

E-mail addresses, card-like numbers (13 to 19 digits), phone numbers (7 digits or more) and order
numbers (``AM-100482`` or six digits, as ``bot.orders.lookup`` recognises them) become a word in
brackets: ``[email]``, ``[card number]``, ``[phone]``, ``[order number]``, so that "where is
order 123456" and "where is order 654321" read, and group, as the same question. The brackets
are never followed by ``(``, so Rasa's test-story reader does not take them for entity markup.
"""

from __future__ import annotations

import re
from typing import Any

from bot.orders.lookup import EMAIL, ORDER_NUMBER

_CARD = re.compile(r"(?<![\w+])(?:\d[ -]?){12,18}\d(?!\w)")
# Seven digits or more, maybe with +, spaces, dashes, dots and brackets; never a date (2024-05-01).
_PHONE = re.compile(r"(?<![\w+(])(?!\d{4}-\d\d-\d\d(?!\d))\+?\(?\d(?:[ ().-]{0,2}\d){6,14}(?!\w)")

# Longest first: a card number holds a phone-like run, a phone number an order-like one.
MASKS = (
    (EMAIL, "[email]"),
    (_CARD, "[card number]"),
    (_PHONE, "[phone]"),
    (ORDER_NUMBER, "[order number]"),
)
PLACEHOLDER = re.compile("|".join(re.escape(word) for _, word in MASKS))


def mask(text: str) -> str:
    """``text`` with every e-mail address, card, phone and order number replaced by its kind."""
    for pattern, word in MASKS:
        text = pattern.sub(word, text)
    return text


def mask_value(value: Any) -> Any:
    """A slot's or entity's value masked like text; numbers, booleans and None kept as they are."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): mask_value(v) for k, v in value.items()}
    return value


def without_placeholders(text: str) -> str:
    """A masked text without its placeholders: what it means, for comparing meanings (the
    placeholders would make messages with personal data look alike, and unlike the rest)."""
    return " ".join(PLACEHOLDER.sub(" ", text).split())
