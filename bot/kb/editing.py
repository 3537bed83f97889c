"""The editor's work on articles: drafts beside what is published, publishing, rolling back.

What customers are answered with is the article's row (``kb_articles``); every save is a version
(``kb_article_versions``), never changed or deleted. A draft of a published article is a new
version that leaves the row alone, so customers keep the published answer until the draft is
published; a draft of an article nobody sees yet updates the row too. The newest version, the
head, is what the editor works on, and every save names the head it started from: when somebody
saved since, VersionConflict (saying who and when) and nothing is written. Publishing and
rolling back add a version too, so the history says who published what, and when.

Functions take the session first and never commit (``bot.kb.repository``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import ArticleInvalid, ArticleNotFound, VersionConflict
from bot.kb import repository
from bot.kb.models import (
    AUDIENCES,
    Article,
    ArticleQuestion,
    ArticleVersion,
    changed_fields,
    snapshot_fields,
)
from bot.kb.sources import ARTICLE_ID_RE, MAX_ID_CHARS
from bot.kb.text import clean_text
from bot.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_ID = MAX_ID_CHARS
MAX_TITLE = repository.MAX_TITLE_CHARS
MAX_BODY = 20_000
MAX_QUESTION = repository.MAX_QUESTION_CHARS
MAX_QUESTIONS = 200
MAX_TAG = 40
MAX_TAGS = 20
MAX_NOTE = 500


@dataclasses.dataclass(frozen=True)
class Content:
    """What an editor writes in an article (everything versioned but the status)."""

    title: str
    body: str
    questions: Tuple[str, ...] = ()
    tags: Tuple[str, ...] = ()
    audience: str = "public"

    @classmethod
    def of(cls, version: ArticleVersion) -> Content:
        return cls(
            title=version.title,
            body=version.body,
            questions=tuple(version.questions or ()),
            tags=tuple(version.tags or ()),
            audience=version.audience,
        )

    def snapshot(self, status: str) -> Dict[str, Any]:
        """The version's fields as ``bot.kb.models.snapshot_fields`` has them."""
        return {
            "title": self.title,
            "body": self.body,
            "questions": list(self.questions),
            "tags": list(self.tags),
            "audience": self.audience,
            "status": status,
        }


def _text(value: str, field: str, what: str, limit: int) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ArticleInvalid(f"{what} is not valid text", field) from error
    value = clean_text(value)
    if len(value) > limit:
        raise ArticleInvalid(f"{what} is longer than {limit:,} characters", field)
    return value


def clean_question(text: str) -> str:
    """A customer's question as the bot would read it. Raises ArticleInvalid when it is empty
    or not valid text."""
    question = _one_line(_text(text, "question", "the question", 100_000))
    if not question:
        raise ArticleInvalid("write a customer's question first", "question")
    return question


def _one_line(value: str) -> str:
    return " ".join(value.split())


def check_article_id(article_id: str) -> str:
    """A new article's id. Raises ArticleInvalid unless lower-case words joined by hyphens."""
    if len(article_id) > MAX_ID or not ARTICLE_ID_RE.match(article_id):
        raise ArticleInvalid(
            "the id must be lower-case letters and digits in words joined by hyphens "
            f"(like return-policy), at most {MAX_ID} characters",
            "article_id",
        )
    return article_id


def content(
    *,
    title: str,
    body: str,
    questions: Iterable[str] = (),
    tags: Iterable[str] = (),
    audience: str = "public",
) -> Content:
    """The editor's fields, normalised (blank question variants and tags dropped, spaces
    collapsed, tags lower-case). Raises ArticleInvalid saying which field is wrong and why: an
    empty title or answer, a question variant that repeats another, anything too long."""
    title = _one_line(_text(title, "title", "the title", MAX_TITLE))
    if not title:
        raise ArticleInvalid("the title is empty", "title")
    body = _text(body, "body", "the answer", MAX_BODY)
    if not body:
        raise ArticleInvalid("the answer is empty", "body")
    cleaned: List[str] = []
    seen: Dict[str, int] = {}
    for raw in questions:
        number = len(cleaned) + 1
        question = _one_line(_text(raw, "questions", f"question variant {number}", MAX_QUESTION))
        if not question:
            continue
        key = question.casefold()
        if key in seen:
            raise ArticleInvalid(
                f"question variant {number} repeats variant {seen[key]}: “{question}”",
                "questions",
            )
        seen[key] = number
        cleaned.append(question)
    if len(cleaned) > MAX_QUESTIONS:
        raise ArticleInvalid(f"at most {MAX_QUESTIONS} question variants", "questions")
    labels: List[str] = []
    for raw in tags:
        tag = _one_line(_text(raw, "tags", "a tag", MAX_TAG)).lower()
        if tag and tag not in labels:
            labels.append(tag)
    if len(labels) > MAX_TAGS:
        raise ArticleInvalid(f"at most {MAX_TAGS} tags", "tags")
    if audience not in AUDIENCES:
        raise ArticleInvalid(f"the audience must be one of {', '.join(AUDIENCES)}", "audience")
    return Content(title, body, tuple(cleaned), tuple(labels), audience)


def head_of(article: Article) -> ArticleVersion:
    """The article's newest version. Every article has one: each save writes a version."""
    head = repository.head_version(article)
    if head is None:  # an article written around the repository: give it its first version
        head = ArticleVersion(
            version=article.version,
            author=article.updated_by,
            changes=[],
            created_at=article.updated_at,
            **snapshot_fields(article),
        )
        article.versions.append(head)
    return head


def is_live(article: Article) -> bool:
    """Whether customers are answered with the article (published, for the public)."""
    return article.status == "published" and article.audience == "public"


def create(
    session: Session, *, article_id: str, language: str, content: Content, author: str
) -> Article:
    """A new article, saved as a draft (version 1). Raises ArticleInvalid for a bad or taken
    id."""
    check_article_id(article_id)
    if repository.find_article(session, article_id, language) is not None:
        raise ArticleInvalid(
            f"an article {article_id} exists already in {language}: open it instead",
            "article_id",
        )
    return repository.save_article(
        session,
        article_id=article_id,
        language=language,
        author=author,
        expected_version=0,
        **content.snapshot("draft"),
    )


def _add_version(
    session: Session,
    article: Article,
    content: Content,
    *,
    status: str,
    author: str,
    base_version: int,
    note: Optional[str] = None,
) -> ArticleVersion:
    head = head_of(article)
    if base_version != head.version:
        raise repository.conflict(article, base_version)
    note = _one_line(_text(note, "note", "the note", MAX_NOTE)) or None if note else None
    after = content.snapshot(status)
    published_now = (
        head.status == "published"
        and article.status == "published"
        and article.version == head.version
    )
    if Content.of(head) == content and (status == "draft" or published_now):
        return head  # nothing new to save, or published already
    now = utcnow()
    version = ArticleVersion(
        version=head.version + 1,
        author=author,
        changes=changed_fields(Content.of(head).snapshot(head.status), after),
        note=note,
        created_at=now,
        **after,
    )
    article.versions.append(version)
    if status == "published" or article.status != "published":
        # What customers see changes only when publishing (or when they see nothing yet).
        if list(article.question_texts) != after["questions"]:
            article.questions = [
                ArticleQuestion(text=text, position=i) for i, text in enumerate(after["questions"])
            ]
        article.title, article.body = content.title, content.body
        article.tags, article.audience = list(content.tags), content.audience
        article.status = "published" if status == "published" else article.status
        article.version = version.version
        article.updated_at, article.updated_by = now, author
    try:
        session.flush()
    except IntegrityError as error:  # somebody added the same version number meanwhile
        session.rollback()
        again = repository.get_article(session, article.article_id, article.language)
        raise repository.conflict(again, base_version) from error
    logger.info(
        "article %s/%s v%d saved (%s)",
        article.language,
        article.article_id,
        version.version,
        status,
    )
    return version


def save_draft(
    session: Session,
    *,
    article_id: str,
    language: str,
    content: Content,
    author: str,
    base_version: int,
    note: Optional[str] = None,
) -> ArticleVersion:
    """Save the editor's text as a draft based on ``base_version``; customers keep what is
    published. Saving what the head holds changes nothing. Raises ArticleNotFound and
    VersionConflict."""
    article = repository.get_article(session, article_id, language)
    return _add_version(
        session, article, content, status="draft", author=author, base_version=base_version,
        note=note,
    )  # fmt: skip


def publish(
    session: Session,
    *,
    article_id: str,
    language: str,
    author: str,
    base_version: int,
    content: Optional[Content] = None,
    note: Optional[str] = None,
) -> ArticleVersion:
    """Publish ``content`` (or the head, a draft) as a new version: customers are answered with
    it from the next message on. Raises ArticleNotFound and VersionConflict."""
    article = repository.get_article(session, article_id, language)
    chosen = content if content is not None else Content.of(head_of(article))
    return _add_version(
        session, article, chosen, status="published", author=author, base_version=base_version,
        note=note,
    )  # fmt: skip


def roll_back(
    session: Session,
    *,
    article_id: str,
    language: str,
    to_version: int,
    author: str,
    base_version: int,
    published: Optional[bool] = None,
) -> ArticleVersion:
    """A new version with the content of ``to_version``: published when ``published`` (by
    default, when the article is published now: a rollback undoes a bad change at once), else a
    draft. Raises ArticleNotFound (also for an unknown version) and VersionConflict."""
    article = repository.get_article(session, article_id, language)
    target = version_of(article, to_version)
    if published is None:
        published = article.status == "published"
    return _add_version(
        session,
        article,
        Content.of(target),
        status="published" if published else "draft",
        author=author,
        base_version=base_version,
        note=f"rolled back to version {to_version}",
    )


def version_of(article: Article, number: int) -> ArticleVersion:
    """One version of the article. Raises ArticleNotFound."""
    for version in article.versions:
        if version.version == number:
            return version
    raise ArticleNotFound(f"article {article.article_id} has no version {number}")


__all__ = [
    "Content",
    "VersionConflict",
    "check_article_id",
    "content",
    "create",
    "head_of",
    "is_live",
    "publish",
    "roll_back",
    "save_draft",
    "version_of",
]
