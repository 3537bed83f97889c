"""A hand-back that Rasa does not accept is retried until it does: the customer is never left
with a paused, silent bot; and a chat whose agent disconnects goes back to the queue, with the
customer told. Rasa here is a small HTTP server standing in for its events endpoint,
so that it can be "down" and then "up" within one test (the e2e tests use the real Rasa)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List

import pytest

from bot import db
from bot.handoff import queue
from bot.handoff.config import get_config
from bot.handoff.models import Handoff
from bot.handoff.rasa_api import RasaClient
from bot.settings import PROJECT_ROOT
from bot.web.conversation import retry_pending
from tests.web.conftest import EventStream, Web, open_handoff, serve


class RasaEvents:
    """Accepts POST /conversations/<id>/tracker/events and records the events."""

    def __init__(self) -> None:
        self.received: List[dict] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.arrived:
                    outer.received.append({"path": self.path, "events": json.loads(body)})
                    outer.arrived.notify_all()
                payload = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def events(self, conversation_id: str, text: str, timeout: float = 10.0) -> List[dict]:
        """The events posted to the conversation whose text holds `text`, once there is one (the
        web app may post after it has published the change that caused the post)."""

        def matching() -> List[dict]:
            return [
                event
                for call in self.received
                if conversation_id in call["path"]
                for event in call["events"]
                if text in str(event.get("text"))
            ]

        with self.arrived:
            self.arrived.wait_for(matching, timeout)
            return matching()

    def close(self) -> None:
        self.server.shutdown()


def test_a_hand_back_rasa_missed_is_retried(web) -> None:
    pk = open_handoff(web, "paused-conv")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    done = ona.post(f"{web.url}/api/handoffs/{pk}/hand-back", json={})
    assert done.json() == {"id": pk, "status": "returned", "customer_told": False}  # Rasa is down
    engine = db.make_engine(web.database_url)
    with db.session_scope(engine) as session:
        assert session.get(Handoff, pk).pending_rasa == "resume"

    rasa = RasaEvents()  # Rasa is back
    try:
        resumed = retry_pending(engine, RasaClient(rasa.url, "token", attempts=1))
    finally:
        rasa.close()
    assert resumed == ["paused-conv"]
    events = [e for call in rasa.received for e in call["events"]]
    assert [e["event"] for e in events] == ["resume", "bot", "action", "bot"]
    assert events[2]["name"] == "action_listen"
    assert events[3]["data"]["custom"]["handoff"]["status"] == "bot"
    with db.session_scope(engine) as session:
        assert session.get(Handoff, pk).pending_rasa is None
    assert retry_pending(engine, RasaClient(rasa.url, "token", attempts=1)) == []
    engine.dispose()


def test_a_conversation_taken_again_is_not_resumed(web) -> None:
    pk = open_handoff(web, "again")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    ona.post(f"{web.url}/api/handoffs/{pk}/resolve", json={"outcome": "solved"})
    engine = db.make_engine(web.database_url)
    with db.session_scope(engine) as session:
        handoff, _ = queue.request_handoff(
            session,
            conversation_id="again",
            reason="asked_for_person",
            language="en",
            channel="rest",
            last_question=None,
            context={},
        )
        handoff.pending_rasa = "resume"  # as if the earlier resume had been missed
    rasa = RasaEvents()
    try:
        assert retry_pending(engine, RasaClient(rasa.url, "token", attempts=1)) == []
    finally:
        rasa.close()
    assert rasa.received == []
    engine.dispose()


@pytest.fixture
def short_agent_timeout(tmp_path, monkeypatch) -> Iterator[None]:
    """handoff.yml with agents gone after 2 s without a heartbeat (the web app checks every 0.5 s)."""
    text = (PROJECT_ROOT / "handoff.yml").read_text()
    path = tmp_path / "handoff-short-timeout.yml"
    path.write_text(re.sub(r"agent_timeout_seconds: \d+", "agent_timeout_seconds: 2", text))
    monkeypatch.setenv("BOT_HANDOFF_CONFIG", str(path))
    get_config.cache_clear()
    yield
    get_config.cache_clear()


async def test_an_agent_who_disconnects_gives_the_chat_back_and_the_customer_is_told(
    database_url, short_agent_timeout
) -> None:
    rasa = RasaEvents()
    run = serve(database_url, rasa.url, "token")
    web = Web(next(run), database_url)
    try:
        pk = open_handoff(web, "left-alone-4a8a08f09d37")
        web.add_user("ona", "agent")
        web.add_user("janis", "agent")
        ona = web.client("ona")
        ona.post(f"{web.url}/api/presence", json={"presence": "online"}).raise_for_status()
        ona.post(f"{web.url}/api/handoffs/{pk}/claim").raise_for_status()
        janis = web.client("janis")
        async with (
            EventStream(f"{web.url}/api/agent/events", cookies=janis.cookies) as console,
            EventStream(f"{web.url}/api/conversations/left-alone-4a8a08f09d37/events") as customer,
        ):
            await console.next("ready")
            assert (await customer.next("handoff")).data["status"] == "assigned"
            # Ona's browser is gone: no more heartbeats. After the timeout the chat is queued.
            requeued = await console.next("handoff", action="requeue", timeout=30)
            assert requeued.data["id"] == pk and requeued.data["status"] == "queued"
            state = await customer.next("handoff", status="queued")
            assert state.data["position"] == 1
        told = await asyncio.to_thread(rasa.events, "left-alone-4a8a08f09d37", "disconnected")
        assert len(told) == 1
        assert "back in the queue (number 1)" in told[0]["text"]
        assert told[0]["data"]["custom"]["handoff"]["status"] == "queued"
        assert told[0]["metadata"] == {
            **told[0]["metadata"],
            "author": "system",
            "display_name": "",
        }
        assert len(told[0]["metadata"]["message_id"]) == 32  # shown once, whichever way it comes
        with db.session_scope(db.make_engine(database_url)) as session:
            handoff = session.get(Handoff, pk)
            assert handoff.status == "queued" and handoff.agent_id is None
            assert handoff.events[-1].note == "the agent was disconnected"
    finally:
        run.close()
        rasa.close()
