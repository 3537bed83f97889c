"""The customer's chat on the web app: the widget's script, the demo store page that shows it,
the widget's configuration, and the conversation's history for a widget that comes back (a
reload, a second tab, another page of the same site).

The conversation id is the customer's key, as in ``customer_api``: the widget makes it random (32
hex digits) and keeps it in the site's own storage. The history is what the customer saw in the
chat, from Rasa's tracker, and nothing else: no intents, confidences, notes or other customers.

Other sites embed the widget, so these routes (and the customer API) answer cross-origin
requests from the origins in ``BOT_WIDGET_ORIGINS``; no cookie is ever involved.
"""

from __future__ import annotations

import logging
from pathlib import Path as FilePath
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.orm import Session
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.handoff.rasa_api import RasaUnavailable
from bot.web.auth import get_session
from bot.web.customer_api import rasa_of, state_of

logger = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])
STATIC = FilePath(__file__).resolve().parent / "static"
WIDGET_SCRIPT = STATIC / "dist" / "widget.js"  # built by `make widget` (npm run build)
DEMO_PAGE = STATIC / "demo.html"
MAX_HISTORY = 200
MAX_SHOWN = 4000
# Custom payloads the widget shows; the rest (suggestion scores, misses, errors) stay internal.
SHOWN_CUSTOM = ("handoff", "kb_answer")
CUSTOMER_PATHS = ("/api/conversations/", "/api/widget/")
ConversationKey = Path(
    ...,
    min_length=16,
    max_length=128,
    pattern=r"^[A-Za-z0-9_-]+$",
    description="the conversation's id (the widget's random session id)",
)


class CustomerCors:
    """CORS for the customer's routes only (sites embedding the widget call them); the agent's
    and editor's API stays same-origin."""

    def __init__(self, app: ASGIApp, origins: List[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            # Last-Event-ID: a client resuming the live stream sends it; it is not a
            # CORS-safelisted header (whatwg/fetch#568), so a client that follows the spec (or
            # sets it with fetch) asks first. Browsers' EventSource today sends it unasked.
            allow_headers=["Content-Type", "Last-Event-ID"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(CUSTOMER_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def socket_url(request: Request) -> str:
    """Where browsers reach Rasa's socket.io channel: BOT_WIDGET_SOCKET_URL, else the Rasa
    server's address as the web app knows it."""
    settings = request.app.state.settings
    return (settings.widget_socket_url or settings.rasa_url).rstrip("/")


def customer_items(events: List[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """What the customer saw, in the shape the socket.io channel sends it live (``text``,
    ``quick_replies``, ``custom``, ``author``, ``name``, ``time``), their own messages with
    ``author: customer`` (and the widget's ``id``); a clicked button shows its title (or what the
    widget said it showed, ``metadata.shown``), not its payload."""
    items: List[Dict[str, Any]] = []
    titles: Dict[str, str] = {}
    for event in events:
        kind, time = event.get("event"), event.get("timestamp")
        if kind == "user":
            text = str(event.get("text") or "")
            metadata = event.get("metadata") or {}
            shown = metadata.get("shown") if text.startswith("/") else None
            if not isinstance(shown, str) or not shown.strip():
                shown = titles.get(text, text)
            item: Dict[str, Any] = {"author": "customer", "text": shown[:MAX_SHOWN]}
            if isinstance(metadata.get("message_id"), str):
                item["id"] = metadata["message_id"]
            items.append({**item, "time": time})
        elif kind == "bot":
            data, metadata = event.get("data") or {}, event.get("metadata") or {}
            about: Dict[str, Any] = {"time": time}
            if metadata.get("author") in ("agent", "system"):
                about["author"] = metadata["author"]
                if metadata["author"] == "agent":
                    about["name"] = str(metadata.get("display_name") or "")[:100]
            if event.get("text"):
                item = {"text": str(event["text"]), **about}
                buttons = data.get("buttons") or data.get("quick_replies") or []
                if buttons:
                    item["quick_replies"] = [
                        {"title": str(b.get("title")), "payload": str(b.get("payload"))}
                        for b in buttons
                        if isinstance(b, dict)
                    ]
                    titles = {q["payload"]: q["title"] for q in item["quick_replies"]}
                items.append(item)
            custom = data.get("custom")
            if isinstance(custom, dict):
                shown = {k: v for k, v in custom.items() if k in SHOWN_CUSTOM}
                if shown:
                    items.append({"custom": shown, **about})
    return items[-MAX_HISTORY:]


@router.get("/api/conversations/{conversation_id}/history")
def history(
    request: Request,
    conversation_id: str = ConversationKey,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The conversation as the customer saw it (the last 200 items) and its handoff state, for
    a widget that comes back. 503 when the conversation server is not answering."""
    try:
        tracker = rasa_of(request).tracker(conversation_id)
    except RasaUnavailable as error:
        raise HTTPException(
            status_code=503, detail="the conversation server is not answering"
        ) from error
    return {
        "messages": customer_items(tracker.get("events") or []),
        "handoff": state_of(session, conversation_id),
    }


@router.get("/api/widget/config")
def widget_config(request: Request) -> Dict[str, Any]:
    """What the widget needs to know that a site need not configure: where the chat is."""
    return {"socket_url": socket_url(request), "socket_path": "/socket.io"}


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    """The widget, one script with everything it needs (built by ``make widget``)."""
    if not WIDGET_SCRIPT.exists():
        raise HTTPException(status_code=503, detail="the widget is not built: run `make install`")
    return FileResponse(
        WIDGET_SCRIPT,
        media_type="text/javascript",
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


def page_policy(socket: str) -> str:
    """The demo page's Content-Security-Policy: our own scripts, Rasa's socket.io for data."""
    parts = urlsplit(socket)
    ws = "wss" if parts.scheme == "https" else "ws"
    origin: Optional[str] = f"{parts.scheme}://{parts.netloc}" if parts.netloc else None
    connect = "'self'" + (f" {origin} {ws}://{parts.netloc}" if origin else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


@router.get("/", include_in_schema=False)
def demo_store(request: Request) -> HTMLResponse:
    """The demo store's page with the widget on it."""
    return HTMLResponse(
        DEMO_PAGE.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": page_policy(socket_url(request))},
    )
