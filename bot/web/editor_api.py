"""The editor's API: articles with search and filters, drafts, publishing, history, diff, roll
back, and "Try it" (what the bot would answer). For the editor and admin roles.

Every save names the version it started from (``base_version``, the head the editor loaded):
when somebody saved since, the answer is 409 with who and when, and nothing is written
(``bot.kb.editing``). Publishing changes what customers are answered with from the next message
on: the action server reads answers from the database and its index notices the change within
``BOT_KB_REFRESH_SECONDS``. What the model has not learned (new or changed question variants)
is marked ``needs_retraining``; retrieval finds it meanwhile. Each article says how it stands
with its file in data/kb (``file_state``, ``bot.kb.sync.file_states``): in git, not exported yet,
the file changed, a conflict, or a file that cannot be read.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot import db
from bot.errors import ArticleInvalid, ArticleNotFound, VersionConflict
from bot.handoff.rasa_api import RasaUnavailable
from bot.kb import editing, history, repository, sync, training, trying
from bot.kb.deciding import thresholds_for
from bot.kb.models import Article, ArticleVersion
from bot.kb.retrieval import LiveIndex
from bot.kb.text import unwrap
from bot.users import User
from bot.web.auth import get_session, requires

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/editor", tags=["editor"])
editor_only = requires("editor")

LANGUAGE = r"^(en|lt|lv|pl)$"
Language = Path(..., pattern=LANGUAGE, description="en, lt, lv or pl")
ArticleId = Path(..., max_length=editing.MAX_ID, pattern=r"^[a-z0-9][a-z0-9-]*$")
MAX_TRY = 2000  # as BOT_MAX_MESSAGE_CHARS by default: what a customer may send
FILE_STATE = "^(" + "|".join(sync.FILE_STATES) + ")$"


class ArticleText(BaseModel):
    """What the editor writes. Checked field by field (``bot.kb.editing.content``); the limits
    here only refuse absurd sizes early."""

    title: str = Field(..., max_length=2000)
    body: str = Field(..., max_length=100_000, description="the answer, in Markdown")
    questions: List[str] = Field([], max_items=1000, description="question variants")
    tags: List[str] = Field([], max_items=200)
    audience: str = Field("public", description="public (customers) or internal (agents)")

    def content(self) -> editing.Content:
        return editing.content(
            title=self.title,
            body=self.body,
            questions=self.questions,
            tags=self.tags,
            audience=self.audience,
        )


class NewArticle(ArticleText):
    article_id: str = Field(..., max_length=500, description="lower-case words joined by -")
    language: str = Field("en", regex=LANGUAGE)


class Save(ArticleText):
    base_version: int = Field(..., ge=0, description="the version the editor started from")
    note: Optional[str] = Field(None, max_length=editing.MAX_NOTE)


class Publish(BaseModel):
    base_version: int = Field(..., ge=0, description="the version the editor started from")
    article: Optional[ArticleText] = Field(
        None, description="publish this text; without it, the newest draft"
    )
    note: Optional[str] = Field(None, max_length=editing.MAX_NOTE)


class RollBack(BaseModel):
    to_version: int = Field(..., ge=1)
    base_version: int = Field(..., ge=0, description="the version the editor started from")
    publish: Optional[bool] = Field(
        None, description="publish at once (default: when the article is published now)"
    )


class DraftToTry(ArticleText):
    article_id: str = Field(..., max_length=editing.MAX_ID, regex=r"^[a-z0-9][a-z0-9-]*$")


class TryIt(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_TRY)
    language: str = Field("en", regex=LANGUAGE)
    draft: Optional[DraftToTry] = Field(None, description="an article's draft to try too")


def invalid(request: Request, error: ArticleInvalid) -> JSONResponse:
    field = error.field or "body"
    return JSONResponse(
        {"detail": str(error), "problems": [{"field": field, "problem": str(error)}]},
        status_code=422,
    )


def not_found(request: Request, error: ArticleNotFound) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=404)


def conflict(request: Request, error: VersionConflict) -> JSONResponse:
    when = error.saved_at.isoformat() if error.saved_at else None
    who = error.author or "somebody else"
    return JSONResponse(
        {
            "detail": f"{who} saved version {error.actual} meanwhile (you started from version "
            f"{error.expected}): nothing was saved. Load their version, then apply your change.",
            "conflict": {"version": error.actual, "author": error.author, "saved_at": when},
        },
        status_code=409,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Articles' errors as HTTP answers: 422 with the field, 404, 409 with who and when."""
    app.add_exception_handler(ArticleInvalid, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(ArticleNotFound, not_found)  # type: ignore[arg-type]
    app.add_exception_handler(VersionConflict, conflict)  # type: ignore[arg-type]


def trained(request: Request) -> Dict[str, Any]:
    return training.trained_examples(request.app.state.trained_nlu)


def file_states(session: Session, request: Request) -> Dict[tuple, str]:
    """How each article stands with its file in data/kb (``bot.kb.sync.file_states``)."""
    return sync.file_states(session, request.app.state.settings.kb_dir)


def summary(
    article: Article,
    head: ArticleVersion,
    ratings: history.Ratings,
    learned: Dict[str, Any],
    file_state: Optional[str] = None,
) -> Dict[str, Any]:
    """An article in the list: the head's title and tags, its state and helpfulness, and how it
    stands with its file (``file_state``, one of ``bot.kb.sync.FILE_STATES``)."""
    live = editing.is_live(article)
    draft_public = head.audience == "public"
    return {
        "article_id": article.article_id,
        "language": article.language,
        "title": head.title,
        "state": history.state_of(article, head),
        "version": head.version,
        "live_version": article.version if article.status == "published" else None,
        "tags": list(head.tags or []),
        "audience": head.audience,
        "updated_at": head.created_at.isoformat(),
        "updated_by": head.author,
        "file_state": file_state,
        "ratings": ratings.as_dict(),
        "needs_retraining": training.needs_retraining(
            article.article_id,
            article.language,
            (article.title, article.question_texts) if live else None,
            learned,
        ),
        "publishing_needs_retraining": training.needs_retraining(
            article.article_id,
            article.language,
            (head.title, list(head.questions or [])) if draft_public else None,
            learned,
        ),
    }


def version_json(version: ArticleVersion, ratings: Optional[history.Ratings] = None) -> Dict:
    return {
        "version": version.version,
        "status": version.status,
        "author": version.author,
        "created_at": version.created_at.isoformat(),
        "changes": list(version.changes or []),
        "note": version.note,
        "ratings": (ratings or history.Ratings()).as_dict(),
    }


def content_json(version: ArticleVersion) -> Dict[str, Any]:
    return {
        "title": version.title,
        "body": version.body,
        "questions": list(version.questions or []),
        "tags": list(version.tags or []),
        "audience": version.audience,
    }


def detail(session: Session, request: Request, article_id: str, language: str) -> Dict[str, Any]:
    """The article as the editor works on it (the head), what customers get, every version."""
    article = repository.get_article(session, article_id, language)
    head = editing.head_of(article)
    stars = history.ratings(session, language=language).get(
        (article_id, language), history.Ratings()
    )
    per_version = history.version_ratings(session, article_id, language)
    published = (
        editing.version_of(article, article.version) if article.status == "published" else None
    )
    in_files = file_states(session, request).get((language, article_id))
    return {
        **summary(article, head, stars, trained(request), in_files),
        **content_json(head),
        "head_status": head.status,
        "published": {"version": published.version, **content_json(published)}
        if published
        else None,
        "versions": [
            version_json(v, per_version.get(v.version)) for v in reversed(article.versions)
        ],
    }


@router.get("/articles")
def list_articles(
    request: Request,
    q: Optional[str] = Query(None, max_length=200, description="words anywhere in the article"),
    language: Optional[str] = Query(None, pattern=LANGUAGE),
    tag: Optional[str] = Query(None, max_length=editing.MAX_TAG),
    status: Optional[str] = Query(
        None,
        pattern="^(published|draft|changed)$",
        description="published: customers get the newest version; draft: not published, or "
        "published with a newer draft; changed: only the latter",
    ),
    helpfulness: Optional[str] = Query(
        None,
        pattern="^(low|high|unrated)$",
        description="low: fewer than half who rated it found it helpful",
    ),
    file_state: Optional[str] = Query(
        None,
        pattern=FILE_STATE,
        description="in_git: its file in data/kb holds it; not_exported: published in the "
        "editor since the last sync or export (`python -m bot kb export`); file_changed: its "
        "file changed since (`python -m bot kb sync`); conflict: both; error: its file cannot "
        "be read",
    ),
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Articles (the editor's newest version of each), searched and filtered, with every tag
    in use (for the filter)."""
    found = history.find(
        session, q=q, language=language, tag=tag, state=status, helpfulness=helpfulness
    )
    learned = trained(request)
    in_files = file_states(session, request)
    rows = repository.list_articles(session, language=language)
    tags = sorted({t for a in rows for t in a.tags} | {t for _, h, _ in found for t in h.tags})
    listed = [
        summary(a, head, stars, learned, in_files.get((a.language, a.article_id)))
        for a, head, stars in found
    ]
    return {
        "articles": [a for a in listed if file_state is None or a["file_state"] == file_state],
        "tags": tags,
    }


@router.post("/articles", status_code=201)
def create_article(
    body: NewArticle,
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """A new article, saved as a draft (version 1); customers see it once it is published."""
    article = editing.create(
        session,
        article_id=body.article_id.strip(),
        language=body.language,
        content=body.content(),
        author=me.username,
    )
    return detail(session, request, article.article_id, article.language)


@router.get("/articles/{language}/{article_id}")
def get_article(
    request: Request,
    language: str = Language,
    article_id: str = ArticleId,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The article: its newest version (a draft, or what is published), what customers get,
    and every version with author, time, what changed and how customers rated it."""
    return detail(session, request, article_id, language)


@router.post("/articles/{language}/{article_id}/draft")
def save_draft(
    body: Save,
    request: Request,
    language: str = Language,
    article_id: str = ArticleId,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Save as a draft: a new version; customers keep what is published. 409 when somebody
    saved since ``base_version``."""
    editing.save_draft(
        session,
        article_id=article_id,
        language=language,
        content=body.content(),
        author=me.username,
        base_version=body.base_version,
        note=body.note,
    )
    return detail(session, request, article_id, language)


@router.post("/articles/{language}/{article_id}/publish")
def publish(
    body: Publish,
    request: Request,
    language: str = Language,
    article_id: str = ArticleId,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Publish the given text (or the newest draft): customers get it from their next message
    on, without retraining. 409 when somebody saved since ``base_version``."""
    editing.publish(
        session,
        article_id=article_id,
        language=language,
        author=me.username,
        base_version=body.base_version,
        content=body.article.content() if body.article is not None else None,
        note=body.note,
    )
    return detail(session, request, article_id, language)


@router.post("/articles/{language}/{article_id}/rollback")
def roll_back(
    body: RollBack,
    request: Request,
    language: str = Language,
    article_id: str = ArticleId,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """A new version with an earlier version's content, published when the article is (or as
    ``publish`` says). 409 when somebody saved since ``base_version``."""
    editing.roll_back(
        session,
        article_id=article_id,
        language=language,
        to_version=body.to_version,
        author=me.username,
        base_version=body.base_version,
        published=body.publish,
    )
    return detail(session, request, article_id, language)


@router.get("/articles/{language}/{article_id}/versions/{number}")
def get_version(
    number: int,
    language: str = Language,
    article_id: str = ArticleId,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """One version's full content."""
    article = repository.get_article(session, article_id, language)
    version = editing.version_of(article, number)
    return {**version_json(version), **content_json(version)}


@router.get("/articles/{language}/{article_id}/diff")
def diff(
    language: str = Language,
    article_id: str = ArticleId,
    older: Optional[int] = Query(None, alias="from", description="default: the one before"),
    newer: Optional[int] = Query(None, alias="to", description="default: the newest"),
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """What changed between two versions, field by field: lines of the answer and title added
    (``+``) and removed (``-``) with unchanged ones around them (``=``), question variants and
    tags added and removed. Text, never markup."""
    article = repository.get_article(session, article_id, language)
    to_version = editing.version_of(
        article, newer if newer is not None else editing.head_of(article).version
    )
    from_version = editing.version_of(
        article, older if older is not None else max(to_version.version - 1, 1)
    )
    return history.diff(from_version, to_version)


_index_lock = threading.Lock()


def answer_index(request: Request) -> LiveIndex:
    """The index the bot answers with, sentence embeddings included, made on the first "Try
    it" (loading the embedding model takes a few seconds, and agents never need it)."""
    state = request.app.state
    with _index_lock:
        if getattr(state, "answer_index", None) is None:
            state.answer_index = LiveIndex(
                state.engine, refresh_seconds=state.settings.kb_refresh_seconds
            )
        return state.answer_index


def understanding(request: Request, question: str) -> Dict[str, Any]:
    """The Rasa server's parse of the question, or None with the reason when it is not
    reachable."""
    try:
        return {"parse": request.app.state.rasa.parse(question), "error": None}
    except RasaUnavailable as error:
        logger.warning("try it: no parse from the Rasa server (%s)", error)
        return {"parse": None, "error": "the Rasa server is not answering"}


@router.post("/try")
def try_it(
    body: TryIt,
    request: Request,
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """What the bot would do with a customer's question, by the bot's own rules: with the
    published articles, and with ``draft`` in place of its article (as if published). Each
    gives the decision (``answer``, ``suggest`` or ``unknown``), the candidates with their
    confidence, the answer, and whether a person would take over. ``understanding.available``
    is false when the Rasa server could not be asked: then the decision rests on retrieval
    alone."""
    question = editing.clean_question(body.question)
    draft = None
    if body.draft is not None:
        draft = (body.draft.article_id, body.draft.content())
    nlu = understanding(request, question)
    index = answer_index(request).index(body.language)
    result = trying.try_question(
        index, question, nlu["parse"], thresholds_for(request.app.state.settings), draft=draft
    )
    with db.session_scope(request.app.state.engine) as session:
        for name in ("published", "draft"):
            if result[name] is not None:
                describe(session, result[name], body.language, draft if name == "draft" else None)
    parse = nlu["parse"] or {}
    return {
        "question": question,
        "language": body.language,
        "understanding": {
            "available": nlu["parse"] is not None,
            "problem": nlu["error"],
            "intent": (parse.get("intent") or {}).get("name"),
            "confidence": result["route"]["confidence"],
        },
        **result,
    }


def describe(
    session: Session,
    side: Dict[str, Any],
    language: str,
    draft: Optional[tuple],
) -> None:
    """Titles for the candidates and the answer's text, from the draft for its article and
    from the database (what customers get) for the others."""

    def text_of(article_id: str) -> Optional[Dict[str, Any]]:
        if draft is not None and draft[0] == article_id:
            content: editing.Content = draft[1]
            return {"title": content.title, "body": content.body, "version": None}
        article = repository.find_article(session, article_id, language)
        if article is None:
            return None
        return {"title": article.title, "body": article.body, "version": article.version}

    for candidate in [*side["candidates"], *side["ranking"]]:
        found = text_of(candidate["article_id"])
        candidate["title"] = found["title"] if found else candidate["article_id"]
    side["answer"] = None
    if side["article_id"] is not None:
        found = text_of(side["article_id"])
        if found is not None:
            side["answer"] = {
                "article_id": side["article_id"],
                "title": found["title"],
                "text": unwrap(found["body"]),
                "version": found["version"],
            }
