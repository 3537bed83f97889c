"""A hand-back that Rasa does not accept is retried until it does: the customer is never left
with a paused, silent bot. Rasa here is a small HTTP server standing in for its events endpoint,
so that it can be "down" and then "up" within one test (the e2e tests use the real Rasa)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List

from bot import db
from bot.handoff import queue
from bot.handoff.models import Handoff
from bot.handoff.rasa_api import RasaClient
from bot.web.conversation import retry_pending
from tests.web.conftest import open_handoff


class RasaEvents:
    """Accepts POST /conversations/<id>/tracker/events and records the events."""

    def __init__(self) -> None:
        self.received: List[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"path": self.path, "events": json.loads(body)})
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
