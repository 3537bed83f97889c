"""Reading messages for a person: requests in any wording, sensitive topics, frustration."""

from __future__ import annotations

import pytest

from bot.handoff.detect import asks_for_person, sensitive_topic, sounds_frustrated


@pytest.mark.parametrize(
    "text",
    [
        "agent please",
        "human",
        "Operator!!",
        "a real person",
        "I prefer talking to people not machines",
        "can I talk to someone from customer service",
        "let me speak with a manager now",
        "I need a human",
        "chcę porozmawiać z człowiekiem",
        "prosze o konsultanta",
        "noriu kalbėti su žmogumi",
        "gribu runāt ar cilvēku",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "do your agents speak polish",
        "how long does a refund take",
        "is the delivery person allowed to leave it at the door",
        "where is my order",
        "",
        "agent " * 200,
    ],
)
def test_other_messages(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I'm going to sue you", "legal_threat"),
        ("my lawyer will contact you", "legal_threat"),
        ("kreipsiuosi į teismą", "legal_threat"),
        ("sprawa trafi do sądu, mam prawnika", "legal_threat"),
        ("my account was hacked", "account_security"),
        ("I didn't make this order, someone used my card", "account_security"),
        ("unauthorised payment on my account", "account_security"),
        ("I want you to delete all my personal data", "data_protection"),
        ("this is a subject access request under article 15 GDPR", "data_protection"),
        ("I want to file a complaint", "complaint"),
        ("this is a formal complaint about your courier", "complaint"),
    ],
)
def test_sensitive_topics(text: str, topic: str) -> None:
    assert sensitive_topic(text) == topic


@pytest.mark.parametrize(
    "text",
    [
        "how do I make a GDPR request",
        "where can I file a complaint with the consumer authority",
        "how do I delete my account",
        "is my payment data safe",
        "court bouillon recipe",  # not a lawsuit
        "",
    ],
)
def test_questions_about_processes_are_not_sensitive(text: str) -> None:
    assert sensitive_topic(text) is None


def test_only_configured_topics_are_checked() -> None:
    assert sensitive_topic("my account was hacked", ["complaint"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "this is ridiculous",
        "worst service, totally useless",
        "I'm so frustrated with this",
        "WHERE IS MY ORDER",
        "hello???!!!",
        "to beznadziejne",
    ],
)
def test_frustration(text: str) -> None:
    assert sounds_frustrated(text)


@pytest.mark.parametrize(
    "text",
    [
        "where is my order",
        "is the Samsung TV OLED or QLED",
        "<script>alert(1)</script>' OR 1=1; DROP TABLE kb_articles; --",
        "thanks, that helped!",
        "",
    ],
)
def test_calm_messages(text: str) -> None:
    assert not sounds_frustrated(text)
