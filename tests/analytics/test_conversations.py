"""Conversations from Rasa's rows: where one ends and the next begins, and what each holds."""

from __future__ import annotations

import json
from typing import Any, Tuple

from bot.analytics.conversations import ORDER_TOPIC, SESSION_GAP, sessions_of
from bot.settings import PROJECT_ROOT

T0 = 1_793_000_000.0  # a Unix time


def row(kind: str, seconds: float, **event: Any) -> Tuple[str, float, str]:
    return kind, T0 + seconds, json.dumps({"event": kind, **event})


def user(seconds: float, text: str, intent: str = "faq") -> Tuple[str, float, str]:
    return row("user", seconds, text=text, parse_data={"intent": {"name": intent}})


def bot(seconds: float, **custom: Any) -> Tuple[str, float, str]:
    return row("bot", seconds, text=None, data={"custom": custom})


ANSWER = {"article_id": "gift-cards", "version": 1, "language": "en"}


def test_the_gap_matches_the_domain() -> None:
    domain = (PROJECT_ROOT / "domain.yml").read_text()
    minutes = int(SESSION_GAP.total_seconds() // 60)
    assert f"session_expiration_time: {minutes}" in domain


def test_sessions_split_at_session_started_and_at_silence() -> None:
    gap = SESSION_GAP.total_seconds()
    found = sessions_of(
        "c1",
        [
            row("session_started", 0),
            user(1, "gift card"),
            bot(2, kb_answer=ANSWER),
            row("session_started", 600),  # Rasa started a new session (a restart, say)
            user(601, "again"),
            user(601 + gap + 1, "after an hour of silence"),
        ],
    )
    assert [c.customer_messages for c in found] == [1, 1, 1]
    assert [c.followed for c in found] == [True, True, False]
    assert found[0].topics == {"gift-cards"} and found[0].answered
    assert found[1].answered is False


def test_a_session_start_before_anything_is_said_starts_nothing_new() -> None:
    found = sessions_of(
        "c1", [row("session_started", 0), row("session_started", 5), user(6, "hello")]
    )
    assert len(found) == 1 and found[0].started.timestamp() == T0 + 5


def test_misses_are_what_the_customer_typed_not_button_payloads() -> None:
    found = sessions_of(
        "c1",
        [
            user(0, "do you gift wrap"),
            bot(1, kb_suggestions=[{"article_id": "gift-cards"}]),
            user(2, "/none_of_these"),
            bot(3, kb_miss={"count": 1}),
            bot(4, kb_miss={"count": 2}),  # nothing new typed: not counted twice
        ],
    )
    assert [text for _, text in found[0].misses] == ["do you gift wrap"]
    assert found[0].customer_messages == 2


def test_language_order_status_agents_and_verified_email() -> None:
    meta = {"author": "agent", "display_name": "Ona"}
    found = sessions_of(
        "c1",
        [
            row("slot", 0, name="session_started_metadata", value={"language": "lt-LT"}),
            user(1, "kur mano užsakymas", intent="order_status"),
            row("slot", 2, name="order_email", value=" Ann@Example.COM "),
            row("slot", 2, name="order_verified", value=True),
            bot(3, order_status={"found": True}),
            row("bot", 4, text="Labas", data={}, metadata=meta),
        ],
    )
    (conversation,) = found
    assert conversation.language == "lt"
    assert conversation.topics == {ORDER_TOPIC} and conversation.answered
    assert conversation.verified_email == "ann@example.com"
    assert [t.timestamp() for t in conversation.agent_messages] == [T0 + 4]


def test_broken_rows_are_skipped() -> None:
    found = sessions_of(
        "c1",
        [
            ("user", T0, "{not json"),
            ("user", "not a time", json.dumps({"text": "x"})),
            ("user", T0 + 1, json.dumps(["a", "list"])),
            ("bot", T0 + 2, json.dumps({"data": {"custom": "text"}})),
            ("bot", T0 + 2, json.dumps({"data": "text", "metadata": [1]})),
            ("user", T0 + 2, json.dumps({"text": "hi", "parse_data": ["x"]})),
            ("user", T0 + 2, json.dumps({"text": "hi", "parse_data": {"intent": "x"}})),
            ("slot", T0 + 2, json.dumps({"name": "language", "value": ["lt"]})),
            user(3, "fine"),
        ],
    )
    assert len(found) == 1 and found[0].customer_messages == 3
