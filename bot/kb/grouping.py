"""Short messages grouped by meaning, in the languages customers write (English, Lithuanian,
Latvian, Polish).

The only sentence encoder installed (``bot.kb.embeddings``, all-MiniLM-L6-v2) was trained on
English: it cuts Lithuanian, Latvian and Polish into English word pieces, and unrelated sentences
of those languages come out alike (different sentences of the source documents in
``shared/seeds``: 0.50 cosine similarity on average, a third of the pairs above the inbox's
threshold), so it would lump them into one group. No multilingual encoder ships in an installed
package, so:

- English messages (``is_english``: most of their words are common English words, by the
  frequency list of spaCy's lookup data, ``bot.kb.spelling.common_words``) are compared by
  the sentence encoder, at ``THRESHOLD``. Of the 5,000 BANKING77 messages of ``make
  bench-inbox`` two are taken for another language ("passcode retrieval", "Which ATMs accept
  Mastercard?") and grouped by n-grams; none of the seed documents' sentences in the tests is
  taken for English;
- every other message is compared by character n-grams (3 to 5 characters within words, of the
  folded text, TF-IDF weighted over the messages being grouped, ``ngram_vectors``), at
  ``NGRAM_THRESHOLD``. N-grams see shared word stems through the inflections of these languages
  ("užsakymas", "užsakymo", "uzsakyma") and a text typed without diacritics; they do not see
  synonyms. On the sentences of the source documents, pairs of different sentences are at 0.04
  on average (99% below 0.27, 0.2% at 0.5 or above); a sentence and a
  customer's rewording of it, shorter and typed without diacritics, are at 0.66 to 0.95, while
  different questions that share "klientų aptarnavimas" stay below 0.4
  (``tests/kb/test_grouping.py``): 0.5 keeps them apart. A rewording that changes most endings
  ("Pracownicy są bardzo dobrym przykładem klientów wewnętrznych." / "czy pracownicy to klienci
  wewnetrzni?", 0.46) stays a group of its own;
- without the encoder, every message is compared by character n-grams.

A group never mixes the two kinds: an English message and a Polish one are never one group.
Within each kind the grouping is greedy leader clustering (``leaders``).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from bot.kb.embeddings import SentenceEncoder
from bot.kb.spelling import WORD, common_words
from bot.kb.text import fold

THRESHOLD = 0.55  # sentence embeddings (bot.kb.inbox explains the choice)
NGRAM_THRESHOLD = 0.5  # character n-grams (above)
ENGLISH_SHARE = 0.6  # of a message's words common English words: the message is English
CHUNK = 512  # rows of similarities computed at once


def is_english(text: str) -> bool:
    """Whether most words of ``text`` are common English words (a text without words is
    English: nothing in it says otherwise)."""
    words = [w for w in WORD.findall(fold(text)) if w.isalpha()]
    if not words:
        return True
    common = common_words("en")
    return sum(1 for w in words if w in common) >= ENGLISH_SHARE * len(words)


def ngram_vectors(texts: Sequence[str]) -> Any:
    """Unit rows (a SciPy sparse matrix) of character n-gram TF-IDF weights of ``texts``,
    weighted over ``texts`` themselves."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=fold
    )
    return vectorizer.fit_transform([t or " " for t in texts])


def _similarities(vectors: Any, start: int, stop: int) -> np.ndarray:
    """Cosine similarities of rows ``start:stop`` with rows ``:stop`` (dense or sparse rows)."""
    block = vectors[start:stop] @ vectors[:stop].T
    return np.asarray(block.toarray() if hasattr(block, "toarray") else block)


def leaders(vectors: Any, threshold: float = THRESHOLD) -> np.ndarray:
    """Greedy leader clustering of unit rows (a NumPy array or a SciPy sparse matrix): for each
    row (in order) the index of its group's leader row. A row joins the most similar leader at
    ``threshold`` or above, else leads a new group."""
    count = vectors.shape[0]
    lead = np.empty(count, dtype=np.int64)
    rows: List[int] = []
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        block = _similarities(vectors, start, stop)
        for i in range(start, stop):
            if rows:
                similarity = block[i - start, rows]
                best = int(np.argmax(similarity))
                if similarity[best] >= threshold:
                    lead[i] = rows[best]
                    continue
            rows.append(i)
            lead[i] = i
    return lead


def central(vectors: Any, members: Sequence[int], weights: Sequence[float]) -> int:
    """The member nearest to the weighted mean of the members' rows."""
    chosen = vectors[list(members)]
    centre = np.asarray(chosen.T @ np.asarray(weights, dtype=np.float32)).ravel()
    return int(members[int(np.argmax(np.asarray(chosen @ centre).ravel()))])


def _cluster(
    vectors: Any, indexes: List[int], weights: Sequence[float], threshold: float
) -> List[Tuple[List[int], int]]:
    lead = leaders(vectors, threshold)
    members: dict = {}
    for row, leader in enumerate(lead):
        members.setdefault(int(leader), []).append(row)
    found = []
    for rows in members.values():
        middle = central(vectors, rows, [weights[indexes[r]] for r in rows])
        found.append(([indexes[r] for r in rows], indexes[middle]))
    return found


def clusters(
    texts: Sequence[str],
    weights: Sequence[float],
    encoder: Optional[SentenceEncoder],
    threshold: float = THRESHOLD,
) -> List[Tuple[List[int], int]]:
    """``texts`` (most important first) grouped by meaning: for each group the indexes of its
    texts, in order, and the index of its most central text (by ``weights``, how often each
    text was said). ``threshold`` is the sentence encoder's."""
    english = [i for i, t in enumerate(texts) if encoder is not None and is_english(t)]
    taken = set(english)
    other = [i for i in range(len(texts)) if i not in taken]
    found: List[Tuple[List[int], int]] = []
    if english and encoder is not None:
        vectors = encoder.encode([texts[i] for i in english])
        found += _cluster(vectors, english, weights, threshold)
    if other:
        found += _cluster(ngram_vectors([texts[i] for i in other]), other, weights, NGRAM_THRESHOLD)
    return found
