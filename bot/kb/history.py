"""What editors read about articles: the differences between two versions, how customers rated
them ("Did this help?"), and the list of articles with search and filters.

A diff is plain data (which lines were added or removed), never markup: the page shows it as
text, so nothing an author wrote is ever read as HTML.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.kb.editing import head_of
from bot.kb.models import Article, ArticleRating, ArticleVersion
from bot.kb.text import fold

DIFF_CONTEXT = 3  # unchanged lines shown around a change
STATES = ("published", "draft", "changed")  # live as is; not live; live with a newer draft
HELPFULNESS = ("low", "high", "unrated")
LOW_HELPFULNESS = 0.5  # an article helped fewer than half of those who rated it


def _lines(older: str, newer: str) -> List[Dict[str, str]]:
    """The changed lines with a little context: op "=" (unchanged), "-", "+", or "@" (a jump)."""
    lines: List[Dict[str, str]] = []
    diff = difflib.unified_diff(older.splitlines(), newer.splitlines(), lineterm="", n=DIFF_CONTEXT)
    for line in list(diff)[2:]:  # the two file headers
        if line.startswith("@@"):
            lines.append({"op": "@", "text": line})
        else:
            lines.append({"op": "=" if line[:1] == " " else line[:1], "text": line[1:]})
    return lines


def _list_change(older: Sequence[str], newer: Sequence[str]) -> Dict[str, List[str]]:
    return {
        "added": [item for item in newer if item not in older],
        "removed": [item for item in older if item not in newer],
    }


def diff(older: ArticleVersion, newer: ArticleVersion) -> Dict[str, Any]:
    """What changed from ``older`` to ``newer``, field by field (only the fields that did): the
    answer and title as lines added and removed, question variants and tags as items."""
    changes: Dict[str, Any] = {}
    for field in ("title", "body"):
        before, after = getattr(older, field), getattr(newer, field)
        if before != after:
            changes[field] = _lines(before, after)
    for field in ("questions", "tags"):
        before, after = list(getattr(older, field) or []), list(getattr(newer, field) or [])
        if before != after:
            changes[field] = {
                **_list_change(before, after),
                "reordered": sorted(before) == sorted(after),
            }
    for field in ("audience", "status"):
        before, after = getattr(older, field), getattr(newer, field)
        if before != after:
            changes[field] = {"before": before, "after": after}
    return {"from": older.version, "to": newer.version, "changes": changes}


@dataclasses.dataclass(frozen=True)
class Ratings:
    """Customers' "Did this help?" answers to an article (or one of its versions)."""

    helpful: int = 0
    unhelpful: int = 0

    @property
    def total(self) -> int:
        return self.helpful + self.unhelpful

    @property
    def share(self) -> Optional[float]:
        """The share that helped, None when nobody rated it."""
        return round(self.helpful / self.total, 3) if self.total else None

    def as_dict(self) -> Dict[str, Any]:
        return {"helpful": self.helpful, "unhelpful": self.unhelpful, "share": self.share}


def ratings(session: Session, *, language: Optional[str] = None) -> Dict[Tuple[str, str], Ratings]:
    """Ratings per article: (article id, language) -> Ratings."""
    query = select(
        ArticleRating.article_id,
        ArticleRating.language,
        func.count(ArticleRating.pk).filter(ArticleRating.helpful.is_(True)),
        func.count(ArticleRating.pk),
    ).group_by(ArticleRating.article_id, ArticleRating.language)
    if language is not None:
        query = query.where(ArticleRating.language == language)
    return {
        (article_id, lang): Ratings(int(helped), int(total) - int(helped))
        for article_id, lang, helped, total in session.execute(query)
    }


def version_ratings(session: Session, article_id: str, language: str) -> Dict[int, Ratings]:
    """Ratings of each version of one article: version -> Ratings."""
    query = (
        select(
            ArticleRating.version,
            func.count(ArticleRating.pk).filter(ArticleRating.helpful.is_(True)),
            func.count(ArticleRating.pk),
        )
        .where(ArticleRating.article_id == article_id, ArticleRating.language == language)
        .group_by(ArticleRating.version)
    )
    return {
        int(version): Ratings(int(helped), int(total) - int(helped))
        for version, helped, total in session.execute(query)
    }


def state_of(article: Article, head: ArticleVersion) -> str:
    """ "published" (customers get the newest version), "changed" (published, with a newer
    draft) or "draft" (not published)."""
    if article.status != "published":
        return "draft"
    return "published" if article.version == head.version else "changed"


def relevance(article: Article, head: ArticleVersion, words: Sequence[str]) -> int:
    """How well the words find the article (as the editor is writing it, and as it is
    published): 3 when all are in its id or title, 2 in its question variants, 1 anywhere (the
    answer too), 0 when some word is nowhere."""
    places = [
        [article.article_id, head.title, article.title],
        [*(head.questions or []), *article.question_texts],
        [head.body, article.body],
    ]
    seen = ""
    for score, texts in zip((3, 2, 1), places, strict=True):
        seen += " " + fold(" ".join(texts))
        if all(word in seen for word in words):
            return score
    return 0


def find(
    session: Session,
    *,
    q: Optional[str] = None,
    language: Optional[str] = None,
    tag: Optional[str] = None,
    state: Optional[str] = None,
    helpfulness: Optional[str] = None,
) -> List[Tuple[Article, ArticleVersion, Ratings]]:
    """Articles with their head and ratings, filtered: ``q`` (words anywhere), ``language``,
    ``tag``, ``state`` (one of STATES; "draft" also finds published articles with a newer
    draft) and ``helpfulness`` (one of HELPFULNESS: "low" helped fewer than half of those who
    rated it). With ``q``, the best matches come first."""
    articles = session.execute(
        select(Article)
        .options(selectinload(Article.questions), selectinload(Article.versions))
        .where(*([Article.language == language] if language else []))
        .order_by(Article.language, Article.article_id)
    ).scalars()
    rated = ratings(session, language=language)
    words = fold(q or "").split()
    found = []
    scores: Dict[Tuple[str, str], int] = {}
    for article in articles:
        head = head_of(article)
        stars = rated.get((article.article_id, article.language), Ratings())
        current = state_of(article, head)
        if state == "draft" and current == "published":
            continue
        if state in ("published", "changed") and current != state:
            continue
        if tag and tag.lower() not in (head.tags or []) and tag.lower() not in (article.tags or []):
            continue
        if helpfulness == "unrated" and stars.total:
            continue
        low = stars.share is not None and stars.share < LOW_HELPFULNESS
        if helpfulness == "low" and not low:
            continue
        if helpfulness == "high" and (stars.share is None or low):
            continue
        if words:
            scores[(article.language, article.article_id)] = relevance(article, head, words)
            if not scores[(article.language, article.article_id)]:
                continue
        found.append((article, head, stars))
    if words:
        found.sort(key=lambda item: -scores[(item[0].language, item[0].article_id)])
    return found


__all__ = ["HELPFULNESS", "STATES", "Ratings", "diff", "find", "ratings", "state_of"]
