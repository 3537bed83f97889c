"""The customer's chat on the web app: the history a returning widget gets (only what the
customer saw), the widget's script and configuration, the demo store page, and CORS for sites
that embed the widget (customer routes only). Rasa here is a small HTTP server answering the
tracker endpoint with a recorded conversation; the e2e tests use the real one."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest
import requests

from bot.web import chat
from bot.web.chat import customer_items
from tests.web.conftest import Web, open_handoff, serve

CUSTOMER = "f3a9c1d2e4b5a6978877665544332211"
EVENTS: List[Dict[str, Any]] = [
    {"event": "action", "name": "action_session_start", "timestamp": 1.0},
    {
        "event": "user",
        "text": "how long do I have to return something?",
        "timestamp": 2.0,
        "parse_data": {"intent": {"name": "faq", "confidence": 0.93}},
        "metadata": {"message_id": "m-1", "language": "en"},
    },
    {"event": "bot", "text": "You have **14 days**.", "timestamp": 3.0, "data": {}},
    {
        "event": "bot",
        "text": None,
        "timestamp": 3.1,
        "data": {"custom": {"kb_answer": {"article_id": "return-policy", "version": 2}}},
    },
    {
        "event": "bot",
        "text": "Did this help?",
        "timestamp": 3.2,
        "data": {
            "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
        },
    },
    {"event": "user", "text": "/affirm", "timestamp": 4.0, "parse_data": {}},
    {
        "event": "user",
        "text": "/request_human",
        "timestamp": 4.2,
        "metadata": {"message_id": "m-2", "shown": "Talk to a person"},
    },
    {"event": "user", "text": "plain", "timestamp": 4.3, "metadata": {"shown": "not used"}},
    {
        "event": "bot",
        "text": None,
        "timestamp": 4.5,
        "data": {"custom": {"kb_suggestions": [{"article_id": "x", "confidence": 0.41}]}},
    },
    {"event": "slot", "name": "customer_email", "value": "kaja@example.com", "timestamp": 5.0},
    {
        "event": "bot",
        "text": "Hello, Rita here.",
        "timestamp": 6.0,
        "data": {},
        "metadata": {"author": "agent", "display_name": "Rita"},
    },
    {
        "event": "bot",
        "text": "Rita has joined.",
        "timestamp": 5.5,
        "data": {"custom": {"handoff": {"status": "assigned", "agent": "Rita"}}},
        "metadata": {"author": "system", "display_name": ""},
    },
]


def test_history_is_what_the_customer_saw_and_nothing_internal() -> None:
    items = customer_items(EVENTS)
    assert items == [
        {
            "author": "customer",
            "text": "how long do I have to return something?",
            "id": "m-1",
            "time": 2.0,
        },
        {"text": "You have **14 days**.", "time": 3.0},
        {"custom": {"kb_answer": {"article_id": "return-policy", "version": 2}}, "time": 3.1},
        {
            "text": "Did this help?",
            "time": 3.2,
            "quick_replies": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        },
        {"author": "customer", "text": "Yes", "time": 4.0},  # the button's title, not /affirm
        {"author": "customer", "text": "Talk to a person", "id": "m-2", "time": 4.2},
        {"author": "customer", "text": "plain", "time": 4.3},
        {"text": "Hello, Rita here.", "time": 6.0, "author": "agent", "name": "Rita"},
        {"text": "Rita has joined.", "time": 5.5, "author": "system"},
        {
            "custom": {"handoff": {"status": "assigned", "agent": "Rita"}},
            "time": 5.5,
            "author": "system",
        },
    ]
    shown = json.dumps(items)
    for internal in ("faq", "0.93", "kb_suggestions", "kaja@example.com", "action_session_start"):
        assert internal not in shown


class RasaTracker:
    """Answers GET /conversations/<id>/tracker with EVENTS for CUSTOMER, an empty one else."""

    def __init__(self) -> None:
        self.asked: List[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append(self.path)
                events = EVENTS if f"/conversations/{CUSTOMER}/tracker" in self.path else []
                payload = json.dumps({"events": events}).encode()
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


@pytest.fixture
def rasa() -> Iterator[RasaTracker]:
    server = RasaTracker()
    yield server
    server.close()


@pytest.fixture
def chat_web(database_url: str, rasa: RasaTracker) -> Iterator[Web]:
    """The web app in front of the recorded Rasa, allowing one site to embed the widget."""
    gen = serve(
        database_url,
        rasa.url,
        "token",
        widget_origins="https://shop.example",
        widget_socket_url="https://chat.shop.example",
    )
    yield Web(next(gen), database_url)
    gen.close()


def test_history_with_the_handoff_state(chat_web: Web, rasa: RasaTracker) -> None:
    open_handoff(chat_web, CUSTOMER)
    reply = requests.get(f"{chat_web.url}/api/conversations/{CUSTOMER}/history")
    assert reply.status_code == 200
    body = reply.json()
    assert body["messages"] == customer_items(EVENTS)
    assert body["handoff"]["status"] == "queued" and body["handoff"]["position"] == 1
    assert rasa.asked == [f"/conversations/{CUSTOMER}/tracker?token=token"]


@pytest.mark.parametrize(
    "conversation_id", ["short", "x" * 129, "has.dots.in.it.1234567", "%2e%2e"]
)
def test_history_refuses_guessable_or_odd_ids(chat_web: Web, rasa, conversation_id: str) -> None:
    reply = requests.get(f"{chat_web.url}/api/conversations/{conversation_id}/history")
    assert reply.status_code in (404, 422)
    assert rasa.asked == []


def test_history_when_rasa_is_down_says_so(web: Web) -> None:
    reply = requests.get(f"{web.url}/api/conversations/{CUSTOMER}/history")
    assert reply.status_code == 503
    assert reply.json()["detail"] == "the conversation server is not answering"


def test_cors_for_the_embedding_site_on_customer_routes_only(chat_web: Web) -> None:
    def preflight(path: str, origin: str) -> requests.Response:
        return requests.options(
            chat_web.url + path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    allowed = preflight(f"/api/conversations/{CUSTOMER}/ticket", "https://shop.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-credentials" not in allowed.headers
    resume = requests.options(
        f"{chat_web.url}/api/conversations/{CUSTOMER}/events",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
    )
    assert resume.status_code == 200
    assert "last-event-id" in resume.headers["access-control-allow-headers"].lower()
    other_site = preflight(f"/api/conversations/{CUSTOMER}/ticket", "https://evil.example")
    assert "access-control-allow-origin" not in other_site.headers
    agent_api = preflight("/api/handoffs/1/claim", "https://shop.example")
    assert "access-control-allow-origin" not in agent_api.headers
    config = requests.get(
        f"{chat_web.url}/api/widget/config", headers={"Origin": "https://shop.example"}
    )
    assert config.headers["access-control-allow-origin"] == "https://shop.example"
    assert config.json() == {"socket_url": "https://chat.shop.example", "socket_path": "/socket.io"}


def test_demo_store_page_allows_the_chat_server_and_nothing_else(chat_web: Web) -> None:
    page = requests.get(f"{chat_web.url}/")
    assert page.status_code == 200 and '<script src="/widget.js" async>' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' https://chat.shop.example wss://chat.shop.example;" in policy


def test_widget_script_served_when_built(web: Web, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(chat, "WIDGET_SCRIPT", tmp_path / "missing.js")
    missing = requests.get(f"{web.url}/widget.js")
    assert missing.status_code == 503 and "make install" in missing.json()["detail"]
    built = tmp_path / "widget.js"
    built.write_text("(()=>{})();")
    monkeypatch.setattr(chat, "WIDGET_SCRIPT", built)
    script = requests.get(f"{web.url}/widget.js")
    assert script.status_code == 200 and script.text == "(()=>{})();"
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
