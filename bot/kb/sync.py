"""Keeping ``data/kb`` and the database in step: ``python -m bot kb sync`` and ``kb export``.

The Markdown files are the source of truth in the repository; editors also publish in the web
editor. For every article the database remembers where it stood at its last sync with its file
(``ArticleSync``: the hash of the file's text then, and the article's version then), so a sync
can tell which side changed since:

- the file changed, is new, or was removed, and the database did not: the file is imported as a
  new version by "git" (a removed file's article is archived: unpublished, its history kept);
- the database changed (an editor published) and the file did not: left alone, to be exported;
- both changed: a conflict. Nothing is overwritten until ``prefer`` says which side wins
  ("files" imports the file, "editor" writes the editor's version over the file).

``export`` writes what changed in the editor back to the files, only files whose text changes,
and never over a file that changed since the last sync (unless told to, ``everything``).

``file_states`` says the same without changing anything, for the web editor's list: each
article "in_git" (its file holds it, or its removal), "not_exported" (changed in the editor
since the last sync or export), "file_changed" (the file changed since, ``kb sync`` imports it),
"conflict" (both), or "error" (its file cannot be read, or it cannot have one).

Articles are keyed ``<language>/<id>``, as in ``data/kb/<language>/<id>.md``. Functions take the
session first and never commit (``bot.kb.repository``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from pathlib import Path
from typing import Collection, Dict, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.errors import ArticleInvalid, ArticleSourceError, VersionConflict
from bot.kb import editing, repository
from bot.kb.models import Article, ArticleSync, ArticleVersion, snapshot_fields
from bot.kb.sources import (
    ARTICLE_ID_RE,
    ArticleSource,
    article_paths,
    load_sources,
    render_article,
    source_from_article,
    text_hash,
)
from bot.settings import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)

SYNC_AUTHOR = "git"
PREFER = ("files", "editor")
# Authors of saves that put a file's text in the database (``kb import``, ``kb sync``).
IMPORTED_BY = ("import", SYNC_AUTHOR)
# What happened to an article, in the order the totals line counts them.
KINDS = ("created", "updated", "archived", "exported", "export", "conflict", "error", "unchanged")
TOTALS = {"export": "to export", "conflict": "conflict(s)", "error": "error(s)"}
# An article and its file (``file_states``), by which side changed since the last sync.
FILE_STATES = ("in_git", "not_exported", "file_changed", "conflict", "error")
_FILE_STATE = {
    "none": "in_git",
    "editor": "not_exported",
    "file": "file_changed",
    "both": "conflict",
}
SYNC = "python -m bot kb sync"
EXPORT = "python -m bot kb export"
UNSAFE = "its id or language cannot name a file in data/kb"


@dataclasses.dataclass(frozen=True)
class Change:
    """What a sync or an export did (or would not do) with one article, in plain words."""

    key: str  # "en/return-policy", or the path of a file that cannot be read
    kind: str  # one of KINDS, or "skipped" (by an export)
    detail: str = ""

    def line(self) -> str:
        return (
            f"{self.kind:<9} {self.key}: {self.detail}"
            if self.detail
            else f"{self.kind} {self.key}"
        )


@dataclasses.dataclass
class SyncReport:
    """Every article's change; ``lines`` and ``summary`` are what the command prints."""

    changes: List[Change] = dataclasses.field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    def of(self, kind: str) -> List[Change]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def ok(self) -> bool:
        """No conflict and no file that cannot be read."""
        return not self.count("conflict") and not self.count("error")

    def lines(self) -> List[str]:
        """One line per article that changed or needs a decision (not the unchanged)."""
        return [change.line() for change in self.changes if change.kind != "unchanged"]

    def summary(self) -> str:
        counts = (f"{self.count(kind)} {TOTALS.get(kind, kind)}" for kind in KINDS)
        return "knowledge base sync: " + ", ".join(counts)


@dataclasses.dataclass
class ExportReport:
    """The files an export wrote, and the articles it left alone and why."""

    written: List[Path] = dataclasses.field(default_factory=list)
    skipped: List[Change] = dataclasses.field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (
            f"knowledge base export: {len(self.written)} file(s) written, "
            f"{len(self.skipped)} skipped, {self.unchanged} unchanged"
        )


@dataclasses.dataclass
class _Pair:
    """One article as its file and the database have it, and where it stood at the last sync."""

    language: str
    article_id: str
    source: Optional[ArticleSource]
    article: Optional[Article]
    record: Optional[ArticleSync]
    wanted: Optional[dict] = None  # the file's fields as the database would store them
    problem: Optional[str] = None  # why the file cannot be read or imported
    path: Optional[Path] = None
    unsafe: bool = False  # the article's id or language cannot name a file

    @property
    def key(self) -> str:
        return f"{self.language}/{self.article_id}"


def display_path(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (``data/kb/en/x.md``)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(session: Session, kb_dir: Path) -> List[_Pair]:
    """Every article in the files or the database (or both), by key."""
    sources, errors = load_sources(kb_dir)
    articles = {
        (a.language, a.article_id): a
        for a in session.execute(select(Article).options(selectinload(Article.questions))).scalars()
    }
    records = repository.sync_records(session)
    pairs: Dict[Tuple[str, str], _Pair] = {}
    for key, article in articles.items():
        pairs[key] = _Pair(*key, source=None, article=article, record=records.get(article.pk))
        if article.language not in SUPPORTED_LANGUAGES or not ARTICLE_ID_RE.match(
            article.article_id
        ):  # written around the editor: never a path outside the folder
            pairs[key].problem, pairs[key].unsafe = UNSAFE, True
    for source in sources:
        key = (source.language, source.article_id)
        pair = pairs.setdefault(key, _Pair(*key, source=None, article=None, record=None))
        pair.source, pair.path = source, source.path
        fields = {k: v for k, v in source.fields().items() if k not in ("article_id", "language")}
        try:
            pair.wanted = repository.clean_fields(**fields)
        except ArticleInvalid as error:
            pair.problem = str(error)
    for unreadable in errors:  # never taken for a removed file: the article is kept as it is
        path = unreadable.path or kb_dir
        key = (path.parent.name, path.stem)
        pair = pairs.setdefault(key, _Pair(*key, source=None, article=None, record=None))
        pair.source, pair.wanted, pair.path = None, None, path
        pair.problem = str(unreadable).removeprefix(f"{path}: ")
    return [pairs[key] for key in sorted(pairs)]


def _version_fields(version: ArticleVersion) -> dict:
    return editing.Content.of(version).snapshot(version.status)


def _first_sync(article: Article, wanted: dict) -> str:
    """Which side changed for an article never synced (a database from before syncing, or an
    article written both in the editor and as a file): its history tells."""
    for version in article.versions:
        if version.version < article.version and _version_fields(version) == wanted:
            return "editor"  # the file holds an older version: the editor changed it since
    if article.updated_by in IMPORTED_BY:
        return "file"  # the database holds what an import of the file wrote
    return "both"


def _state(pair: _Pair) -> str:
    """Which side changed since the last sync: "none", "file", "editor" or "both"."""
    source, article, record = pair.source, pair.article, pair.record
    if article is None:
        return "file"
    if source is not None and pair.wanted == snapshot_fields(article):
        return "none"
    if record is None:
        if source is None:
            return "editor"  # written in the editor, never in a file
        return _first_sync(article, pair.wanted or {})
    file_changed = (source.file_hash if source else None) != record.file_hash
    editor_changed = article.version != record.article_version
    if file_changed and editor_changed:
        return "both"
    if file_changed:
        return "file"
    if editor_changed:
        return "editor"
    # Neither changed but they differ (synced with another folder): trust neither side.
    return "none" if source is None else "both"


def _fingerprint(session: Session, kb_dir: Path) -> tuple:
    """What ``file_states`` depends on, in brief: a hash of every article file's bytes (reading
    is cheap, parsing is not), and the articles' and sync records' counts, versions and last
    changes (publishing or syncing changes them; saving a draft changes no state)."""
    files = []
    for path in article_paths(kb_dir):
        try:
            digest = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
        except OSError:
            digest = b""  # unreadable (or removed meanwhile): _read says which
        files.append((str(path), digest))
    articles = session.execute(
        select(
            func.count(Article.pk),
            func.max(Article.pk),
            func.sum(Article.version),
            func.max(Article.updated_at),
        )
    ).one()
    records = session.execute(
        select(
            func.count(ArticleSync.article_pk),
            func.sum(ArticleSync.article_version),
            func.max(ArticleSync.synced_at),
        )
    ).one()
    return (tuple(files), tuple(articles), tuple(records))


_states_lock = threading.Lock()
_states_cache: Dict[Path, Tuple[tuple, Dict[Tuple[str, str], str]]] = {}


def file_states(session: Session, kb_dir: Path) -> Dict[Tuple[str, str], str]:
    """How every article of the database stands with its file in ``kb_dir``, by (language,
    article id): one of ``FILE_STATES``, as ``sync`` and ``export`` would find it. Reads the
    files and the database; writes nothing. Kept per folder while nothing it depends on
    changed (``_fingerprint``): the files are read and compared only after a change."""
    key = _fingerprint(session, kb_dir)
    with _states_lock:
        known = _states_cache.get(kb_dir)
    if known is not None and known[0] == key:
        return dict(known[1])
    states = {
        (pair.language, pair.article_id): (
            "error" if pair.problem is not None else _FILE_STATE[_state(pair)]
        )
        for pair in _read(session, kb_dir)
        if pair.article is not None
    }
    with _states_lock:
        _states_cache[kb_dir] = (key, states)
    return dict(states)


def _who(article: Article) -> str:
    status = "published" if article.status == "published" else "not published"
    return f"version {article.version} by {article.updated_by}, {status}"


def _editor_detail(pair: _Pair) -> str:
    article = pair.article
    assert article is not None
    if pair.record is None:
        return f"new in the editor ({_who(article)}): run `{EXPORT}` to write its file"
    if pair.record.file_hash is None:
        return (
            f"changed in the editor since its file was removed ({_who(article)}): "
            f"run `{EXPORT}` to write the file back"
        )
    return (
        f"changed in the editor since the last sync ({_who(article)}): "
        f"run `{EXPORT}` to update the file"
    )


def _conflict_detail(pair: _Pair) -> str:
    article = pair.article
    assert article is not None
    only = f"--article {pair.key}"
    if pair.source is None:
        what = "its file was removed, and the editor changed it since the last sync"
        files = "archive it"
        editor = "write the file back"
    else:
        what = "the file and the editor both changed it since the last sync"
        files = "import the file"
        editor = "write the editor's version over the file, then merge in git if needed"
    return (
        f"{what} (editor: {_who(article)}); nothing overwritten. To {files}: "
        f"`{SYNC} --prefer files {only}`; to {editor}: `{SYNC} --prefer editor {only}`"
    )


def _file_of(kb_dir: Path, article: Article) -> Path:
    return kb_dir / article.language / f"{article.article_id}.md"


def _write(session: Session, pair: _Pair, kb_dir: Path) -> Optional[Path]:
    """Write the article to its file (when the text changes) and remember the two in step.
    Raises ArticleSourceError when the file cannot be written."""
    article = pair.article
    assert article is not None
    path = _file_of(kb_dir, article)
    text = render_article(source_from_article(article))
    try:
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    except (OSError, UnicodeDecodeError):  # unreadable: written over (export --all)
        changed = True
    if changed:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise ArticleSourceError(f"cannot be written ({error.strerror})", path) from error
        logger.info("article %s written to %s", pair.key, path)
    repository.record_sync(session, article, text_hash(text))
    return path if changed else None


def _remember(session: Session, pair: _Pair) -> None:
    """Record that file and article are in step, when the record says otherwise."""
    article, record = pair.article, pair.record
    assert article is not None
    file_hash = pair.source.file_hash if pair.source is not None else None
    if record is None or (record.file_hash, record.article_version) != (
        file_hash,
        article.version,
    ):
        repository.record_sync(session, article, file_hash)


def _import(session: Session, pair: _Pair, *, author: str, resolved: str) -> Change:
    source, before = pair.source, pair.article
    assert source is not None and pair.wanted is not None
    where = display_path(source.path) if source.path else pair.key
    head = repository.head_version(before) if before is not None else None
    published_before = before.version if before is not None else 0
    try:
        article = repository.save_article(
            session,
            article_id=source.article_id,
            language=source.language,
            **pair.wanted,
            author=author,
            note=f"synced from {where}",
            expected_version=head.version if head is not None else 0,
        )
    except VersionConflict as error:  # an editor saved it while the sync ran
        return Change(pair.key, "conflict", f"{error}: run `{SYNC}` again")
    repository.record_sync(session, article, source.file_hash)
    status = "published" if article.status == "published" else "not published (status: draft)"
    if before is None:
        return Change(pair.key, "created", f"new file, imported as version 1, {status}")
    detail = f"the file changed: imported as version {article.version} by {author}, {status}"
    if head is not None and head.version > published_before:
        detail += (
            f"; the editor's unpublished draft (version {head.version} by {head.author}) "
            "stays in the history"
        )
    return Change(pair.key, "updated", detail + resolved)


def _archive(session: Session, pair: _Pair, *, author: str, resolved: str) -> Change:
    article = pair.article
    assert article is not None
    if article.status == "published":
        head = repository.head_version(article)
        fields = {**snapshot_fields(article), "status": "draft"}
        try:
            repository.save_article(
                session,
                article_id=article.article_id,
                language=article.language,
                **fields,
                author=author,
                note="its file was removed from data/kb",
                expected_version=head.version if head is not None else None,
            )
        except VersionConflict as error:
            return Change(pair.key, "conflict", f"{error}: run `{SYNC}` again")
        detail = (
            f"its file was removed: unpublished as version {article.version}, history kept "
            "(publish it in the editor and export to bring it back)"
        )
    else:
        detail = "its file was removed; it was not published, history kept"
    repository.record_sync(session, article, None)
    return Change(pair.key, "archived", detail + resolved)


def _sync_one(
    session: Session, pair: _Pair, kb_dir: Path, *, prefer: Optional[str], author: str
) -> Change:
    if pair.problem is not None:
        return Change(display_path(pair.path) if pair.path else pair.key, "error", pair.problem)
    state = _state(pair)
    resolved = ""
    if state == "none":
        if pair.article is not None:
            _remember(session, pair)
        return Change(pair.key, "unchanged")
    if state == "editor":
        return Change(pair.key, "export", _editor_detail(pair))
    if state == "both":
        if prefer is None:
            return Change(pair.key, "conflict", _conflict_detail(pair))
        resolved = f" (conflict decided by --prefer {prefer})"
        if prefer == "editor":
            try:
                written = _write(session, pair, kb_dir)
            except ArticleSourceError as error:
                return Change(pair.key, "conflict", f"{error}; {_conflict_detail(pair)}")
            what = f"wrote {display_path(written)}" if written else "its file already held it"
            return Change(pair.key, "exported", f"the editor's version kept: {what}{resolved}")
    if pair.source is None:
        return _archive(session, pair, author=author, resolved=resolved)
    return _import(session, pair, author=author, resolved=resolved)


def sync(
    session: Session,
    kb_dir: Path,
    *,
    prefer: Optional[str] = None,
    author: str = SYNC_AUTHOR,
    only: Optional[Collection[str]] = None,
) -> SyncReport:
    """Bring the database in step with the files in ``kb_dir`` where only the files changed,
    and say what is left: articles to export, conflicts, files that cannot be read. ``prefer``
    ("files" or "editor") decides the conflicts; ``only`` limits the sync to some articles
    ("en/return-policy"). Raises ValueError for an unknown ``prefer``, ArticleSourceError when
    ``kb_dir`` holds no article file but articles were synced with files (a wrong folder would
    archive them all; name them with ``only`` to archive them)."""
    if prefer is not None and prefer not in PREFER:
        raise ValueError(f"prefer must be one of {', '.join(PREFER)}")
    report = SyncReport()
    pairs = _read(session, kb_dir)
    wanted = set(only or ())
    if (
        not wanted
        and not article_paths(kb_dir)
        and any(p.record and p.record.file_hash for p in pairs)
    ):
        raise ArticleSourceError(
            "no article files here: nothing synced (it would archive every article; name "
            "them with --article to archive them)",
            kb_dir,
        )
    for missing in sorted(wanted - {pair.key for pair in pairs}):
        report.changes.append(Change(missing, "error", "no such article in the files or editor"))
    for pair in pairs:
        if wanted and pair.key not in wanted:
            continue
        report.changes.append(_sync_one(session, pair, kb_dir, prefer=prefer, author=author))
    logger.info("kb sync of %s: %s", kb_dir, report.summary())
    return report


def export(session: Session, kb_dir: Path, *, everything: bool = False) -> ExportReport:
    """Write the articles changed in the editor to their files in ``kb_dir`` (only files whose
    text changes) and remember each as in step. A file that changed or was removed since the
    last sync, or cannot be read, is left alone (``kb sync`` first) unless ``everything``: then
    every article is written as the database has it, but for those archived because their file
    was removed."""
    report = ExportReport()
    for pair in _read(session, kb_dir):
        if pair.article is None:
            continue  # a file not imported yet: `kb sync` imports it
        state = "error" if pair.problem is not None else _state(pair)
        archived = pair.source is None and pair.record is not None and state == "none"
        if archived or (state == "none" and not everything):
            if not archived:
                _remember(session, pair)
            report.unchanged += 1
            continue
        if pair.unsafe or (state in ("file", "both", "error") and not everything):
            report.skipped.append(_why_not(pair, state))
            continue
        try:
            written = _write(session, pair, kb_dir)
        except ArticleSourceError as error:
            report.skipped.append(Change(pair.key, "skipped", str(error)))
            continue
        if written is not None:
            report.written.append(written)
        else:
            report.unchanged += 1
    return report


def _why_not(pair: _Pair, state: str) -> Change:
    overwrite = f"or `{EXPORT} --all` to overwrite it"
    if pair.unsafe:
        detail = UNSAFE
    elif state == "error":
        detail = f"the file cannot be read ({pair.problem}): fix it, {overwrite}"
    elif state == "both":
        detail = f"a conflict: {_conflict_detail(pair)}"
    elif pair.source is None:
        detail = (
            f"its file was removed since the last sync: run `{SYNC}` to archive the article, "
            f"or `{EXPORT} --all` to write it back"
        )
    else:
        detail = f"the file changed since the last sync: run `{SYNC}` to import it, {overwrite}"
    return Change(pair.key, "skipped", detail)


__all__ = [
    "FILE_STATES",
    "PREFER",
    "SYNC_AUTHOR",
    "Change",
    "ExportReport",
    "SyncReport",
    "display_path",
    "export",
    "file_states",
    "sync",
]
