"""Knowledge-base lint: problems an editor should fix before content goes live.

Errors block (``python -m bot kb lint`` exits non-zero); warnings are advice.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from sklearn.feature_extraction.text import TfidfVectorizer

from bot.kb.sources import ArticleSource, load_sources
from bot.kb.text import fold

MIN_QUESTIONS = 5
MAX_TITLE_CHARS = 80
NEAR_DUPLICATE = 0.9
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_SAFE_LINK = re.compile(r"^(https?://[^\s/]+\.[^\s]+|mailto:[^\s@]+@[^\s@]+|tel:\+?[\d ]+)$")


@dataclasses.dataclass(frozen=True)
class Problem:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def _where(source: ArticleSource) -> str:
    return str(source.path) if source.path else f"{source.language}/{source.article_id}"


def lint_sources(
    sources: Sequence[ArticleSource], *, required_languages: Sequence[str] = ("en",)
) -> List[Problem]:
    """Every problem found in ``sources`` (already parsed)."""
    problems: List[Problem] = []
    bodies: Dict[Tuple[str, str], ArticleSource] = {}
    questions: Dict[Tuple[str, str], ArticleSource] = {}
    for source in sources:
        where = _where(source)
        if not source.body.strip():
            problems.append(Problem("error", where, "the answer is empty"))
        else:
            key = (source.language, fold(source.body))
            if key in bodies:
                problems.append(Problem("error", where, f"same answer as {bodies[key].article_id}"))
            bodies.setdefault(key, source)
        if _HTML.search(source.body):
            problems.append(Problem("error", where, "the answer contains HTML; use Markdown"))
        for text, url in _LINK.findall(source.body):
            if not _SAFE_LINK.match(url):
                problems.append(
                    Problem("error", where, f"broken or unsafe link '{url}' (text '{text}')")
                )
        if source.status == "published" and not source.questions:
            problems.append(Problem("error", where, "a published article needs questions"))
        elif len(source.questions) < MIN_QUESTIONS:
            problems.append(
                Problem(
                    "warning",
                    where,
                    f"only {len(source.questions)} question variant(s); "
                    f"{MIN_QUESTIONS} or more help customers find it",
                )
            )
        if len(source.title) > MAX_TITLE_CHARS:
            problems.append(
                Problem("warning", where, f"the title is longer than {MAX_TITLE_CHARS} characters")
            )
        for question in source.questions:
            key = (source.language, fold(question))
            other = questions.get(key)
            if other is not None and other.article_id != source.article_id:
                problems.append(
                    Problem(
                        "error",
                        where,
                        f"question '{question}' is also a question of {other.article_id}",
                    )
                )
            questions.setdefault(key, source)
    problems.extend(_near_duplicates(sources))
    problems.extend(_missing_languages(sources, required_languages))
    return problems


def _near_duplicates(sources: Sequence[ArticleSource]) -> List[Problem]:
    """Questions so alike that they point two articles at the same customer wording."""
    problems: List[Problem] = []
    by_language: Dict[str, List[Tuple[str, str, ArticleSource]]] = defaultdict(list)
    for source in sources:
        for question in source.questions:
            by_language[source.language].append((fold(question), question, source))
    for items in by_language.values():
        if len(items) < 2:
            continue
        matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(
            [folded for folded, _, _ in items]
        )
        similarity = (matrix @ matrix.T).tocoo()
        for i, j, value in zip(similarity.row, similarity.col, similarity.data, strict=False):
            if i < j and value >= NEAR_DUPLICATE:
                (fi, qi, si), (fj, qj, sj) = items[i], items[j]
                if si.article_id != sj.article_id and fi != fj:
                    problems.append(
                        Problem(
                            "warning",
                            _where(sj),
                            f"question '{qj}' is nearly the same as '{qi}' of {si.article_id}",
                        )
                    )
    return problems


def _missing_languages(
    sources: Sequence[ArticleSource], required_languages: Sequence[str]
) -> List[Problem]:
    languages: Dict[str, set] = defaultdict(set)
    for source in sources:
        languages[source.article_id].add(source.language)
    return [
        Problem("warning", article_id, f"missing in {language}")
        for article_id, present in sorted(languages.items())
        for language in required_languages
        if language not in present
    ]


def lint_dir(kb_dir: Path, *, required_languages: Optional[Sequence[str]] = None) -> List[Problem]:
    """Parse and lint every article under ``kb_dir``."""
    sources, errors = load_sources(kb_dir)
    problems = [Problem("error", str(e.path or kb_dir), str(e).split(": ", 1)[-1]) for e in errors]
    return problems + lint_sources(sources, required_languages=required_languages or ("en",))
