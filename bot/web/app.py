"""The web app: the demo store page with the customer's widget, the agent console, the article
editor and its inbox, their JSON API, sign-in and health.

``create_app(settings)`` builds the app for a given configuration (tests pass their own);
``python -m bot serve`` runs it with uvicorn on :8000 beside the Rasa server and the action server.
The OpenAPI description is at /api/openapi.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from bot import db
from bot.handoff import webhooks
from bot.handoff.config import get_config
from bot.handoff.queue import customer_state, requeue_abandoned_by_agents
from bot.handoff.rasa_api import RasaClient, RasaUnavailable
from bot.kb.retrieval import LiveIndex
from bot.settings import Settings, get_settings, rasa_token, web_secret
from bot.users import User, authenticate
from bot.web import (
    agent_api,
    analytics_api,
    chat,
    customer_api,
    editor_api,
    inbox_api,
    live,
    model_api,
    pages,
    stories_api,
    training_api,
)
from bot.web.auth import current_user, get_session, sign_in, sign_out
from bot.web.conversation import retry_pending

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class WebhookHandoff(BaseModel):
    id: int
    reference: str = Field(..., example="H-000042")
    conversation_id: str
    status: str = Field(..., description="queued, assigned, resolved, returned, abandoned, ticket")
    reason: str = Field(..., description="asked_for_person, not_understood_twice, ...")
    language: str
    team: Optional[str]
    priority: int
    agent: Optional[str] = Field(None, description="the agent's username")
    last_question: Optional[str]
    summary: Optional[str] = Field(None, description="three lines: wants, bot tried, why")
    customer_email: Optional[str]
    outcome: Optional[str]


class WebhookEvent(BaseModel):
    """The JSON body POSTed to BOT_WEBHOOK_URL for every handoff event."""

    version: int = Field(1, description="payload version")
    id: str = Field(..., description="the event's id; also the Idempotency-Key header")
    type: str = Field(
        ...,
        description="handoff.requested, handoff.claimed, handoff.transferred, handoff.requeued, "
        "handoff.handed_back, handoff.resolved, handoff.abandoned or handoff.ticket",
    )
    created_at: str
    handoff: WebhookHandoff
    note: Optional[str] = Field(None, description="the agent's note on the event, if any")


class Credentials(BaseModel):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=200)


def user_json(user: User) -> Dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": list(user.roles or []),
        "teams": list(user.teams or []),
        "languages": list(user.languages or []),
        "presence": user.presence,
        "capacity": user.capacity,
    }


def requeue_disconnected(app: FastAPI) -> List[Dict[str, Any]]:
    """Assigned chats whose agent has gone for the configured time go back to the queue."""
    config = get_config()
    with db.session_scope(app.state.engine) as session:
        moved = requeue_abandoned_by_agents(
            session, timeout=dt.timedelta(seconds=config.queue.agent_timeout_seconds)
        )
        return [
            {
                "conversation_id": h.conversation_id,
                "state": customer_state(session, h, config.queue),
            }
            for h in moved
        ]


async def watch_agents(app: FastAPI, every: float) -> None:
    """Forever: requeue disconnected agents' chats and tell their customers; retry resumes that
    Rasa did not accept."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(retry_pending, app.state.engine, app.state.rasa)
        except Exception:
            logger.exception("retry of pending resumes failed")
        try:
            moved = await asyncio.to_thread(requeue_disconnected, app)
        except Exception:
            logger.exception("requeue of disconnected agents' chats failed")
            continue
        for item in moved:
            text = (
                "Sorry, the person helping you was disconnected. You're back in the queue"
                f" (number {item['state'].get('position')}); nothing you wrote is lost."
            )
            try:
                await asyncio.to_thread(
                    app.state.rasa.send_as_person,
                    item["conversation_id"],
                    text,
                    author="system",
                    display_name="",
                    custom={"handoff": item["state"]},
                )
            except RasaUnavailable:
                logger.warning("conversation %s: not told of requeue", item["conversation_id"])


WIDGET = Path(__file__).resolve().parent / "widget"


def create_app(
    settings: Optional[Settings] = None,
    *,
    rasa: Optional[RasaClient] = None,
    trained_nlu: Optional[Path] = None,
) -> FastAPI:
    """The web app for ``settings``; ``rasa`` talks to the Rasa server, ``trained_nlu`` is the
    generated NLU file the current model was trained on (what needs retraining; default
    ``settings.trained_nlu``), which retraining replaces when it loads a new model."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        every = min(15.0, get_config().queue.agent_timeout_seconds / 4)
        tasks = [
            asyncio.create_task(watch_agents(app, every)),
            asyncio.create_task(webhooks.run_worker(app.state.engine, settings)),
            *app.state.live.tasks(),
        ]
        yield
        for task in tasks:
            task.cancel()
        app.state.live.broker.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Amberline assistant web app",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.database_url)
    app.state.tracker_engine = (
        app.state.engine
        if settings.effective_tracker_url == settings.database_url
        else db.make_engine(settings.effective_tracker_url)
    )
    app.state.live = live.Live(settings, app.state.engine, app.state.tracker_engine)
    app.state.rasa = rasa or RasaClient(settings.rasa_url, rasa_token(settings))
    # Knowledge-base search for agents: lexical and character n-grams (no embedding model in
    # this process), refreshed when the articles change.
    app.state.kb_index = LiveIndex(app.state.engine, use_embeddings=False)
    app.state.trained_nlu = trained_nlu or settings.trained_nlu
    app.add_middleware(
        SessionMiddleware,
        secret_key=web_secret(settings),
        session_cookie="amberline_session",
        max_age=int(settings.session_hours * 3600),
        same_site="strict",
        https_only=settings.cookie_secure,
    )

    app.add_middleware(chat.CustomerCors, origins=settings.widget_origin_list)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "problem": e["msg"]}
            for e in error.errors()
        ]
        return JSONResponse({"detail": "invalid input", "problems": problems}, status_code=422)

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        try:
            with app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.post("/api/session", tags=["session"])
    def log_in(
        body: Credentials, request: Request, session: Session = Depends(get_session)
    ) -> Dict[str, Any]:
        """Sign in; sets the session cookie."""
        user = authenticate(session, body.username, body.password)
        if user is None:
            raise HTTPException(status_code=401, detail="wrong username or password")
        sign_in(request, user)
        return user_json(user)

    @app.get("/api/session", tags=["session"])
    def who_am_i(user: User = Depends(current_user)) -> Dict[str, Any]:
        return user_json(user)

    @app.delete("/api/session", tags=["session"])
    def log_out(request: Request, session: Session = Depends(get_session)) -> Dict[str, Any]:
        """Sign out; an agent who signs out is offline (their queue is no longer theirs to take)."""
        data = request.session.get("user")
        if isinstance(data, dict):
            user = session.get(User, data.get("pk"))
            if user is not None:
                user.presence = "offline"
        sign_out(request)
        return {"signed_in": False}

    @app.webhooks.post("handoff-event")
    def handoff_event(body: WebhookEvent) -> None:
        """Sent to ``BOT_WEBHOOK_URL`` on every handoff event, at least once, retried with
        exponential backoff. Headers: ``Idempotency-Key`` (the event id: de-duplicate on it),
        ``X-Amberline-Event`` (the type), ``X-Amberline-Timestamp`` (Unix seconds) and, when
        ``BOT_WEBHOOK_SECRET`` is set, ``X-Amberline-Signature: sha256=<hex>``, the HMAC-SHA256
        of ``<timestamp>.<body>`` with the secret. Answer 2xx to acknowledge; 410 stops retries.
        """

    app.include_router(agent_api.router)
    app.include_router(editor_api.router)
    editor_api.add_error_handlers(app)
    app.include_router(analytics_api.router)
    analytics_api.add_error_handlers(app)
    app.include_router(training_api.router)
    training_api.add_error_handlers(app)
    app.include_router(stories_api.router)
    stories_api.add_error_handlers(app)
    app.include_router(inbox_api.router)
    inbox_api.add_error_handlers(app)
    app.include_router(customer_api.router)
    app.include_router(live.router)
    app.include_router(chat.router)
    app.include_router(model_api.router)

    # The staff's pages, assembled from their templates once: each signs in through the JSON API.
    pages.add_routes(app)

    @app.get("/editor/markdown.js", include_in_schema=False)
    def markdown_renderer() -> FileResponse:
        """The widget's safe Markdown renderer, shared with the editor's preview as it is."""
        return FileResponse(WIDGET / "markdown.js", media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
