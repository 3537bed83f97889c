"""Markdown article sources in ``data/kb/<language>/<id>.md``: parse, render, import, export.

The files are what content is reviewed in (git); the database is what the assistant reads at run
time. ``import_sources`` moves files into the database (creating versions); ``render_article``
writes an article with a stable layout, so that diffs stay clean. Keeping the two in step, in
both directions, is ``bot.kb.sync``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import frontmatter
import yaml
from sqlalchemy.orm import Session

from bot.errors import ArticleInvalid, ArticleSourceError
from bot.kb import repository
from bot.kb.models import AUDIENCES, STATUSES, Article
from bot.settings import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)

ARTICLE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_CHARS = 100  # the column's size
FIELDS = ("id", "language", "title", "tags", "audience", "status", "questions")


@dataclasses.dataclass(frozen=True)
class ArticleSource:
    """One article as written in its Markdown file."""

    article_id: str
    language: str
    title: str
    body: str
    questions: Tuple[str, ...]
    tags: Tuple[str, ...] = ()
    audience: str = "public"
    status: str = "published"
    path: Optional[Path] = None
    file_hash: Optional[str] = dataclasses.field(default=None, compare=False)

    @property
    def question_texts(self) -> List[str]:
        """As ``Article.question_texts``, so retrieval indexes files and rows alike."""
        return list(self.questions)

    def fields(self) -> dict:
        """The fields that ``repository.save_article`` takes."""
        return {
            "article_id": self.article_id,
            "language": self.language,
            "title": self.title,
            "body": self.body,
            "questions": list(self.questions),
            "tags": list(self.tags),
            "audience": self.audience,
            "status": self.status,
        }


def text_hash(text: str) -> str:
    """The hash of a file's text that ``bot.kb.sync`` remembers (SHA-256, hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _str_list(value: object, name: str, path: Path) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ArticleSourceError(f"'{name}' must be a list of texts", path)
    return tuple(" ".join(str(v).split()) for v in value if str(v).strip())


def parse_article_text(text: str, path: Path) -> ArticleSource:
    """Parse one article file's text. Raises ArticleSourceError with a plain-words reason."""
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError) as error:
        raise ArticleSourceError(f"the front matter is not valid YAML ({error})", path) from error
    meta = post.metadata
    unknown = sorted(set(meta) - set(FIELDS))
    if unknown:
        raise ArticleSourceError(f"unknown field(s) {', '.join(unknown)}", path)
    article_id = str(meta.get("id") or "").strip()
    if not article_id:
        raise ArticleSourceError("the front matter has no 'id'", path)
    if len(article_id) > MAX_ID_CHARS or not ARTICLE_ID_RE.match(article_id):
        raise ArticleSourceError(
            f"id '{article_id[:MAX_ID_CHARS]}' must be lower-case words joined by hyphens, "
            f"at most {MAX_ID_CHARS} characters",
            path,
        )
    if path.stem != article_id:
        raise ArticleSourceError(f"the file must be named {article_id}.md", path)
    language = str(meta.get("language") or "").strip()
    if language not in SUPPORTED_LANGUAGES:
        raise ArticleSourceError(
            f"language '{language}' is not one of {', '.join(SUPPORTED_LANGUAGES)}", path
        )
    if path.parent.name in SUPPORTED_LANGUAGES and path.parent.name != language:
        raise ArticleSourceError(
            f"language '{language}' does not match its folder '{path.parent.name}'", path
        )
    title = " ".join(str(meta.get("title") or "").split())
    if not title:
        raise ArticleSourceError("the front matter has no 'title'", path)
    audience = str(meta.get("audience") or "public")
    if audience not in AUDIENCES:
        raise ArticleSourceError(f"audience must be one of {', '.join(AUDIENCES)}", path)
    status = str(meta.get("status") or "draft")
    if status not in STATUSES:
        raise ArticleSourceError(f"status must be one of {', '.join(STATUSES)}", path)
    return ArticleSource(
        article_id=article_id,
        language=language,
        title=title,
        body=post.content.strip(),
        questions=_str_list(meta.get("questions"), "questions", path),
        tags=_str_list(meta.get("tags"), "tags", path),
        audience=audience,
        status=status,
        path=path,
        file_hash=text_hash(text),
    )


def parse_article(path: Path) -> ArticleSource:
    """Parse the article file at ``path``. Raises ArticleSourceError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ArticleSourceError(f"cannot be read ({error})", path) from error
    return parse_article_text(text, path)


def article_paths(kb_dir: Path) -> List[Path]:
    """Every article file under ``kb_dir``, in a stable order."""
    return sorted(kb_dir.glob("*/*.md"))


def load_sources(kb_dir: Path) -> Tuple[List[ArticleSource], List[ArticleSourceError]]:
    """All parseable articles under ``kb_dir`` and the errors of those that are not."""
    sources: List[ArticleSource] = []
    errors: List[ArticleSourceError] = []
    seen: Dict[Tuple[str, str], Path] = {}
    for path in article_paths(kb_dir):
        try:
            source = parse_article(path)
        except ArticleSourceError as error:
            errors.append(error)
            continue
        key = (source.article_id, source.language)
        if key in seen:
            errors.append(ArticleSourceError(f"same id and language as {seen[key]}", path))
            continue
        seen[key] = path
        sources.append(source)
    return sources, errors


def render_article(article: ArticleSource) -> str:
    """The file text for ``article``: a fixed field order and one question per line."""
    meta = {
        "id": article.article_id,
        "language": article.language,
        "title": article.title,
        "tags": list(article.tags),
        "audience": article.audience,
        "status": article.status,
        "questions": list(article.questions),
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    front = re.sub(r"^tags:\n((?:- .*\n)+)", _inline_tags, front, flags=re.M)
    front = front.replace("\n- ", "\n  - ")
    return f"---\n{front}---\n{article.body.strip()}\n"


def _inline_tags(match: re.Match[str]) -> str:
    tags = [line[2:] for line in match.group(1).splitlines()]
    return "tags: [" + ", ".join(tags) + "]\n"


def source_from_article(article: Article) -> ArticleSource:
    """The file form of a database article."""
    return ArticleSource(
        article_id=article.article_id,
        language=article.language,
        title=article.title,
        body=article.body,
        questions=tuple(article.question_texts),
        tags=tuple(article.tags or ()),
        audience=article.audience,
        status=article.status,
    )


@dataclasses.dataclass
class ImportReport:
    created: List[str] = dataclasses.field(default_factory=list)
    updated: List[str] = dataclasses.field(default_factory=list)
    unchanged: List[str] = dataclasses.field(default_factory=list)
    errors: List[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} error(s)"
        )


def import_sources(
    session: Session, sources: Iterable[ArticleSource], *, author: str = "import"
) -> ImportReport:
    """Create or update the database articles from ``sources``; nothing is deleted. Whatever
    the database holds is replaced (``bot.kb.sync`` asks first); an article read from a file is
    remembered as in step with that file."""
    report = ImportReport()
    for source in sources:
        key = f"{source.language}/{source.article_id}"
        before = repository.find_article(session, source.article_id, source.language)
        old_version = before.version if before is not None else None
        try:
            article = repository.save_article(
                session, **source.fields(), author=author, note="imported from data/kb"
            )
        except ArticleInvalid as error:
            report.errors.append(f"{source.path or key}: {error}")
            continue
        if source.file_hash is not None:
            repository.record_sync(session, article, source.file_hash)
        if old_version is None:
            report.created.append(key)
        elif article.version != old_version:
            report.updated.append(key)
        else:
            report.unchanged.append(key)
    return report
