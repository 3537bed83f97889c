"""What an editor does with a group of the inbox (``bot.kb.inbox``): add its messages to an
article as question variants, start a new article from it, or dismiss it.

Each action is one ``inbox_actions`` row (who, when, what) and one ``inbox_handled`` row per
message it handled: those messages leave the inbox, and what customers say later forms new
groups. Articles change only through ``bot.kb.editing``, so versions, conflicts and the
needs-retraining mark apply as in the editor. Question variants are masked
(``bot.privacy.mask``) whatever the caller sends: personal data never goes into an article.

Functions take the session first and never commit.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import AlreadyHandled, ArticleInvalid, InboxError
from bot.handoff.models import Handoff, WrongAnswerReport
from bot.kb import editing, inbox, repository
from bot.kb.models import ArticleRating, InboxAction, InboxHandled
from bot.kb.text import fold
from bot.live import tracker
from bot.privacy import mask

KEY = re.compile(r"^(not_understood|not_helpful|wrong_answer|handoff):([1-9][0-9]{0,17})$")
# Every record a grouping can read: a group's messages may each have several (bot.kb.inbox).
MAX_KEYS = len(inbox.SOURCES) * inbox.MAX_ITEMS
MAX_LABEL = 500
ACTIONS = ("add_to_article", "new_article", "dismiss")
MAX_REPLY_LOOKUPS = 20  # conversations read for an agent's reply


def check_keys(keys: Sequence[str]) -> List[str]:
    """The keys, each once. Raises InboxError when there are none, too many, or a malformed
    one."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        raise InboxError("choose the messages first: none were given")
    if len(unique) > MAX_KEYS:
        raise InboxError(f"at most {MAX_KEYS:,} records at once")
    for key in unique:
        if not isinstance(key, str) or not KEY.match(key):
            raise InboxError(f"not a message of the inbox: {str(key)[:80]!r}")
    return unique


def conversations_of(
    session: Session, tracker_engine: Engine, keys: Sequence[str]
) -> Dict[str, str]:
    """The conversation of each message that exists (keys of unknown records are left out)."""
    wanted: Dict[str, List[int]] = {}
    for key in keys:
        source, number = key.split(":")
        wanted.setdefault(source, []).append(int(number))
    found: Dict[str, str] = {}
    tables: Dict[str, Any] = {
        "not_helpful": ArticleRating,
        "wrong_answer": WrongAnswerReport,
        "handoff": Handoff,
    }
    for source, table in tables.items():
        for start in range(0, len(wanted.get(source, [])), 500):
            chunk = wanted[source][start : start + 500]
            rows = session.execute(
                select(table.pk, table.conversation_id).where(table.pk.in_(chunk))
            )
            found.update((f"{source}:{pk}", conversation) for pk, conversation in rows)
    misses = wanted.get("not_understood", [])
    if misses and tracker.has_events_table(tracker_engine):
        with tracker_engine.connect() as connection:
            for start in range(0, len(misses), 500):
                rows = connection.execute(
                    select(tracker.EVENTS.c.id, tracker.EVENTS.c.sender_id).where(
                        tracker.EVENTS.c.id.in_(misses[start : start + 500]),
                        tracker.EVENTS.c.type_name == "bot",
                        tracker.EVENTS.c.data.like('%"kb_miss"%'),
                    )
                )
                found.update((f"not_understood:{pk}", sender) for pk, sender in rows)
    return found


def _record(
    session: Session,
    tracker_engine: Engine,
    *,
    keys: Sequence[str],
    action: str,
    author: str,
    label: str,
    article_id: Optional[str] = None,
    language: Optional[str] = None,
    questions: Sequence[str] = (),
    note: Optional[str] = None,
) -> InboxAction:
    keys = check_keys(keys)
    known = conversations_of(session, tracker_engine, keys)
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise InboxError(f"{len(unknown)} of the messages do not exist: {', '.join(unknown[:5])}")
    before = session.execute(
        select(InboxHandled).where(InboxHandled.key.in_(keys[:900])).limit(1)
    ).scalar_one_or_none()
    if before is not None:
        raise _already(before)
    row = InboxAction(
        action=action,
        author=author,
        label=mask(" ".join(label.split()))[:MAX_LABEL] or "(no label)",
        article_id=article_id,
        language=language,
        questions=list(questions),
        note=mask(" ".join(note.split()))[:500] if note else None,
    )
    row.items = [InboxHandled(key=key) for key in keys]
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:  # handled by somebody else at the same moment
        session.rollback()
        raise AlreadyHandled("somebody handled these messages meanwhile") from error
    return row


def _already(handled: InboxHandled) -> AlreadyHandled:
    done = handled.action_row
    what = {"add_to_article": "added to an article", "new_article": "made into an article"}
    return AlreadyHandled(
        f"{done.author} handled these messages already ({what.get(done.action, 'dismissed')})",
        author=done.author,
        handled_at=done.created_at,
    )


def question_variants(texts: Sequence[str]) -> List[str]:
    """The messages as question variants: masked, on one line, each once, empty ones dropped.
    Raises ArticleInvalid for text that is not valid."""
    variants: List[str] = []
    seen = set()
    for text in texts:
        if not text or not text.strip():
            continue
        variant = mask(editing.clean_question(text))[: editing.MAX_QUESTION]
        if fold(variant) not in seen:
            seen.add(fold(variant))
            variants.append(variant)
    return variants


def add_to_article(
    session: Session,
    tracker_engine: Engine,
    *,
    keys: Sequence[str],
    article_id: str,
    language: str,
    questions: Sequence[str],
    author: str,
    label: str,
    publish: bool = False,
    base_version: Optional[int] = None,
) -> InboxAction:
    """Add ``questions`` (the messages the editor picked) to the article's question variants
    as a new version: a draft, or published with ``publish``; those already in the article are
    skipped. Every message of ``keys`` leaves the inbox. Raises InboxError, AlreadyHandled,
    ArticleNotFound, ArticleInvalid and VersionConflict (when ``base_version`` is given and
    somebody saved since)."""
    keys = check_keys(keys)
    variants = question_variants(questions)
    if not variants:
        raise ArticleInvalid(
            "choose at least one message to add as a question variant", "questions"
        )
    article = repository.get_article(session, article_id, language)
    head = editing.head_of(article)
    have = {fold(q) for q in head.questions or []}
    new = [v for v in variants if fold(v) not in have]
    row = _record(
        session,
        tracker_engine,
        keys=keys,
        action="add_to_article",
        author=author,
        label=label,
        article_id=article_id,
        language=language,
        questions=new,
    )
    if new:
        content = editing.Content.of(head)
        content = dataclasses.replace(content, questions=(*content.questions, *new))
        save = editing.publish if publish else editing.save_draft
        save(
            session,
            article_id=article_id,
            language=language,
            content=editing.content(**dataclasses.asdict(content)),
            author=author,
            base_version=head.version if base_version is None else base_version,
            note="question variants from the inbox",
        )
    return row


def new_article(
    session: Session,
    tracker_engine: Engine,
    *,
    keys: Sequence[str],
    article_id: str,
    language: str,
    content: editing.Content,
    author: str,
    label: str,
) -> InboxAction:
    """Start a new article (a draft) from a group; its question variants are masked. Every
    message of ``keys`` leaves the inbox. Raises InboxError, AlreadyHandled and ArticleInvalid."""
    keys = check_keys(keys)
    content = dataclasses.replace(content, questions=tuple(question_variants(content.questions)))
    row = _record(
        session,
        tracker_engine,
        keys=keys,
        action="new_article",
        author=author,
        label=label,
        article_id=article_id,
        language=language,
        questions=list(content.questions),
    )
    editing.create(
        session, article_id=article_id, language=language, content=content, author=author
    )
    return row


def dismiss(
    session: Session,
    tracker_engine: Engine,
    *,
    keys: Sequence[str],
    author: str,
    label: str,
    note: Optional[str] = None,
) -> InboxAction:
    """The messages leave the inbox with nothing changed. Raises InboxError and
    AlreadyHandled."""
    return _record(
        session, tracker_engine, keys=keys, action="dismiss", author=author, label=label, note=note
    )


def agent_reply(tracker_engine: Engine, conversation_ids: Sequence[str]) -> Optional[str]:
    """The first thing an agent wrote in the first of the conversations that had one (of the
    first ``MAX_REPLY_LOOKUPS``), masked; None when no agent wrote."""
    for conversation_id in list(dict.fromkeys(conversation_ids))[:MAX_REPLY_LOOKUPS]:
        for line in tracker.transcript(tracker_engine, conversation_id):
            if line["author"] == "agent" and line.get("text", "").strip():
                return mask(line["text"])
    return None


def suggested_id(label: str) -> str:
    """An article id from a group's label: its first words, folded, joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", fold(mask(label)))
    suggestion = ""
    for word in words:
        if len(suggestion) + len(word) + 1 > 60:
            break
        suggestion = f"{suggestion}-{word}" if suggestion else word
    return suggestion or "new-article"


def prefill(
    session: Session,
    tracker_engine: Engine,
    *,
    keys: Sequence[str],
    label: str,
    questions: Sequence[str],
) -> Dict[str, object]:
    """What a new article from a group starts with: the label as title, the messages as
    question variants, and the agent's reply (where a conversation had one) as the answer.
    Raises InboxError for malformed keys."""
    keys = check_keys(keys)
    conversations = conversations_of(session, tracker_engine, keys)
    reply = agent_reply(tracker_engine, [conversations[k] for k in keys if k in conversations])
    title = mask(" ".join(label.split()))[: editing.MAX_TITLE]
    return {
        "article_id": suggested_id(label),
        "title": title,
        "questions": question_variants(questions)[: editing.MAX_QUESTIONS],
        "body": reply or "",
        "from_agent": reply is not None,
    }
