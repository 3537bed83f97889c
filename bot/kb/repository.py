"""Reading and saving articles. Every save that changes something is a new version.

An article's row holds what customers are answered with; its versions hold every save, the
newest (the head) possibly a draft not published yet (``bot.kb.editing``). A new version is
numbered after the head.

Functions take the session as a keyword or first argument and never commit: the caller owns the
unit of work (``bot.db.session_scope``).
"""

from __future__ import annotations

import datetime as dt
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from bot.errors import ArticleInvalid, ArticleNotFound, VersionConflict
from bot.kb.models import (
    AUDIENCES,
    STATUSES,
    Article,
    ArticleQuestion,
    ArticleRating,
    ArticleSync,
    ArticleVersion,
    changed_fields,
    snapshot_fields,
)
from bot.timeutil import utcnow

MAX_QUESTION_CHARS = 500
MAX_TITLE_CHARS = 200  # the column's size


def _clean_questions(questions: Iterable[str]) -> List[str]:
    seen, cleaned = set(), []
    for question in questions:
        text = " ".join(str(question).split())[:MAX_QUESTION_CHARS]
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            cleaned.append(text)
    return cleaned


def find_article(session: Session, article_id: str, language: str) -> Optional[Article]:
    """The article, or None."""
    return session.execute(
        select(Article)
        .options(selectinload(Article.questions))
        .where(Article.article_id == article_id, Article.language == language)
    ).scalar_one_or_none()


class Answer(NamedTuple):
    """What a customer is answered with from an article's row."""

    body: str
    version: int
    status: str
    audience: str


# Built once: every knowledge-base answer reads it (the whole article with its question variants
# was two queries and an ORM object per variant, about a fifth of the action server's time).
_ANSWER = select(Article.body, Article.version, Article.status, Article.audience).where(
    Article.article_id == bindparam("article_id"), Article.language == bindparam("language")
)


def answer_of(session: Session, article_id: str, language: str) -> Optional[Answer]:
    """The article's answer as customers are shown it, or None when there is no such article."""
    row = session.execute(_ANSWER, {"article_id": article_id, "language": language}).one_or_none()
    return None if row is None else Answer(*row)


def titles_of(session: Session, article_ids: Sequence[str], language: str) -> Dict[str, str]:
    """The titles of those of ``article_ids`` that exist in ``language``, by article id: one
    query (the suggestions' buttons read them; each article with its question variants was two
    queries per article)."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(Article.article_id, Article.title).where(
            Article.article_id.in_(list(article_ids)), Article.language == language
        )
    )
    return {article_id: title for article_id, title in rows}


def get_article(session: Session, article_id: str, language: str) -> Article:
    """The article. Raises ArticleNotFound."""
    article = find_article(session, article_id, language)
    if article is None:
        raise ArticleNotFound(f"no article {article_id} in {language}")
    return article


def head_version(article: Article) -> Optional[ArticleVersion]:
    """The article's newest saved version (a draft, or what is published), or None."""
    return article.versions[-1] if article.versions else None


def conflict(article: Article, expected: int) -> VersionConflict:
    """The error for a save based on ``expected`` when the head is newer: who saved it, when."""
    head = head_version(article)
    if head is None:
        return VersionConflict(article.article_id, expected, article.version)
    return VersionConflict(
        article.article_id, expected, head.version, author=head.author, saved_at=head.created_at
    )


def list_articles(
    session: Session, *, language: Optional[str] = None, status: Optional[str] = None
) -> Sequence[Article]:
    """Articles ordered by language and id, optionally filtered."""
    query = select(Article).options(selectinload(Article.questions))
    if language is not None:
        query = query.where(Article.language == language)
    if status is not None:
        query = query.where(Article.status == status)
    return session.execute(query.order_by(Article.language, Article.article_id)).scalars().all()


def published_articles(
    session: Session, language: str, *, audience: str = "public"
) -> Sequence[Article]:
    """What customers may be shown in ``language``."""
    query = (
        select(Article)
        .options(selectinload(Article.questions))
        .where(
            Article.language == language,
            Article.status == "published",
            Article.audience == audience,
        )
        .order_by(Article.article_id)
    )
    return session.execute(query).scalars().all()


def kb_fingerprint(session: Session) -> Tuple[int, Optional[dt.datetime], int]:
    """A cheap value that changes whenever an article is saved: (count, last save, versions)."""
    count, last, versions = session.execute(
        select(
            func.count(Article.pk),
            func.max(Article.updated_at),
            func.coalesce(func.sum(Article.version), 0),
        )
    ).one()
    return int(count), last, int(versions)


def clean_fields(
    *,
    title: str,
    body: str,
    questions: Iterable[str],
    tags: Iterable[str],
    audience: str,
    status: str,
) -> dict:
    """The versioned fields as ``save_article`` stores them (``snapshot_fields`` of the saved
    article): spaces collapsed, repeated question variants dropped, tags lower-case. Raises
    ArticleInvalid for invalid values."""
    title = " ".join(title.split())
    body = body.strip()
    if not title:
        raise ArticleInvalid("the title is empty", "title")
    if len(title) > MAX_TITLE_CHARS:
        raise ArticleInvalid(f"the title is longer than {MAX_TITLE_CHARS} characters", "title")
    if not body:
        raise ArticleInvalid("the answer is empty", "body")
    if audience not in AUDIENCES:
        raise ArticleInvalid(f"audience must be one of {', '.join(AUDIENCES)}", "audience")
    if status not in STATUSES:
        raise ArticleInvalid(f"status must be one of {', '.join(STATUSES)}", "status")
    return {
        "title": title,
        "body": body,
        "questions": _clean_questions(questions),
        "tags": list(dict.fromkeys(" ".join(t.split()).lower() for t in tags if t.strip())),
        "audience": audience,
        "status": status,
    }


def save_article(
    session: Session,
    *,
    article_id: str,
    language: str,
    title: str,
    body: str,
    questions: Iterable[str],
    tags: Iterable[str] = (),
    audience: str = "public",
    status: str = "draft",
    author: str,
    note: Optional[str] = None,
    expected_version: Optional[int] = None,
) -> Article:
    """Create the article or update it; a change makes a new version with author and time.

    ``expected_version`` is the version the author started from (the head): if somebody saved
    since, VersionConflict is raised and nothing is written. Saving what the article's row holds
    changes nothing. Raises ArticleInvalid for invalid values.
    """
    after = clean_fields(
        title=title, body=body, questions=questions, tags=tags, audience=audience, status=status
    )
    article = find_article(session, article_id, language)
    now = utcnow()
    if article is None:
        if expected_version is not None and expected_version != 0:
            raise VersionConflict(article_id, expected_version, 0)
        article = Article(article_id=article_id, language=language, version=1, created_at=now)
        session.add(article)
        before = None
    else:
        head = head_version(article)
        head_number = head.version if head is not None else article.version
        if expected_version is not None and expected_version != head_number:
            raise conflict(article, expected_version)
        before = snapshot_fields(article)
        if before == after:
            return article
        article.version = head_number + 1
    changes = changed_fields(before, after)
    article.title = after["title"]
    article.body = after["body"]
    article.tags = after["tags"]
    article.audience = audience
    article.status = status
    article.updated_at = now
    article.updated_by = author
    if before is None or "questions" in changes:
        article.questions = [
            ArticleQuestion(text=text, position=i) for i, text in enumerate(after["questions"])
        ]
    article.versions.append(
        ArticleVersion(
            version=article.version,
            author=author,
            changes=changes,
            note=note,
            created_at=now,
            **after,
        )
    )
    session.flush()
    return article


def revise_article(
    session: Session, article_id: str, language: str, *, author: str, **changes: object
) -> Article:
    """Save the article with some fields changed (``body=...``), the rest as they are.

    Raises ArticleNotFound, and what ``save_article`` raises.
    """
    article = get_article(session, article_id, language)
    fields = {
        "title": article.title,
        "body": article.body,
        "questions": article.question_texts,
        "tags": article.tags,
        "audience": article.audience,
        "status": article.status,
    }
    fields.update(changes)
    return save_article(
        session,
        article_id=article_id,
        language=language,
        author=author,
        **fields,
    )


def article_versions(session: Session, article_id: str, language: str) -> List[ArticleVersion]:
    """Every saved version of the article, oldest first. Raises ArticleNotFound."""
    article = get_article(session, article_id, language)
    return list(article.versions)


def sync_records(session: Session) -> Dict[int, ArticleSync]:
    """Where each article stood at its last sync with its file (``bot.kb.sync``), by article pk."""
    return {row.article_pk: row for row in session.execute(select(ArticleSync)).scalars()}


def record_sync(session: Session, article: Article, file_hash: Optional[str]) -> ArticleSync:
    """Remember that ``article``, as it is now, is in step with a file whose text hashes to
    ``file_hash`` (None: with no file, the article archived because its file was removed)."""
    session.flush()  # a new article gets its pk
    row = session.get(ArticleSync, article.pk)
    if row is None:
        row = ArticleSync(article_pk=article.pk)
        session.add(row)
    row.file_hash = file_hash
    row.article_version = article.version
    row.synced_at = utcnow()
    session.flush()
    return row


def record_rating(
    session: Session,
    *,
    conversation_id: str,
    article_id: str,
    language: str,
    version: int,
    helpful: bool,
) -> ArticleRating:
    """Store a customer's "Did this help?" answer."""
    rating = ArticleRating(
        conversation_id=conversation_id,
        article_id=article_id,
        language=language,
        version=version,
        helpful=helpful,
    )
    session.add(rating)
    session.flush()
    return rating


def unhelpful_ratings(session: Session, conversation_id: str) -> int:
    """How many answers this conversation rated "didn't help"."""
    return int(
        session.execute(
            select(func.count(ArticleRating.pk)).where(
                ArticleRating.conversation_id == conversation_id,
                ArticleRating.helpful.is_(False),
            )
        ).scalar_one()
    )
