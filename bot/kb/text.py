"""Text normalisation shared by retrieval, lint and evaluation."""

from __future__ import annotations

import re
import unicodedata
from typing import List

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNDERSCORE = re.compile(r"_+")


def clean_text(text: str) -> str:
    """Control characters removed (newlines and tabs kept), surrounding space trimmed."""
    return _CONTROL.sub("", text).strip()


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation to spaces: 'Kaunas, Šiauliai!' -> 'kaunas siauliai'.

    Customers often type without diacritics, so matching compares folded forms.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _UNDERSCORE.sub(" ", _NON_WORD.sub(" ", text.casefold()))
    return " ".join(text.split())


_BLOCK_START = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|#|>|\|)")


def unwrap(markdown: str) -> str:
    """Join hard-wrapped lines of a Markdown text, keeping paragraphs, list items and tables.

    Articles are written wrapped at ~100 characters for clean diffs; a chat bubble should wrap
    them itself. A line continues the previous one unless it starts a list item, a heading, a
    quote or a table row.
    """
    out: list = []
    for paragraph in re.split(r"\n\s*\n", markdown.strip()):
        lines: list = []
        for line in paragraph.splitlines():
            if lines and not _BLOCK_START.match(line) and line.strip():
                lines[-1] = lines[-1].rstrip() + " " + line.strip()
            elif line.strip():
                lines.append(line.rstrip())
        out.append("\n".join(lines))
    return "\n\n".join(out)


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BLOCK_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+|>)\s+")
_MARKUP = re.compile(r"[*_`|]+")


def passages(markdown: str, min_chars: int = 16) -> List[str]:
    """The paragraphs and list items of a Markdown text as plain text, each one passage.

    Retrieval compares a customer's question with an article's answer passage by passage: a
    question about one detail ("is the 3-month plan free of interest?") is close in meaning to
    the sentence that answers it, not to the whole article. Links keep their text; emphasis,
    headings and list marks go; fragments shorter than ``min_chars`` are left out.
    """
    out = []
    for block in unwrap(markdown).splitlines():
        text = _BLOCK_MARK.sub("", _LINK.sub(r"\1", block))
        text = " ".join(_MARKUP.sub("", text).split())
        if len(text) >= min_chars:
            out.append(text)
    return out
