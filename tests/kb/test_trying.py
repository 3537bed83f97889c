""" "Try it": the bot's own rules on a question, with the published articles and with a draft."""

from __future__ import annotations

import dataclasses

import pytest

from bot.kb import editing
from bot.kb.answering import TUNED
from bot.kb.retrieval import Entry, KnowledgeIndex
from bot.kb.trying import route_of, try_question, with_draft

ENTRIES = [
    Entry("gift-cards", "Gift cards"),
    Entry("gift-cards", "do gift cards expire"),
    Entry("gift-cards", "gift card balance"),
    Entry("return-policy", "How long do I have to return an item?"),
    Entry("return-policy", "how many days to send something back"),
]


@pytest.fixture
def index() -> KnowledgeIndex:
    return KnowledgeIndex(ENTRIES)  # lexical retrieval only: fast, no embedding model


def faq(confidence: float = 0.9, **ranking: float):
    return {
        "intent": {"name": "faq", "confidence": confidence},
        "response_selector": {
            "faq": {
                "ranking": [
                    {"intent_response_key": f"faq/{a}", "confidence": c} for a, c in ranking.items()
                ]
            }
        },
    }


def test_published_and_draft_side_by_side(index) -> None:
    draft = editing.content(
        title="Parcel lockers",
        body="Pick it up at a **locker**.",
        questions=["can I send my parcel to a locker", "parcel locker delivery"],
    )
    result = try_question(
        index, "parcel locker delivery", None, TUNED, draft=("parcel-lockers", draft)
    )
    assert result["route"]["to"] == "knowledge_base"
    assert result["published"]["outcome"] == "unknown"
    assert result["draft"]["outcome"] == "answer"
    assert result["draft"]["article_id"] == "parcel-lockers"
    assert result["draft"]["ranking"][0]["article_id"] == "parcel-lockers"
    assert result["published"]["handoff"] is False  # one miss: a person after the second
    assert result["published"]["handoff_on_next_miss"] is True


def test_a_draft_for_agents_only_takes_its_article_away(index) -> None:
    internal = editing.content(
        title="Gift cards", body="Internal.", questions=["do gift cards expire"],
        audience="internal",
    )  # fmt: skip
    changed = with_draft(index, "gift-cards", internal)
    assert changed.article_ids == ["return-policy"]
    assert index.article_ids == ["gift-cards", "return-policy"]  # the live index is untouched


def test_the_model_s_view_counts(index) -> None:
    parse = faq(0.95, **{"gift-cards": 0.97, "return-policy": 0.01})
    result = try_question(index, "do gift cards expire", parse, TUNED)
    assert result["route"] == {
        "intent": "faq",
        "confidence": 0.95,
        "to": "knowledge_base",
        "reason": None,
    }
    assert result["published"]["outcome"] == "answer"
    assert result["published"]["candidates"][0]["article_id"] == "gift-cards"
    assert result["draft"] is None


@pytest.mark.parametrize(
    ("text", "parse", "to", "reason"),
    [
        ("hello", {"intent": {"name": "greet", "confidence": 0.99}}, "other", None),
        ("agent", {"intent": {"name": "request_human", "confidence": 0.9}}, "handoff",
         "asked_for_person"),
        ("I want to talk to a person please", faq(0.4), "handoff", "asked_for_person"),
        ("I will take you to court over this refund", faq(0.8), "handoff", "sensitive_topic"),
        ("do gift cards expire", None, "knowledge_base", None),
        ("what is this", {"intent": {"name": "nlu_fallback", "confidence": 0.3}},
         "knowledge_base", None),
    ],
)  # fmt: skip
def test_where_the_bot_sends_a_message(text, parse, to, reason) -> None:
    route = route_of(text, parse)
    assert (route["to"], route["reason"]) == (to, reason)


def test_a_handoff_route_hands_off_on_both_sides(index) -> None:
    draft = editing.content(title="Gift cards", body="x", questions=["gift card balance"])
    result = try_question(
        index, "I want to talk to a person please", None, TUNED, draft=("gift-cards", draft)
    )
    for side in ("published", "draft"):
        assert result[side]["handoff"] is True
        assert result[side]["handoff_reason"] == "asked_for_person"


def test_a_draft_brings_its_own_answer_passages() -> None:
    published = KnowledgeIndex(
        ENTRIES, passages=[Entry("gift-cards", "Gift cards are valid for 12 months.")]
    )
    draft = editing.content(
        title="Gift cards",
        body="A gift card is valid for **24 months**.\n\n- Check the balance in your account.",
        questions=["do gift cards expire"],
    )
    changed = with_draft(published, "gift-cards", draft)
    assert [p.text for p in changed.passages] == [
        "A gift card is valid for 24 months.",
        "Check the balance in your account.",
    ]
    hidden = dataclasses.replace(draft, audience="internal")
    assert with_draft(published, "gift-cards", hidden).passages == []
