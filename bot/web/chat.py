"""The customer's chat on the web app: the widget's script, the demo store page that shows it,
and the widget's configuration. What the widget reads of a conversation (a reload, a second tab,
another page of the same site: ``/messages``; live: ``/events``) is the customer API's
(``customer_api``, ``live``).

Other sites embed the widget, so these routes and the customer API answer cross-origin requests
from the origins in ``BOT_WIDGET_ORIGINS``; no cookie is ever involved.
"""

from __future__ import annotations

import logging
from pathlib import Path as FilePath
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])
STATIC = FilePath(__file__).resolve().parent / "static"
WIDGET_SCRIPT = STATIC / "dist" / "widget.js"  # built by `make widget` (npm run build)
DEMO_PAGE = STATIC / "demo.html"
CUSTOMER_PATHS = ("/api/conversations/", "/api/widget/")


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
