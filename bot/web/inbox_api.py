"""The editors' inbox API: what the bot failed at, grouped by meaning (``bot.kb.inbox``), the
conversations behind it with personal data masked, and what an editor does with a group
(``bot.kb.inbox_actions``): add its messages to an article as question variants, start a new
article, or dismiss it. For the editor and admin roles.

Every message is named by its key (``handoff:12``, ``not_understood:345``...): an action lists
the keys it handles, so messages that arrived after the editor loaded the page stay in the inbox.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.errors import AlreadyHandled, InboxError
from bot.kb import editing, inbox, inbox_actions
from bot.live import tracker
from bot.privacy import mask
from bot.users import User
from bot.web.auth import get_session, requires
from bot.web.editor_api import LANGUAGE, ArticleText

router = APIRouter(prefix="/api/editor/inbox", tags=["editor inbox"])
editor_only = requires("editor")

MAX_EXAMPLES = 50  # distinct messages shown per group
MAX_CONVERSATIONS = 20  # conversations linked per group
MAX_LINES = 500  # transcript lines shown (the newest)
Keys = Field(..., min_items=1, max_items=inbox_actions.MAX_KEYS, description="the messages' keys")
Label = Field(
    ..., min_length=1, max_length=inbox_actions.MAX_LABEL, description="the group's label"
)


class Chosen(BaseModel):
    items: List[str] = Keys
    label: str = Label


class AddToArticle(Chosen):
    article_id: str = Field(..., max_length=editing.MAX_ID, regex=r"^[a-z0-9][a-z0-9-]*$")
    language: str = Field("en", regex=LANGUAGE)
    questions: List[str] = Field(
        ..., min_items=1, max_items=editing.MAX_QUESTIONS, description="the messages to add"
    )
    publish: bool = Field(False, description="publish at once (else a draft)")
    base_version: Optional[int] = Field(None, ge=0, description="the version the editor saw")


class NewArticle(Chosen):
    article: ArticleText
    article_id: str = Field(..., max_length=500, description="lower-case words joined by -")
    language: str = Field("en", regex=LANGUAGE)


class Dismiss(Chosen):
    note: Optional[str] = Field(None, max_length=500)


class Prefill(Chosen):
    questions: List[str] = Field([], max_items=editing.MAX_QUESTIONS)


def inbox_error(request: Request, error: InboxError) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error), "problems": [{"field": "items", "problem": str(error)}]},
        status_code=422,
    )


def already_handled(request: Request, error: AlreadyHandled) -> JSONResponse:
    when = error.handled_at.isoformat() if error.handled_at else None
    return JSONResponse(
        {"detail": str(error), "handled": {"author": error.author, "handled_at": when}},
        status_code=409,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Inbox errors as HTTP answers: 409 when handled meanwhile, 422 for bad messages."""
    app.add_exception_handler(AlreadyHandled, already_handled)  # type: ignore[arg-type]
    app.add_exception_handler(InboxError, inbox_error)  # type: ignore[arg-type]


_grouper_lock = threading.Lock()


def grouper(request: Request) -> inbox.Grouper:
    """One grouper per app, with the knowledge base's encoder (one copy per process)."""
    state = request.app.state
    with _grouper_lock:
        if getattr(state, "inbox_grouper", None) is None:
            state.inbox_grouper = inbox.Grouper()
        return state.inbox_grouper


def group_json(group: inbox.Group) -> Dict[str, Any]:
    """A group as the page shows it: label, count (of messages: a message recorded in several
    places is one, with all its reasons), sources (messages per reason), newest time, its
    distinct messages (with counts), the conversations it came from, and the keys of every
    record of its messages (for actions)."""
    distinct: Dict[str, Dict[str, Any]] = {}
    conversations: Dict[str, str] = {}
    for item in group.items:
        entry = distinct.setdefault(item.text, {"text": item.text, "count": 0, "sources": []})
        entry["count"] += 1
        entry["sources"] += [s for s in item.sources if s not in entry["sources"]]
        conversations.setdefault(item.conversation_id, item.time.isoformat())
    articles = sorted({item.article_id for item in group.items if item.article_id})
    return {
        "id": group.id,
        "label": group.label,
        "count": len(group.items),
        "sources": group.sources(),
        "newest": group.newest.isoformat(),
        "messages": list(distinct.values())[:MAX_EXAMPLES],
        "distinct_messages": len(distinct),
        "conversations": [
            {"conversation_id": c, "time": t}
            for c, t in list(conversations.items())[:MAX_CONVERSATIONS]
        ],
        "conversation_count": len(conversations),
        "articles": articles,
        "items": group.keys(),
    }


@router.get("")
def list_groups(
    request: Request,
    source: Optional[List[str]] = Query(
        None, description="not_understood, not_helpful, wrong_answer, handoff (default: all)"
    ),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(20, ge=1, le=100),
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The groups of messages not handled yet, the largest first, a page at a time. ``total``
    counts every message not handled; the newest ``read`` of them are grouped (at most
    ``cap``), of which ``pending`` are still being read and join the groups shortly."""
    sources = source or list(inbox.SOURCES)
    unknown = [s for s in sources if s not in inbox.SOURCES]
    if unknown:
        raise InboxError(f"unknown source {unknown[0][:40]!r}: use {', '.join(inbox.SOURCES)}")
    found = grouper(request).inbox(session, request.app.state.tracker_engine, sources=sources)
    page = found.groups[offset : offset + limit]
    return {
        "groups": [group_json(g) for g in page],
        "group_count": len(found.groups),
        "offset": offset,
        "total": found.total,
        "read": found.read,
        "pending": found.pending,
        "cap": inbox.MAX_ITEMS,
        "threshold": inbox.THRESHOLD,
    }


@router.get("/conversations/{conversation_id}")
def conversation(
    request: Request,
    conversation_id: str = Path(..., min_length=1, max_length=255),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """The conversation as editors read it: who said what and when, and what the bot
    understood, with e-mail addresses, phone, order and card numbers masked. The newest
    ``MAX_LINES`` lines; 404 when nothing was said."""
    lines = tracker.transcript(request.app.state.tracker_engine, conversation_id)
    if not lines:
        raise HTTPException(status_code=404, detail="no such conversation")
    shown = [
        {
            "id": line["id"],
            "time": line["time"],
            "author": line["author"],
            "name": line.get("name"),
            "intent": line.get("intent"),
            "text": mask(line.get("text") or ""),
        }
        for line in lines[-MAX_LINES:]
    ]
    return {
        "conversation_id": conversation_id,
        "lines": shown,
        "line_count": len(lines),
        "shown_from": len(lines) - len(shown),
    }


@router.post("/prefill")
def prefill(
    body: Prefill,
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """What a new article from the group starts with: the label as its title, the messages as
    question variants, and an agent's reply from its conversations (if any) as the answer."""
    return inbox_actions.prefill(
        session,
        request.app.state.tracker_engine,
        keys=body.items,
        label=body.label,
        questions=body.questions,
    )


def action_json(row: Any) -> Dict[str, Any]:
    return {
        "action": row.action,
        "author": row.author,
        "created_at": row.created_at.isoformat(),
        "article_id": row.article_id,
        "language": row.language,
        "questions": list(row.questions or []),
        "handled": len(row.items),
    }


@router.post("/add-to-article")
def add_to_article(
    body: AddToArticle,
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Add the chosen messages to an article as question variants (a new version: a draft, or
    published with ``publish``); the group's messages leave the inbox. 409 when they were
    handled meanwhile, or somebody saved the article since ``base_version``."""
    row = inbox_actions.add_to_article(
        session,
        request.app.state.tracker_engine,
        keys=body.items,
        article_id=body.article_id,
        language=body.language,
        questions=body.questions,
        author=me.username,
        label=body.label,
        publish=body.publish,
        base_version=body.base_version,
    )
    return action_json(row)


@router.post("/new-article", status_code=201)
def new_article(
    body: NewArticle,
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Start a new article as a draft from the group; its messages leave the inbox."""
    row = inbox_actions.new_article(
        session,
        request.app.state.tracker_engine,
        keys=body.items,
        article_id=body.article_id.strip(),
        language=body.language,
        content=body.article.content(),
        author=me.username,
        label=body.label,
    )
    return action_json(row)


@router.post("/dismiss")
def dismiss(
    body: Dismiss,
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Dismiss the group: its messages leave the inbox, nothing else changes."""
    row = inbox_actions.dismiss(
        session,
        request.app.state.tracker_engine,
        keys=body.items,
        author=me.username,
        label=body.label,
        note=body.note,
    )
    return action_json(row)
