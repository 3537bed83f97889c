"""Personal data masked out of what customers wrote, for readers who need the words but not the
person: editors reading the inbox and its transcripts, and anything copied into an article.

``mask`` replaces e-mail addresses, card-like digit runs, phone numbers and order numbers with
a placeholder in brackets. The patterns are the order lookup's own for e-mails and order numbers
(``bot.orders.lookup``), so what the bot recognises as an order number is what is masked.
"""

from __future__ import annotations

import re

from bot.orders.lookup import EMAIL, ORDER_NUMBER

# 13 to 19 digits, in groups separated by single spaces or hyphens: a payment card's number.
CARD = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")
# 7 to 15 digits, optionally after "+" and with spaces, dots, hyphens or brackets between
# groups: a phone number (international or national). Runs of fewer digits (amounts, years,
# postcodes) stay.
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ .()-]{0,2}\d){6,14}(?!\w)")
MASKS = (
    (EMAIL, "[e-mail]"),
    (CARD, "[card number]"),
    (ORDER_NUMBER, "[order number]"),
    (PHONE, "[phone number]"),
)


PLACEHOLDER = re.compile("|".join(re.escape(p) for _, p in MASKS))


def without_placeholders(text: str) -> str:
    """A masked text without its placeholders: what it means, for comparing meanings (the
    placeholders would make messages with personal data look alike, and unlike the rest)."""
    return " ".join(PLACEHOLDER.sub(" ", text).split())


def mask(text: str) -> str:
    """``text`` with e-mail addresses, card numbers, order numbers and phone numbers replaced
    by ``[e-mail]``, ``[card number]``, ``[order number]`` and ``[phone number]``."""
    for pattern, placeholder in MASKS:
        text = pattern.sub(placeholder, text)
    return text
