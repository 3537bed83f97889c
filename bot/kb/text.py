"""Text normalisation shared by retrieval, lint and evaluation."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_UNDERSCORE = re.compile(r"_+")


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation to spaces: 'Kaunas, Šiauliai!' -> 'kaunas siauliai'.

    Customers often type without diacritics, so matching compares folded forms.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _UNDERSCORE.sub(" ", _NON_WORD.sub(" ", text.casefold()))
    return " ".join(text.split())
