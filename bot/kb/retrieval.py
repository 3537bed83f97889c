"""Retrieval over the published articles: which articles does a customer's text ask for?

Every title and question variant of a published article is an entry. A query is compared with the
entries in two ways, each giving every article its best entry's cosine similarity:
- lexical: TF-IDF vectors of character n-grams (robust to typos) and words;
- semantic: sentence embeddings (``bot.kb.embeddings``), which match paraphrases that share no
  words ("when do I get my money back" / "refund timing"). An article's answer passages count
  too: its semantic score mixes its best entry with its best passage (``PASSAGE_WEIGHT``), so a
  question about a detail of the answer that no question variant names still finds it.
The query's misspelt words are first corrected towards the entries' vocabulary
(``bot.kb.spelling``).
``scope_gap`` compares the query with examples of questions the knowledge base does not answer.
``LiveIndex`` rebuilds the index when the database changes, so a new article or question variant
is findable within seconds, before any retraining.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.kb import repository
from bot.kb.embeddings import SentenceEncoder, default_encoder
from bot.kb.scope import out_of_scope_examples
from bot.kb.spelling import Speller, vocabulary_of
from bot.kb.text import fold, passages

# A text and its embedding, computed by another process (the Rasa server).
Known = Tuple[str, np.ndarray]

logger = logging.getLogger(__name__)

CHAR_WEIGHT = 0.6  # share of the character n-gram similarity in an entry's score
# Share of the best answer passage in an article's semantic score; tuned on eval/dev.yml with the
# thresholds (python -m bot.tuning): 0.5 ranked the right article first for 81 % of the covered
# dev questions, against 77 % for the titles and question variants alone.
PASSAGE_WEIGHT = 0.5
SCOPE_NEIGHBOURS = 3  # how many nearest examples on each side the scope gap averages
WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True)
class Candidate:
    """An article and how well it matches a text (0..1)."""

    article_id: str
    score: float


@dataclasses.dataclass(frozen=True)
class Entry:
    article_id: str
    text: str


class Similarities:
    """The cosine similarity of a text to every entry, by a TF-IDF ``vectorizer`` fitted on the
    entries' texts (``fitted``, its matrix).

    The same figures as ``fitted @ vectorizer.transform([text]).T``, for a fifth of the time:
    - the matrix is stored transposed (a row per n-gram or word), so a query's few features pick
      their rows, where entries x query walked every entry's features (1.2 ms a query of 2,241
      entries, a fifth of the action server's time under load);
    - the query's weights are computed here (the vectorizer's analyzer, sublinear counts, idf,
      unit length), as ``transform`` computes them; sklearn's checks and its idf recomputed from
      a diagonal matrix on every call took 0.6 ms of a one-text ``transform``.
    """

    def __init__(self, vectorizer: TfidfVectorizer, fitted: sparse.spmatrix) -> None:
        if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
            raise ValueError("Similarities computes sublinear TF-IDF with unit length only")
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary: Dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        by_feature = sparse.csr_matrix(fitted.T)
        self.indptr, self.indices, self.data = (
            by_feature.indptr,
            by_feature.indices,
            by_feature.data,
        )
        self.entries = fitted.shape[0]

    def __call__(self, text: str) -> np.ndarray:
        counts = Counter(f for f in self.analyze(text) if f in self.vocabulary)
        if not counts:
            return np.zeros(self.entries)
        features = np.fromiter((self.vocabulary[f] for f in counts), np.int64, len(counts))
        weights = (1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))) * (
            self.idf[features]
        )
        weights /= np.sqrt(weights @ weights)
        # every stored (entry, value) of the query's features, one run of rows after another
        starts = self.indptr[features]
        lengths = self.indptr[features + 1] - starts
        stored = np.arange(lengths.sum()) + np.repeat(
            starts - np.cumsum(lengths) + lengths, lengths
        )
        return np.bincount(
            self.indices[stored],
            weights=self.data[stored] * np.repeat(weights, lengths),
            minlength=self.entries,
        )


class GroupMax:
    """The largest of each owner's scores, clipped to 0..1 (0 for an owner without any):
    ``np.maximum.at`` in one pass over the scores sorted by owner (``reduceat``), an eighth of
    its time (18 against 133 µs for 2,241 entries of 150 articles)."""

    def __init__(self, owners: np.ndarray, size: int) -> None:
        self.size = size
        self.order = np.argsort(owners, kind="stable")
        ordered = owners[self.order]
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(first)
        self.groups = ordered[self.starts]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        best = np.zeros(self.size)
        if len(self.starts):
            clipped = np.clip(scores[self.order], 0.0, 1.0)
            best[self.groups] = np.maximum.reduceat(clipped, self.starts)
        return best


class KnowledgeIndex:
    """A TF-IDF index over entries (article id, text) of one language."""

    def __init__(
        self,
        entries: Sequence[Entry],
        *,
        language: str = "en",
        encoder: Optional[SentenceEncoder] = None,
        out_of_scope: Sequence[str] = (),
        passages: Sequence[Entry] = (),
    ) -> None:
        self.language = language
        self.encoder = encoder
        self.entries = [e for e in entries if fold(e.text)]
        self.article_ids = sorted({e.article_id for e in self.entries})
        self._article_index = {a: i for i, a in enumerate(self.article_ids)}
        self._entry_article = np.array(
            [self._article_index[e.article_id] for e in self.entries], dtype=np.int64
        )
        # Answer passages of the indexed articles (semantic retrieval only).
        self.passages = [
            p for p in passages if p.article_id in self._article_index and fold(p.text)
        ]
        self._passage_article = np.array(
            [self._article_index[p.article_id] for p in self.passages], dtype=np.int64
        )
        texts = [fold(e.text) for e in self.entries]
        self.speller = Speller(vocabulary_of(texts), language=language)
        # Which entries use each word, and each article's number of entries: which articles a
        # one-word topic belongs to (``sharing``).
        self._entries_with: Dict[str, Set[int]] = {}
        self._entry_counts: Dict[str, int] = {}
        for number, (entry, folded) in enumerate(zip(self.entries, texts, strict=True)):
            self._entry_counts[entry.article_id] = self._entry_counts.get(entry.article_id, 0) + 1
            for word in set(WORD.findall(folded)):
                self._entries_with.setdefault(word, set()).add(number)
        self._char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1
        )
        self._word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            stop_words="english" if language == "en" else None,
            token_pattern=r"(?u)\b\w+\b",
        )
        self._char_similarities: Optional[Similarities] = None
        self._word_similarities: Optional[Similarities] = None
        if texts:
            self._char_similarities = Similarities(self._char, self._char.fit_transform(texts))
            try:
                self._word_similarities = Similarities(self._word, self._word.fit_transform(texts))
            except ValueError:  # only stop words in every entry
                self._word_similarities = None
        self._entry_best = GroupMax(self._entry_article, len(self.article_ids))
        self._passage_best = GroupMax(self._passage_article, len(self.article_ids))
        self._dense = (
            encoder.encode([e.text for e in self.entries])
            if encoder is not None and texts
            else None
        )
        self._passage_dense = (
            encoder.encode([p.text for p in self.passages])
            if encoder is not None and self.passages
            else None
        )
        self._out_of_scope = (
            encoder.encode(list(out_of_scope))
            if encoder is not None and texts and len(out_of_scope) >= SCOPE_NEIGHBOURS
            else None
        )

    def __len__(self) -> int:
        return len(self.article_ids)

    def _per_article(self, entry_scores: np.ndarray) -> Dict[str, float]:
        best = self._entry_best(entry_scores)
        return {a: float(best[i]) for i, a in enumerate(self.article_ids)}

    def _semantic(self, query: np.ndarray) -> Dict[str, float]:
        """Each article's best entry, mixed with its best answer passage where it has any."""
        best = self._entry_best(self._dense @ query)
        if self._passage_dense is not None:
            passage = self._passage_best(self._passage_dense @ query)
            has = np.zeros(len(self.article_ids), dtype=bool)
            has[self._passage_article] = True
            best = np.where(has, (1 - PASSAGE_WEIGHT) * best + PASSAGE_WEIGHT * passage, best)
        return {a: float(best[i]) for i, a in enumerate(self.article_ids)}

    def _vector(self, corrected: str, known: Optional[Known]) -> np.ndarray:
        """The embedding of the (spelling-corrected) text: ``known`` when it is that text's,
        as the Rasa server hands it over (``bot.kb.embeddings.pack``), else computed."""
        query = corrected[:2000]
        if known is not None and known[0] == query:
            return known[1]
        assert self.encoder is not None
        return self.encoder.encode([query])[0]

    def signals(self, text: str, known: Optional[Known] = None) -> Dict[str, Dict[str, float]]:
        """Per-article scores in 0..1 by method: ``lexical`` and (if available) ``semantic``.
        ``known``: a text and its embedding computed elsewhere (used if it is this text's)."""
        text = self.speller.correct(text)
        folded = fold(text)
        if not folded or self._char_similarities is None:
            return {}
        entry_scores = CHAR_WEIGHT * self._char_similarities(folded)
        if self._word_similarities is not None:
            entry_scores = entry_scores + (1 - CHAR_WEIGHT) * self._word_similarities(folded)
        result = {"lexical": self._per_article(entry_scores)}
        if self._dense is not None and self.encoder is not None:
            result["semantic"] = self._semantic(self._vector(text, known))
        return result

    def scope_gap(self, text: str, known: Optional[Known] = None) -> Optional[float]:
        """How much closer in meaning ``text`` is to the out-of-scope examples than to the
        articles' titles and questions: the mean cosine similarity of its nearest few on each
        side, subtracted. Above 0 it looks more like what we do not answer; None when unknown
        (no embeddings or no examples)."""
        if self._out_of_scope is None or self._dense is None or self.encoder is None:
            return None
        if not fold(text):
            return None
        query = self._vector(self.speller.correct(text), known)

        def nearest(matrix: np.ndarray) -> float:
            similarities = matrix @ query
            k = min(SCOPE_NEIGHBOURS, len(similarities))
            return float(np.partition(similarities, -k)[-k:].mean())

        return round(nearest(self._out_of_scope) - nearest(self._dense), 4)

    def sharing(self, text: str) -> Dict[str, float]:
        """The articles that use every word of ``text`` (a plural's "s" aside), each with the share
        of its title and question variants that do: how central the words are to it.

        A one-word message that several articles share ("refund", "warranty") is a topic, not a
        question: the caller offers the articles it is most central to.
        """
        words = WORD.findall(fold(self.speller.correct(text)))
        if not words:
            return {}

        nothing: Set[int] = set()

        def using(word: str) -> Set[int]:
            """The entries that use ``word``, its plural or (a plural) its singular."""
            entries = self._entries_with
            found = entries.get(word, nothing) | entries.get(f"{word}s", nothing)
            if word.endswith("s"):
                found |= entries.get(word[:-1], nothing)
            return found

        common = using(words[0])
        for word in words[1:]:
            common &= using(word)
        hits = Counter(self.entries[number].article_id for number in common)
        return {
            article: round(hits[article] / count, 4)
            for article, count in self._entry_counts.items()
            if hits[article]
        }

    def scores(self, text: str) -> Dict[str, float]:
        """Every article's retrieval score for ``text``: the mean of the methods (0..1)."""
        signals = self.signals(text)
        if not signals:
            return {}
        return {
            a: sum(method[a] for method in signals.values()) / len(signals)
            for a in self.article_ids
        }

    def search(self, text: str, k: int = 5) -> List[Candidate]:
        """The ``k`` best-matching articles, best first."""
        ranked = sorted(self.scores(text).items(), key=lambda item: (-item[1], item[0]))
        return [Candidate(a, round(s, 4)) for a, s in ranked[:k] if s > 0]


def passages_from_articles(articles: Sequence) -> List[Entry]:
    """The answer passages of each article (``bot.kb.text.passages`` of its body)."""
    return [Entry(a.article_id, text) for a in articles for text in passages(a.body)]


def entries_from_articles(articles: Sequence) -> List[Entry]:
    """The title and every question variant of each article."""
    entries: List[Entry] = []
    for article in articles:
        entries.append(Entry(article.article_id, article.title))
        entries.extend(Entry(article.article_id, q) for q in article.question_texts)
    return entries


class LiveIndex:
    """Per-language indexes over the published articles, rebuilt when the database changes.

    The database is asked for its fingerprint at most every ``refresh_seconds``; a change
    rebuilds the index. Safe to share between threads.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        encoder: Optional[SentenceEncoder] = None,
        use_embeddings: bool = True,
    ) -> None:
        self.engine = engine
        self.encoder = (
            encoder if encoder is not None else (default_encoder() if use_embeddings else None)
        )
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._indexes: Dict[str, Tuple[object, KnowledgeIndex]] = {}
        self._checked: Dict[str, float] = {}

    def index(self, language: str) -> KnowledgeIndex:
        """The current index for ``language``."""
        with self._lock:
            now = self._clock()
            cached = self._indexes.get(language)
            if cached is not None and now - self._checked.get(language, 0) < self.refresh_seconds:
                return cached[1]
            with session_scope(self.engine) as session:
                fingerprint = repository.kb_fingerprint(session)
                if cached is None or cached[0] != fingerprint:
                    articles = repository.published_articles(session, language)
                    index = KnowledgeIndex(
                        entries_from_articles(articles),
                        language=language,
                        encoder=self.encoder,
                        out_of_scope=out_of_scope_examples(language),
                        passages=passages_from_articles(articles),
                    )
                    self._indexes[language] = (fingerprint, index)
                    if self.encoder is not None:
                        self.encoder.save()
                    logger.info("knowledge index for %s rebuilt: %d articles", language, len(index))
            self._checked[language] = now
            return self._indexes[language][1]

    def search(self, text: str, language: str, k: int = 5) -> List[Candidate]:
        return self.index(language).search(text, k)
