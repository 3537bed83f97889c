"""Knowledge-base tables: articles, their question variants, versions and ratings."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.timeutil import UTCDateTime, utcnow

AUDIENCES = ("public", "internal")
STATUSES = ("draft", "published")


class Article(Base):
    """One article in one language; ``article_id`` is its stable id across languages."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("article_id", "language", name="uq_kb_articles_article_id_language"),
        CheckConstraint("audience IN ('public', 'internal')", name="audience"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
    )

    pk = Column(Integer, primary_key=True)
    article_id = Column(String(100), nullable=False, index=True)
    language = Column(String(8), nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    tags = Column(JSON, nullable=False, default=list)
    audience = Column(String(16), nullable=False, default="public")
    status = Column(String(16), nullable=False, default="draft")
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    updated_by = Column(String(100), nullable=False, default="system")

    questions = relationship(
        "ArticleQuestion",
        order_by="ArticleQuestion.position",
        cascade="all, delete-orphan",
        back_populates="article",
    )
    versions = relationship(
        "ArticleVersion",
        order_by="ArticleVersion.version",
        cascade="all, delete-orphan",
        back_populates="article",
    )

    @property
    def question_texts(self) -> List[str]:
        return [q.text for q in self.questions]

    def __repr__(self) -> str:
        return f"<Article {self.article_id}/{self.language} v{self.version} {self.status}>"


class ArticleQuestion(Base):
    """A way customers ask for the article (a question variant)."""

    __tablename__ = "kb_article_questions"

    pk = Column(Integer, primary_key=True)
    article_pk = Column(Integer, ForeignKey("kb_articles.pk", ondelete="CASCADE"), nullable=False)
    text = Column(String(500), nullable=False)
    position = Column(Integer, nullable=False, default=0)

    article = relationship("Article", back_populates="questions")


class ArticleVersion(Base):
    """A snapshot of an article as it was saved: who, when, what changed."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("article_pk", "version", name="uq_kb_article_versions_article_version"),
    )

    pk = Column(Integer, primary_key=True)
    article_pk = Column(Integer, ForeignKey("kb_articles.pk", ondelete="CASCADE"), nullable=False)
    version = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    questions = Column(JSON, nullable=False, default=list)
    tags = Column(JSON, nullable=False, default=list)
    audience = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False)
    author = Column(String(100), nullable=False)
    changes = Column(JSON, nullable=False, default=list)  # names of the fields that changed
    note = Column(String(500), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    article = relationship("Article", back_populates="versions")


class ArticleRating(Base):
    """A customer's "Did this help?" answer to one shown article version."""

    __tablename__ = "kb_article_ratings"

    pk = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    article_id = Column(String(100), nullable=False, index=True)
    language = Column(String(8), nullable=False)
    version = Column(Integer, nullable=False)
    helpful = Column(Boolean, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class InboxAction(Base):
    """What an editor did with a group of the inbox: added its messages to an article as
    question variants (``add_to_article``), started a new article from it (``new_article``), or
    dismissed it (``dismiss``). Never changed or deleted."""

    __tablename__ = "inbox_actions"

    pk = Column(Integer, primary_key=True)
    action = Column(String(32), nullable=False)
    author = Column(String(100), nullable=False)
    label = Column(String(500), nullable=False)  # the group's label as the editor saw it, masked
    article_id = Column(String(100), nullable=True)
    language = Column(String(8), nullable=True)
    questions = Column(JSON, nullable=False, default=list)  # question variants added, masked
    note = Column(String(500), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    items = relationship("InboxHandled", back_populates="action_row")


class InboxHandled(Base):
    """One message of the inbox that an action handled (it no longer shows), by its key:
    ``not_understood:<tracker event id>``, ``not_helpful:<rating>``, ``wrong_answer:<report>``
    or ``handoff:<handoff>``."""

    __tablename__ = "inbox_handled"

    key = Column(String(64), primary_key=True)
    action_pk = Column(Integer, ForeignKey("inbox_actions.pk"), nullable=False, index=True)

    action_row = relationship("InboxAction", back_populates="items")


class ArticleSync(Base):
    """Where an article stood when it was last synced with its file in ``data/kb``
    (``bot.kb.sync``): the hash of the file's text then (None once the file was removed and the
    article archived) and the article's version then. A later sync tells from these which side
    changed since: the file, the database (an editor published), or both."""

    __tablename__ = "kb_article_sync"

    article_pk = Column(Integer, ForeignKey("kb_articles.pk", ondelete="CASCADE"), primary_key=True)
    file_hash = Column(String(64), nullable=True)
    article_version = Column(Integer, nullable=False)
    synced_at = Column(UTCDateTime, nullable=False, default=utcnow)


def snapshot_fields(article: Article) -> dict:
    """The versioned fields of ``article`` as plain data."""
    return {
        "title": article.title,
        "body": article.body,
        "questions": list(article.question_texts),
        "tags": list(article.tags or []),
        "audience": article.audience,
        "status": article.status,
    }


def changed_fields(before: Optional[dict], after: dict) -> List[str]:
    """Names of the versioned fields that differ between two snapshots."""
    if before is None:
        return sorted(after)
    return sorted(key for key in after if before.get(key) != after[key])


__all__ = [
    "AUDIENCES",
    "STATUSES",
    "Article",
    "ArticleQuestion",
    "ArticleRating",
    "ArticleSync",
    "ArticleVersion",
    "InboxAction",
    "InboxHandled",
    "changed_fields",
    "snapshot_fields",
]
