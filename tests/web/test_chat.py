"""The customer's chat on the web app: the widget's script and configuration, the demo store
page, and CORS for sites that embed the widget (customer routes only, the live stream's resume
header included). What the widget reads of a conversation is tested with the customer API
(tests/web/test_live.py: ``/messages``, ``/history``, ``/events``)."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from bot.stack import free_port
from bot.web import chat
from tests.web.conftest import Web, serve

CUSTOMER = "f3a9c1d2e4b5a6978877665544332211"


@pytest.fixture
def chat_web(database_url: str) -> Iterator[Web]:
    """The web app allowing one site to embed the widget (no Rasa server behind it)."""
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "token",
        widget_origins="https://shop.example",
        widget_socket_url="https://chat.shop.example",
    )
    yield Web(next(gen), database_url)
    gen.close()


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
