"""Live updates over Server-Sent Events (bot/live/ explains where they come from).

``GET /api/agent/events`` (signed-in agents, the session cookie as on every agent route) streams
what the console shows: ``handoff`` (the queue or a handoff changed), ``line`` (something said in
a conversation that has a handoff), ``note``, ``follow_up``, ``typing`` (a customer). Each event
from the database carries an id, a position in the tables; a browser's EventSource sends the last
one back as ``Last-Event-ID`` when it reconnects, and is first sent what it missed. ``ready`` ends
that catch-up (``resumed``: false when the console must load everything again).

``GET /api/conversations/{id}/events`` streams one conversation to its customer (the id is their
key, at least 16 characters, as for ``GET .../messages``): ``message`` (anything said, with
``pushed`` for what a REST client's reply did not carry, by the same reader and rules as
``/messages``: ``bot.live.tracker.customer_message``), ``handoff`` (the state, when it changes)
and ``typing`` (the agent). Message ids are the cursor of ``GET .../messages?after=``.

A stream ends after ``STREAM_SECONDS`` and the browser reconnects at once, with the session
checked again; comments keep idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Set, Tuple

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine

from bot import db
from bot.live import tracker
from bot.live.broker import make_broker
from bot.live.changes import TABLES, Watcher, replay
from bot.live.cursor import MAX_ID, BadToken, Token
from bot.live.hub import Change, Hub
from bot.settings import Settings
from bot.users import User
from bot.web.auth import requires
from bot.web.customer_api import ConversationKey, state_of

router = APIRouter(prefix="/api")
RETRY_MS = 2000
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
agent_only = requires("agent")


class Live:
    """One web process's live updates: the hub, the watcher feeding it, the typing broker."""

    def __init__(self, settings: Settings, engine: Engine, tracker_engine: Engine) -> None:
        self.engine = engine
        self.tracker_engine = tracker_engine
        self.hub = Hub()
        self.watcher = Watcher(engine, tracker_engine, self.hub, every=settings.live_poll_seconds)
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        self.broker = make_broker(self.hub, redis_url, settings.redis_prefix)

    def tasks(self) -> List[asyncio.Task]:
        """Start following (on the running loop); the tasks to cancel at shutdown."""
        self.hub.start()
        return [asyncio.create_task(self.watcher.run()), asyncio.create_task(self.broker.run())]


def live_of(request: Request) -> Live:
    return request.app.state.live


def sse(event: str, data: Any, event_id: Optional[str] = None) -> str:
    """One event in the text/event-stream format (JSON never holds a raw line break)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {payload}\n\n"


def stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=HEADERS)


def refuse_when_full(live: Live) -> None:
    if live.hub.full:
        raise HTTPException(status_code=503, detail="too many live connections; poll instead")


# --- The agent console ------------------------------------------------------------------------


def agent_wants(change: Change) -> bool:
    kind = change["kind"]
    if kind == "line":
        return change["handoff"] is not None and change["line"] is not None
    if kind == "typing":
        return change["who"] == "customer"
    return kind in ("handoff", "note", "follow_up")


def agent_event(change: Change, event_id: Optional[str] = None) -> str:
    kind = change["kind"]
    if kind == "line":
        data = {k: change[k] for k in ("conversation_id", "handoff", "line")}
    elif kind == "typing":
        data = {k: change[k] for k in ("conversation_id", "typing")}
    else:
        data = {k: v for k, v in change.items() if k not in ("kind", "table", "row", "token")}
    return sse(kind, data, event_id)


@router.get("/agent/events", tags=["agent"], response_class=StreamingResponse)
async def agent_events(
    request: Request,
    me: User = Depends(agent_only),
    last_event_id: Optional[str] = Header(None, max_length=200, description="to resume"),
) -> StreamingResponse:
    """The console's live updates (text/event-stream); see this module's docstring."""
    live = live_of(request)
    since = None
    if last_event_id:
        try:
            since = Token.parse(last_event_id, TABLES)
        except BadToken as error:
            raise HTTPException(status_code=400, detail=f"Last-Event-ID: {error}") from error
    refuse_when_full(live)

    async def events() -> AsyncIterator[str]:
        subscription = live.hub.subscribe(agent_wants)
        start = live.hub.published  # everything up to here is in the database for a replay
        try:
            yield f"retry: {RETRY_MS}\n\n"
            replayed: Set[Tuple[str, int]] = set()
            sent, resumed = start, False
            if since is not None and not since.ahead_of(start):
                missed = await asyncio.to_thread(replay, live.engine, live.tracker_engine, since)
                if missed is not None:
                    for old in filter(agent_wants, missed):
                        replayed.add((old["table"], old["row"]))
                        yield agent_event(old)
                    sent, resumed = since.max(start), True
            yield sse("ready", {"resumed": resumed}, str(sent))
            deadline = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < deadline and not subscription.overflowed:
                change = await subscription.next(HEARTBEAT_SECONDS)
                if change is None:  # idle: everything published is sent
                    sent = sent.max(live.hub.published)
                    yield sse("ping", {}, str(sent))
                elif (change.get("table"), change.get("row")) not in replayed:
                    if "token" in change:
                        sent = sent.max(change["token"])
                    yield agent_event(change, str(sent) if "token" in change else None)
        finally:
            live.hub.unsubscribe(subscription)

    return stream(events())


# --- The customer ---------------------------------------------------------------------------


class CustomerView:
    """What one customer's stream has told them, and which changes concern them."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self.state: Optional[Dict[str, Any]] = None
        self.last_message = 0

    def wants(self, change: Change) -> bool:
        kind = change["kind"]
        own = change.get("conversation_id") == self.conversation_id
        if kind == "line":
            return own and change["message"] is not None
        if kind == "typing":
            return own and change["who"] == "agent"
        if kind == "handoff":  # a queued customer's place moves with every change of the queue
            return own or (self.state or {}).get("status") == "queued"
        return False


def read_state(engine: Engine, conversation_id: str) -> Dict[str, Any]:
    with db.session_scope(engine) as session:
        return state_of(session, conversation_id)


def message_cursor(last_event_id: Optional[str], after: int) -> int:
    if not last_event_id:
        return after
    if not re.fullmatch(r"[0-9]{1,19}", last_event_id) or int(last_event_id) > MAX_ID:
        raise HTTPException(status_code=400, detail="Last-Event-ID: not a message id")
    return int(last_event_id)


@router.get(
    "/conversations/{conversation_id}/events", tags=["customer"], response_class=StreamingResponse
)
async def customer_events(
    request: Request,
    conversation_id: str = ConversationKey,
    after: int = Query(0, ge=0, le=MAX_ID, description="the last message id the chat shows"),
    last_event_id: Optional[str] = Header(None, max_length=30, description="to resume"),
) -> StreamingResponse:
    """The conversation's live updates for its customer (text/event-stream)."""
    live = live_of(request)
    view = CustomerView(conversation_id)
    view.last_message = message_cursor(last_event_id, after)
    refuse_when_full(live)

    async def send_state() -> AsyncIterator[str]:
        state = await asyncio.to_thread(read_state, live.engine, conversation_id)
        if state != view.state:
            view.state = state
            yield sse("handoff", state)

    async def events() -> AsyncIterator[str]:
        subscription = live.hub.subscribe(view.wants)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            missed = await asyncio.to_thread(
                tracker.customer_messages, live.tracker_engine, conversation_id, view.last_message
            )
            for message in missed:
                view.last_message = message["id"]
                yield sse("message", message, str(message["id"]))
            async for event in send_state():
                yield event
            deadline = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < deadline and not subscription.overflowed:
                change = await subscription.next(HEARTBEAT_SECONDS)
                if change is None:
                    yield ": ping\n\n"
                elif change["kind"] == "line" and change["message"]["id"] > view.last_message:
                    view.last_message = change["message"]["id"]
                    yield sse("message", change["message"], str(view.last_message))
                elif change["kind"] == "typing":
                    yield sse("typing", {k: change[k] for k in ("who", "name", "typing")})
                elif change["kind"] == "handoff":
                    async for event in send_state():
                        yield event
        finally:
            live.hub.unsubscribe(subscription)

    return stream(events())
