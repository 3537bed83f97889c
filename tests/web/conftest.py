"""The web app running for real (uvicorn on a free port, in a thread) on a test database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import uvicorn

from bot import db
from bot.handoff.rasa_api import RasaClient
from bot.settings import Settings
from bot.stack import free_port
from bot.users import create_user
from bot.web.app import create_app

PASSWORD = "a long enough password"


@dataclass
class Web:
    url: str
    database_url: str

    def client(self, username: Optional[str] = None) -> requests.Session:
        """A browser-like session; signed in when ``username`` is given."""
        http = requests.Session()
        if username is not None:
            reply = http.post(
                f"{self.url}/api/session", json={"username": username, "password": PASSWORD}
            )
            reply.raise_for_status()
        return http

    def add_user(self, username: str, *roles: str, **extra) -> None:
        with db.session_scope(db.make_engine(self.database_url)) as session:
            create_user(
                session,
                username=username,
                password=PASSWORD,
                display_name=username.title(),
                roles=roles or ("agent",),
                **extra,
            )


def serve(
    database_url: str,
    rasa_url: str,
    rasa_token: str,
    *,
    app_options: Optional[Dict[str, Any]] = None,
    **overrides: Any,
) -> Iterator[str]:
    """Run the web app until the generator is closed; yields its URL. ``app_options`` go to
    ``create_app``, ``overrides`` to the settings."""
    settings = Settings(
        database_url=database_url,
        rasa_url=rasa_url,
        rasa_token=rasa_token,
        web_secret="test-secret-" + "x" * 20,
        **overrides,
    )
    app = create_app(
        settings,
        rasa=RasaClient(rasa_url, rasa_token, attempts=2, backoff=0.05),
        **(app_options or {}),
    )
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture
def web(database_url: str) -> Iterator[Web]:
    """The web app with no Rasa server behind it (nothing listens on the Rasa port)."""
    gen = serve(database_url, f"http://127.0.0.1:{free_port()}", "no-rasa")
    url = next(gen)
    yield Web(url, database_url)
    gen.close()


def open_handoff(
    web: Web, conversation_id: str = "c1", *, question: str = "my tv is broken", **extra: Any
) -> int:
    """A handoff for ``conversation_id`` in the test database (queued unless ``queue=False``)."""
    from bot.handoff.queue import request_handoff

    with db.session_scope(db.make_engine(web.database_url)) as session:
        handoff, _ = request_handoff(
            session,
            conversation_id=conversation_id,
            reason="asked_for_person",
            language="en",
            channel="socketio",
            last_question=question,
            context={"version": 1, "summary": f"Wants: {question}"},
            **{"team": "support-baltics", **extra},
        )
        session.flush()
        return handoff.pk


@dataclass
class Event:
    kind: str
    data: Any
    id: Optional[str]


class EventStream:
    """A Server-Sent Events client (as a browser's EventSource reads the stream), every event it
    receives kept in ``events``."""

    def __init__(self, url: str, *, cookies: Any = None, last_event_id: Optional[str] = None):
        self.url = url
        self.headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.events: List[Event] = []
        self.status: Optional[int] = None
        self.arrived = asyncio.Event()
        self.seen = 0

    async def __aenter__(self) -> EventStream:
        import aiohttp

        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        self.response = await self.session.get(self.url, headers=self.headers)
        self.status = self.response.status
        if self.status == 200:
            self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.status == 200:
            self.reader.cancel()
        self.response.close()
        await self.session.close()

    async def _read(self) -> None:
        kind, data, event_id = "message", [], None
        async for raw in self.response.content:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    self.events.append(Event(kind, json.loads("\n".join(data)), event_id))
                    self.arrived.set()
                kind, data, event_id = "message", [], None
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    kind = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value

    async def next(self, kind: str, timeout: float = 20.0, **match: Any) -> Event:
        """The next event of ``kind`` (after the last one returned) whose data has ``match``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index in range(self.seen, len(self.events)):
                event = self.events[index]
                if event.kind == kind and all(event.data.get(k) == v for k, v in match.items()):
                    self.seen = index + 1
                    return event
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {kind} {match} in {self.events}")
            self.arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)
