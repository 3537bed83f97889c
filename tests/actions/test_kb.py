"""Knowledge-base actions with a real database and real trackers."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from sqlalchemy import select

from actions.kb import (
    ActionAnswerArticle,
    ActionAnswerFromKb,
    ActionRecordFeedback,
    ActionRejectSuggestions,
)
from bot import db
from bot.kb import repository
from bot.kb.models import ArticleRating
from tests.actions.conftest import customs, make_tracker, responses


async def test_confident_question_is_answered_from_the_database(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "How many days do I have to return something?",
        ranking={"return-policy": 0.95, "how-to-return": 0.03},
    )
    events = await ActionAnswerFromKb().run(dispatcher, tracker, {})
    (answer,) = customs(dispatcher, "kb_answer")
    assert answer["article_id"] == "return-policy"
    assert answer["version"] == 1 and answer["language"] == "en"
    assert 0 < answer["confidence"] <= 1
    assert "14 days" in dispatcher.messages[0]["text"]
    assert responses(dispatcher) == ["utter_kb_ask_helpful"]
    assert SlotSet("last_answer", answer) in events


async def test_edit_in_the_database_changes_the_answer(action_db, dispatcher) -> None:
    with db.session_scope(db.get_engine(action_db)) as session:
        repository.revise_article(
            session,
            "gift-cards",
            "en",
            author="editor",
            body="Gift cards are now valid for 24 months.",
        )
    tracker = make_tracker("Do gift cards expire?", ranking={"gift-cards": 0.97})
    await ActionAnswerFromKb().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == "Gift cards are now valid for 24 months."
    assert customs(dispatcher, "kb_answer")[0]["version"] == 2


async def test_uncovered_question_is_admitted(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "what is the capital of australia",
        intent="out_of_scope",
        confidence=0.95,
        ranking={"company-details": 0.2},
    )
    events = await ActionAnswerFromKb().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_out_of_scope"]  # one message: not ours, rephrase?
    assert customs(dispatcher, "kb_answer") == []
    assert customs(dispatcher, "kb_miss") == [{"count": 1}]
    assert SlotSet("kb_misses", 1.0) in events


async def test_second_miss_hands_over_to_a_person(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "blah blah", intent="nlu_fallback", confidence=0.2, slots={"kb_misses": 1.0}
    )
    events = await ActionAnswerFromKb().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_kb_not_found_handing_over"]
    assert customs(dispatcher, "kb_miss") == [{"count": 2}]
    assert {
        "event": "slot",
        "name": "handoff_reason",
        "value": "not_understood_twice",
        "timestamp": None,
    } in events
    assert {"event": "followup", "name": "action_request_human", "timestamp": None} in events


async def test_with_the_trigger_off_the_second_miss_offers_a_person(
    action_db, dispatcher, handoff_config
) -> None:
    handoff_config(
        lambda t: t.replace("not_understood: {enabled: true", "not_understood: {enabled: false")
    )
    tracker = make_tracker(
        "blah blah", intent="nlu_fallback", confidence=0.2, slots={"kb_misses": 1.0}
    )
    events = await ActionAnswerFromKb().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_kb_not_found_again"]
    assert not [e for e in events if e["event"] == "followup"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I will take you to court over this", "sensitive_topic"),
        ("someone hacked my account and ordered a laptop", "sensitive_topic"),
        ("I want you to delete all my personal data", "sensitive_topic"),
        ("I want to file a formal complaint about the courier", "sensitive_topic"),
        ("this is ridiculous, where is my refund", "frustration"),
        ("WHERE IS MY ORDER", "frustration"),
    ],
)
async def test_sensitive_and_angry_messages_go_to_a_person(
    action_db, dispatcher, text, reason
) -> None:
    events = await ActionAnswerFromKb().run(dispatcher, make_tracker(text), {})
    assert {"event": "slot", "name": "handoff_reason", "value": reason, "timestamp": None} in events
    assert {"event": "followup", "name": "action_request_human", "timestamp": None} in events


async def test_a_question_about_a_sensitive_process_is_answered(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "how do I make a GDPR request", ranking={"gdpr-data-request": 0.9}, confidence=0.99
    )
    await ActionAnswerFromKb().run(dispatcher, tracker, {})
    assert customs(dispatcher, "kb_answer")[0]["article_id"] == "gdpr-data-request"


async def test_triggers_can_be_switched_off(action_db, dispatcher, handoff_config) -> None:
    handoff_config(
        lambda t: t.replace("frustration: {enabled: true}", "frustration: {enabled: false}")
    )
    events = await ActionAnswerFromKb().run(
        dispatcher, make_tracker("this is ridiculous, where is my refund"), {}
    )
    assert not [e for e in events if e["event"] == "followup"]


async def test_grey_zone_offers_candidates_as_buttons(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "refund",
        intent="faq",
        confidence=0.9,
        ranking={"refund-timing": 0.48, "refund-not-received": 0.46, "refund-method": 0.06},
    )
    await ActionAnswerFromKb().run(dispatcher, tracker, {})
    (suggestions,) = customs(dispatcher, "kb_suggestions")
    ids = [s["article_id"] for s in suggestions]
    assert 2 <= len(ids) <= 3 and "refund-timing" in ids
    buttons = dispatcher.messages[0]["buttons"]
    assert buttons[-1]["payload"] == "/none_of_these"
    assert buttons[0]["payload"].startswith('/choose_article{"article_id":')
    titles = {b["payload"]: b["title"] for b in buttons}
    assert titles['/choose_article{"article_id":"refund-timing"}'] == "When will I get my refund?"


async def test_empty_text_is_a_miss(action_db, dispatcher) -> None:
    await ActionAnswerFromKb().run(dispatcher, make_tracker("   "), {})
    assert customs(dispatcher, "kb_miss") == [{"count": 1}]


async def test_hostile_text_is_handled(action_db, dispatcher) -> None:
    text = "<script>alert(1)</script>' OR 1=1; DROP TABLE kb_articles; -- 🙂 ąčęėįšųūž " * 100
    await ActionAnswerFromKb().run(dispatcher, make_tracker(text, intent="nlu_fallback"), {})
    assert customs(dispatcher, "kb_miss") or customs(dispatcher, "kb_suggestions")


async def test_chosen_article_is_answered(action_db, dispatcher) -> None:
    tracker = make_tracker(
        '/choose_article{"article_id":"refund-method"}',
        intent="choose_article",
        entities=[{"entity": "article_id", "value": "refund-method"}],
    )
    await ActionAnswerArticle().run(dispatcher, tracker, {})
    (answer,) = customs(dispatcher, "kb_answer")
    assert answer["article_id"] == "refund-method" and answer["chosen"] is True


async def test_unknown_chosen_article_is_a_miss(action_db, dispatcher) -> None:
    tracker = make_tracker(
        "/choose_article",
        intent="choose_article",
        entities=[{"entity": "article_id", "value": "../../etc/passwd"}],
    )
    await ActionAnswerArticle().run(dispatcher, tracker, {})
    assert customs(dispatcher, "kb_answer") == [] and customs(dispatcher, "kb_miss")


async def test_none_of_these_is_a_miss(action_db, dispatcher) -> None:
    await ActionRejectSuggestions().run(dispatcher, make_tracker("/none_of_these"), {})
    assert customs(dispatcher, "kb_miss") == [{"count": 1}]


async def test_rating_is_recorded(action_db, dispatcher) -> None:
    pending = {"article_id": "gift-cards", "version": 1, "language": "en", "confidence": 0.9}
    tracker = make_tracker("/deny", intent="deny", slots={"last_answer": pending})
    events = await ActionRecordFeedback().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_kb_feedback_sorry"]
    assert SlotSet("last_answer", None) in events
    with db.session_scope(db.get_engine(action_db)) as session:
        (rating,) = session.execute(select(ArticleRating)).scalars()
        assert (rating.article_id, rating.helpful, rating.conversation_id) == (
            "gift-cards",
            False,
            "test-conversation",
        )


async def test_plain_yes_with_nothing_pending(action_db, dispatcher) -> None:
    await ActionRecordFeedback().run(dispatcher, make_tracker("yes", intent="affirm"), {})
    assert responses(dispatcher) == ["utter_kb_feedback_none"]


async def test_missed_request_for_a_person_is_honoured(action_db, dispatcher) -> None:
    events = await ActionAnswerFromKb().run(dispatcher, make_tracker("agent please"), {})
    assert FollowupAction("action_request_human") in events
    assert dispatcher.messages == []


async def test_the_second_unhelpful_answer_brings_in_a_person(action_db, dispatcher) -> None:
    for article in ("gift-cards", "return-policy"):
        pending = {"article_id": article, "version": 1, "language": "en", "confidence": 0.9}
        tracker = make_tracker("/deny", intent="deny", slots={"last_answer": pending})
        events = await ActionRecordFeedback().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_kb_feedback_sorry", "utter_kb_feedback_handing_over"]
    assert SlotSet("handoff_reason", "negative_feedback") in events
    assert FollowupAction("action_request_human") in events
