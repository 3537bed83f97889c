"""The handoff package built from tracker events."""

from __future__ import annotations

from bot.handoff.context import CONTEXT_VERSION, build_context

EVENTS = [
    {"event": "action", "name": "action_session_start", "timestamp": 1700000000.0},
    {
        "event": "user",
        "text": "how long do refunds take",
        "timestamp": 1700000001.0,
        "input_channel": "rest",
        "metadata": {"page": "/checkout", "device": "mobile"},
        "parse_data": {"intent": {"name": "faq", "confidence": 0.91}, "entities": []},
    },
    {"event": "bot", "text": "Refunds take 3-5 business days.", "timestamp": 1700000002.0},
    {
        "event": "bot",
        "timestamp": 1700000002.1,
        "data": {
            "custom": {
                "kb_answer": {"article_id": "refund-timing", "version": 3, "confidence": 0.8}
            }
        },
    },
    {
        "event": "user",
        "text": "/deny",
        "timestamp": 1700000010.0,
        "parse_data": {"intent": {"name": "deny", "confidence": 1.0}, "entities": []},
    },
    {
        "event": "user",
        "text": "I want a human",
        "timestamp": 1700000020.0,
        "parse_data": {"intent": {"name": "request_human", "confidence": 0.99}, "entities": []},
    },
]


def build(**slots):
    return build_context(
        EVENTS,
        conversation_id="c1",
        reason="asked_for_person",
        slots={"language": "en", **slots},
        ratings=[{"article_id": "refund-timing", "version": 3, "helpful": False}],
    )


def test_package_has_the_full_context() -> None:
    context = build()
    assert context["version"] == CONTEXT_VERSION
    assert context["reason"] == "asked_for_person"
    assert context["last_question"] == "how long do refunds take"
    assert context["channel"] == "rest"
    assert context["page"] == "/checkout" and context["device"] == "mobile"
    assert [m["author"] for m in context["transcript"]] == [
        "customer",
        "bot",
        "customer",
        "customer",
    ]
    assert context["transcript"][0]["time"].startswith("2023-11-14T22:13:21")
    assert context["transcript"][2]["text"] == "(clicked) No, it didn't help"
    assert context["understood"][0] == {
        "text": "how long do refunds take",
        "intent": "faq",
        "confidence": 0.91,
        "entities": [],
    }
    assert context["articles"][0]["article_id"] == "refund-timing"
    assert context["articles"][0]["helpful"] is False


def test_unverified_customer_details_are_not_passed_on() -> None:
    context = build(order_number="AM-100482", order_email="x@example.com", order_verified=False)
    assert context["customer"] == {
        "name": None,
        "email": None,
        "order_number": None,
        "verified": False,
    }


def test_verified_customer_details_are_passed_on() -> None:
    context = build(
        order_number="AM-100482",
        order_email="x@example.com",
        order_verified=True,
        customer_name="Ieva",
    )
    assert context["customer"]["order_number"] == "AM-100482"
    assert context["customer"]["name"] == "Ieva"


def test_transcript_names_agents_and_system_lines() -> None:
    from bot.handoff.context import transcript_of

    events = [
        *EVENTS,
        {
            "event": "bot",
            "text": "Hi, Ona here.",
            "timestamp": 1700000100.0,
            "metadata": {"author": "agent", "display_name": "Ona"},
        },
        {
            "event": "bot",
            "text": "Ona has joined the chat.",
            "timestamp": 1700000099.0,
            "metadata": {"author": "system"},
        },
    ]
    lines = transcript_of(events)
    assert lines[0] == {
        "time": "2023-11-14T22:13:21+00:00",
        "author": "customer",
        "text": "how long do refunds take",
        "intent": "faq",
    }
    assert lines[-2] == {**lines[-2], "author": "agent", "name": "Ona", "text": "Hi, Ona here."}
    assert lines[-1]["author"] == "system"


def test_summary_says_what_why_and_what_was_tried() -> None:
    context = build_context(
        EVENTS,
        conversation_id="c1",
        reason="negative_feedback",
        slots={},
        ratings=[{"article_id": "refund-timing", "version": 3, "helpful": False}],
    )
    lines = context["summary"].splitlines()
    assert lines[0] == "Wants: how long do refunds take"
    assert lines[1] == "Bot tried: refund-timing (did not help)"
    assert lines[2].startswith("Handed off: the customer said answers did not help")
    assert "customer not verified" in lines[2] and lines[2].endswith("language en")
