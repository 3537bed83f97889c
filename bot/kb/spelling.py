"""Spelling correction of a customer's words towards the vocabulary the assistant knows.

Customers type fast: "invoice corection", "card rejeced", "repair after waranty". Character
n-grams absorb some of it, but a short message with one misspelt key word often loses to an article
that shares the other words. A ``Speller`` knows the vocabulary of a set of texts (the articles'
titles and question variants, or the NLU training examples) and replaces a word that is neither in
that vocabulary nor a common word of the language by the closest word that is (one edit for words
of up to 7 letters, two for longer ones). On a tie the vocabulary wins, then the more frequent word:
"corection" becomes "correction" even if no article uses that form, and never "collection".
A typo that the vocabulary holds itself (question variants are written with typos on purpose) is
corrected too when the word one edit away is used ten times as often ("waranty" -> "warranty").

A common word is never changed ("pizza" stays "pizza" even though the shop sells none): the
frequency list of spaCy's lookup data (``spacy-lookups-data``, installed, nothing downloaded) says
which words are common. For a language without such a list, nothing is corrected: without it a
rare real word cannot be told from a typo. Only plain words are touched: a token with a digit, an
``@``, a slash or a dot inside (an order number, an e-mail address, a link) is kept as typed.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections import Counter
from importlib import resources
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.text import fold

# A word at least this probable (natural log, spaCy's lexeme_prob) is a real word, not a typo.
COMMON_LOG_PROB = -14.0
MIN_LENGTH = 5  # shorter words are left alone: too many real words are one edit apart
TYPO_RATIO = 10  # a known word this much rarer than one a single edit away is its typo
WORD = re.compile(r"\w+")
# A whitespace-separated token that is one plain word, perhaps with punctuation around it.
PLAIN = re.compile(r"(?<!\S)([\"'(\[]*)([^\W\d_]+)([\"')\].,!?;:]*)(?!\S)")
# Corrections a speller remembers (customers' words repeat: a word is looked up once).
REMEMBERED = 50_000


@functools.cache
def common_words(language: str) -> Dict[str, float]:
    """The language's common words and their log probabilities; empty when spaCy's lookup data
    has no frequency list for the language."""
    try:
        data = resources.files("spacy_lookups_data") / "data" / f"{language}_lexeme_prob.json.gz"
        with gzip.open(str(data), "rt", encoding="utf-8") as handle:
            probabilities = json.load(handle)
    except (FileNotFoundError, ModuleNotFoundError, OSError, ValueError):
        return {}
    common: Dict[str, float] = {}
    for word, probability in probabilities.items():
        if probability >= COMMON_LOG_PROB:
            word = fold(word)
            if word.isalpha():
                common[word] = max(probability, common.get(word, probability))
    return common


def vocabulary_of(texts: Iterable[str]) -> Counter:
    """How often each (folded) word occurs in ``texts``."""
    return Counter(w for t in texts for w in WORD.findall(fold(t)))


def _by_length(words: Iterable[str]) -> Dict[int, List[str]]:
    groups: Dict[int, List[str]] = {}
    for word in sorted(words):
        groups.setdefault(len(word), []).append(word)
    return groups


def _near(word: str, choices: Mapping[int, List[str]], limit: int) -> List[Tuple[str, int]]:
    """The ``choices`` at most ``limit`` edits (OSA distance) from ``word``, with the distance."""
    found: List[Tuple[str, int]] = []
    for length in range(len(word) - limit, len(word) + limit + 1):
        group = choices.get(length)
        if group:
            found += [
                (choice, int(distance))
                for choice, distance, _ in process.extract(
                    word, group, scorer=OSA.distance, score_cutoff=limit, limit=None
                )
            ]
    return found


class Speller:
    """Corrects misspelt words of a text towards a vocabulary (word -> how often it is used)."""

    def __init__(self, vocabulary: Mapping[str, int], language: str = "en") -> None:
        self.vocabulary = Counter(vocabulary)
        self._common = common_words(language)
        # The candidates by length: a word n edits away is at most n letters longer or shorter,
        # so a word is compared with those of about its length only (the same matches, found
        # in a fifth of the time).
        self._choices = _by_length(
            w for w in self.vocabulary if len(w) >= MIN_LENGTH - 1 and w.isalpha()
        )
        self._common_choices = _by_length(w for w in self._common if len(w) >= 2)
        self._remembered: Dict[str, Optional[str]] = {}

    def word(self, word: str) -> Optional[str]:
        """The correction of one folded word, or None to keep it."""
        try:
            return self._remembered[word]
        except KeyError:
            pass
        correction = self._correction(word)
        if len(self._remembered) >= REMEMBERED:
            self._remembered.clear()
        self._remembered[word] = correction
        return correction

    def _correction(self, word: str) -> Optional[str]:
        if not self._common or len(word) < MIN_LENGTH or not word.isalpha():
            return None
        if word in self._common:
            return None
        if word in self.vocabulary:
            return self._rare_variant(word)
        limit = 1 if len(word) <= 7 else 2
        # (edits, vocabulary first, more frequent first, the word)
        ranked: List[Tuple[int, int, float, str]] = [
            (distance, 0, -float(self.vocabulary[choice]), choice)
            for choice, distance in _near(word, self._choices, limit)
        ]
        ranked += [
            (distance, 1, -self._common[choice], choice)
            for choice, distance in _near(word, self._common_choices, limit)
        ]
        return min(ranked)[3] if ranked else None

    def _rare_variant(self, word: str) -> Optional[str]:
        """A typo that the vocabulary itself holds ("waranty", written on purpose in a question
        variant) is still a typo: the vocabulary word one edit away that is used at least
        ``TYPO_RATIO`` times as often, if there is one."""
        count = self.vocabulary[word]
        frequent = [
            (-self.vocabulary[choice], choice)
            for choice, _ in _near(word, self._choices, 1)
            if choice != word and self.vocabulary[choice] >= TYPO_RATIO * count
        ]
        return min(frequent)[1] if frequent else None

    def correct(self, text: str) -> str:
        """``text`` with its misspelt words replaced; everything else is kept as it was."""
        pieces = []
        end = 0
        for match in PLAIN.finditer(text):
            folded = fold(match.group(2))
            replacement = self.word(folded) if folded.isalpha() else None
            if replacement is not None:
                pieces.append(text[end : match.start(2)])
                pieces.append(replacement)
                end = match.end(2)
        if not pieces:
            return text
        pieces.append(text[end:])
        return "".join(pieces)
