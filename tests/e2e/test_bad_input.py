"""Bad input over REST: a clear answer or a 4xx, never a crash, a 5xx or another's data."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.conftest import custom, texts

pytestmark = pytest.mark.e2e


def post_raw(stack, body: bytes, content_type: str = "application/json") -> requests.Response:
    return requests.post(
        f"{stack.url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        (b"{not json", 400, "JSON"),
        (b"[1, 2, 3]", 400, "JSON object"),
        (b'{"message": "hi"}', 400, "sender"),
        (b'{"sender": "", "message": "hi"}', 400, "sender"),
        (b'{"sender": "x", "message": ""}', 400, "empty"),
        (b'{"sender": "x", "message": "   \\n\\t "}', 400, "empty"),
        (b'{"sender": "x", "message": 42}', 400, "text"),
        (b'{"sender": "x", "message": null}', 400, "text"),
        (b'{"sender": "x", "message": "hi", "metadata": "page"}', 400, "metadata"),
        (b"", 400, "JSON"),
    ],
)
def test_malformed_requests_get_a_clear_4xx(stack, body, status, fragment) -> None:
    reply = post_raw(stack, body)
    assert reply.status_code == status
    assert fragment in reply.json()["error"]


def test_oversized_message_is_refused_clearly(stack, sender) -> None:
    body = json.dumps({"sender": sender, "message": "a" * 20000}).encode()
    reply = post_raw(stack, body)
    assert reply.status_code == 413
    assert "limit" in reply.json()["error"]
    assert "virtual assistant" in texts(stack.say(sender, "hi"))  # the conversation goes on


@pytest.mark.parametrize(
    "message",
    [
        "<script>alert('x')</script> how do I return?",
        "<img src=x onerror=alert(1)> refund",
        "'; DROP TABLE kb_articles; -- where is my order",
        "Robert'); DELETE FROM orders; --",
        "🙂🙂🙂 прывітанне 你好 مرحبا ąčęėįšųūž",
        "\u202e\u200b\u0000zero width and bidi",
        "a" * 1999,
        "?" * 500,
    ],
)
def test_hostile_text_gets_an_answer(stack, sender, message) -> None:
    reply = requests.post(
        f"{stack.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message},
        timeout=60,
    )
    assert reply.status_code == 200
    messages = reply.json()
    assert messages, "never silence"
    assert custom(messages, "error") is None


def test_conversations_are_separate(stack, sender) -> None:
    stack.say(sender, "where is my order?")
    stack.say(sender, "AM-100482")
    stack.say(sender, "ieva.kazlauskiene@example.com")
    stranger = stack.say(
        sender + "-stranger", "what is the status of my order, email ieva.kazlauskiene@example.com"
    )
    assert "Samsung" not in texts(stranger)
    assert custom(stranger, "order_status") is None


def test_knowledge_tables_survive_sql_like_text(stack, sender) -> None:
    stack.say(sender, "'; DROP TABLE kb_articles; --")
    reply = stack.say(sender, "How many days do I have to return something?")
    assert custom(reply, "kb_answer")["article_id"] == "return-policy"
