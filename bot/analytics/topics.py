"""The top unanswered topics: the customer's messages the bot did not understand, grouped.

``group_unanswered`` is deliberately small and on its own: it groups messages that are the same
once personal data is masked and case, accents, spacing and punctuation are ignored
(``bot.kb.text.fold``). A grouping by similarity of meaning can replace it with the same
signature.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Tuple

from bot.kb.text import clean_text, fold
from bot.privacy import mask

MAX_EXAMPLE = 300


@dataclass
class Topic:
    """Messages that say the same thing: how often, the commonest wording, which conversations."""

    key: str
    count: int = 0
    wordings: Counter = field(default_factory=Counter)
    conversations: List[str] = field(default_factory=list)

    @property
    def example(self) -> str:
        return self.wordings.most_common(1)[0][0] if self.wordings else self.key


def readable(text: str) -> str:
    """``text`` in its compatibility form (full-width letters as letters), without control and
    invisible formatting characters (zero-width spaces, direction marks)."""
    text = unicodedata.normalize("NFKC", clean_text(text))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def group_unanswered(messages: Iterable[Tuple[str, str]], limit: int = 20) -> List[Topic]:
    """The ``limit`` most frequent topics of ``messages`` ((conversation id, text) pairs), most
    frequent first (ties by wording). Texts are masked (``bot.privacy``) before anything else."""
    topics: Dict[str, Topic] = {}
    for conversation_id, text in messages:
        masked = mask(readable(text))[:MAX_EXAMPLE]
        key = fold(masked)
        if not key:
            continue
        topic = topics.setdefault(key, Topic(key))
        topic.count += 1
        topic.wordings[" ".join(masked.split())] += 1
        if conversation_id not in topic.conversations:
            topic.conversations.append(conversation_id)
    ranked = sorted(topics.values(), key=lambda t: (-t.count, t.key))
    return ranked[:limit]
