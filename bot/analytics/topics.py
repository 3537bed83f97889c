"""The top unanswered topics: the customer's messages the bot did not understand, grouped by
meaning.

Messages are masked (``bot.privacy``) before anything else. Messages that are the same once case,
accents, spacing and punctuation are ignored (``bot.kb.text.fold``) are one wording; the wordings
are then grouped by meaning with the inbox's grouping (``bot.kb.grouping.clusters``: English by
the sentence encoder, Lithuanian, Latvian and Polish, and everything without an encoder, by
character n-grams), so that "do you gift wrap?" and "can you wrap it as a present" are one topic.
A topic is shown by its most central wording (``Topic.example``), with how many messages and
conversations it holds and its commonest wordings.

Grouping is bounded: the ``MAX_GROUPED`` most frequent wordings are grouped (ties: the first
said), whatever the number of messages. A wording beyond them was said no more often than each of
those, so it could move a topic by a few messages at most; it is left out of the topics and
counted in ``Topics.left_out``. The sentence encoder keeps the vectors it computed, so a report
encodes only wordings it has not seen (about 10 ms each, at most ``MAX_GROUPED`` the first time).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from bot.kb import grouping
from bot.kb.embeddings import SentenceEncoder
from bot.kb.inbox import meaning
from bot.kb.text import clean_text, fold
from bot.privacy import mask

MAX_EXAMPLE = 300
MAX_GROUPED = 300  # the most frequent wordings grouped by meaning (the rest: ``left_out``)
SHOWN_WORDINGS = 5  # the commonest wordings given with a topic


@dataclass
class Topic:
    """Messages that say the same thing: how often, its wordings, which conversations.
    ``label`` is the most central wording (the commonest when not grouped)."""

    key: str
    count: int = 0
    wordings: Counter = field(default_factory=Counter)
    conversations: List[str] = field(default_factory=list)
    label: Optional[str] = None

    @property
    def example(self) -> str:
        if self.label is not None:
            return self.label
        return self.wordings.most_common(1)[0][0] if self.wordings else self.key

    def commonest(self, count: int = SHOWN_WORDINGS) -> List[str]:
        """The ``count`` commonest wordings, most said first (ties: the first said)."""
        return [wording for wording, _ in self.wordings.most_common(count)]


@dataclasses.dataclass
class Topics:
    """The top topics, and how many messages were left out of the grouping (``MAX_GROUPED``)."""

    topics: List[Topic]
    left_out: int = 0


def readable(text: str) -> str:
    """``text`` in its compatibility form (full-width letters as letters), without control and
    invisible formatting characters (zero-width spaces, direction marks)."""
    text = unicodedata.normalize("NFKC", clean_text(text))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def wordings(messages: Iterable[Tuple[str, str]]) -> List[Topic]:
    """``messages`` ((conversation id, text) pairs) masked and gathered by wording (the same
    text once folded), most frequent first (ties: the first said)."""
    found: Dict[str, Topic] = {}
    for conversation_id, text in messages:
        masked = mask(readable(text))[:MAX_EXAMPLE]
        key = fold(masked)
        if not key:
            continue
        topic = found.setdefault(key, Topic(key))
        topic.count += 1
        topic.wordings[" ".join(masked.split())] += 1
        if conversation_id not in topic.conversations:
            topic.conversations.append(conversation_id)
    return sorted(found.values(), key=lambda t: -t.count)  # stable: the first said first


def _merged(members: List[Topic], central: Topic) -> Topic:
    topic = Topic(central.key, label=central.example)
    for member in members:
        topic.count += member.count
        topic.wordings.update(member.wordings)
        topic.conversations.extend(c for c in member.conversations if c not in topic.conversations)
    return topic


def group_unanswered(
    messages: Iterable[Tuple[str, str]],
    limit: int = 20,
    *,
    encoder: Optional[SentenceEncoder] = None,
    max_grouped: int = MAX_GROUPED,
) -> Topics:
    """The ``limit`` most frequent topics of ``messages`` ((conversation id, text) pairs),
    grouped by meaning, most frequent first (ties by key). Without ``encoder`` every message is
    compared by character n-grams."""
    said = wordings(messages)
    grouped, rest = said[:max_grouped], said[max_grouped:]
    topics: List[Topic] = []
    if grouped:
        found = grouping.clusters(
            [meaning(t.example) for t in grouped], [t.count for t in grouped], encoder
        )
        topics = [_merged([grouped[i] for i in members], grouped[c]) for members, c in found]
    ranked = sorted(topics, key=lambda t: (-t.count, t.key))
    return Topics(ranked[:limit], left_out=sum(t.count for t in rest))
