"""Conversations with the running stack over the REST channel, as a customer has them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot import db
from bot.handoff.models import Handoff
from bot.kb import repository
from tests.e2e.conftest import buttons, custom, texts

pytestmark = pytest.mark.e2e


def test_greeting(stack, sender) -> None:
    reply = stack.say(sender, "hello there")
    assert "virtual assistant" in texts(reply)


def test_question_is_answered_with_the_article(stack, sender) -> None:
    reply = stack.say(sender, "How many days do I have to return something?")
    answer = custom(reply, "kb_answer")
    assert answer["article_id"] == "return-policy"
    assert answer["version"] >= 1 and 0 < answer["confidence"] <= 1
    assert "14 days" in texts(reply)
    assert [b["payload"] for b in buttons(reply)] == ["/affirm", "/deny"]


def test_answer_arrives_whole_not_split_into_bubbles(stack, sender) -> None:
    reply = stack.say(sender, "How do I return an item?")
    assert custom(reply, "kb_answer")["article_id"] == "how-to-return"
    body = [m["text"] for m in reply if m.get("text") and "\n\n" in m["text"]]
    assert body, "the Markdown answer should be one message with its paragraphs"


def test_typos_still_find_the_answer(stack, sender) -> None:
    reply = stack.say(sender, "how lnog does delivry to latvia tkae")
    assert custom(reply, "kb_answer")["article_id"] == "delivery-latvia"


def test_rating_is_stored(stack, sender) -> None:
    stack.say(sender, "Do gift cards expire?")
    reply = stack.say(sender, "/deny")
    assert "talk to a person" in texts(reply).lower()
    with db.session_scope(db.make_engine(stack.database_url)) as session:
        from bot.kb.models import ArticleRating

        rating = session.execute(
            select(ArticleRating).where(ArticleRating.conversation_id == sender)
        ).scalar_one()
        assert rating.article_id == "gift-cards" and rating.helpful is False


def test_vague_question_gets_a_clarification(stack, sender) -> None:
    reply = stack.say(sender, "refund")
    suggestions = custom(reply, "kb_suggestions")
    assert suggestions and 2 <= len(suggestions) <= 3
    choice = buttons(reply)[0]
    picked = stack.say(sender, choice["payload"])
    answer = custom(picked, "kb_answer")
    assert answer["article_id"] == suggestions[0]["article_id"] and answer["chosen"]


def test_unknown_question_then_a_second_miss_brings_in_a_person(stack, sender) -> None:
    first = stack.say(sender, "What will the weather be in Riga tomorrow?")
    assert custom(first, "kb_answer") is None
    assert custom(first, "kb_miss") == {"count": 1}
    second = stack.say(sender, "who won the football match yesterday")
    assert custom(second, "kb_miss") == {"count": 2}
    handoff = custom(second, "handoff")
    assert handoff["reason"] == "not_understood_twice" and handoff["reference"].startswith("H-")
    # Nobody of the English team is online in this stack: the customer is told how to reach us.
    assert handoff["status"] == "offline"


def test_a_legal_threat_goes_straight_to_a_person(stack, sender) -> None:
    handoff = custom(stack.say(sender, "I will sue you if I don't get my money back"), "handoff")
    assert handoff["reason"] == "sensitive_topic"


def test_request_for_a_person_is_recorded_with_context(stack, sender) -> None:
    stack.say(sender, "How long does a refund take?")
    reply = stack.say(sender, "this is useless, let me talk to a real person")
    handoff = custom(reply, "handoff")
    assert handoff["status"] == "offline" and handoff["reason"] == "asked_for_person"
    assert handoff["reference"] in texts(reply)
    again = custom(stack.say(sender, "human please"), "handoff")
    assert again["reference"] == handoff["reference"]  # no second handoff
    with db.session_scope(db.make_engine(stack.database_url)) as session:
        request = session.execute(
            select(Handoff).where(Handoff.conversation_id == sender)
        ).scalar_one()
        assert request.last_question == "How long does a refund take?"
        authors = [m["author"] for m in request.context["transcript"]]
        assert authors[:2] == ["customer", "bot"]
        assert request.context["articles"][0]["article_id"] == "refund-timing"


def test_order_lookup_with_the_right_email(stack, sender) -> None:
    assert "order number" in texts(stack.say(sender, "where is my order?")).lower()
    assert "e-mail" in texts(stack.say(sender, "AM-100482")).lower()
    reply = stack.say(sender, "ieva.kazlauskiene@example.com")
    status = custom(reply, "order_status")
    assert status["found"] and status["status"] == "in_transit"
    assert "DPD" in texts(reply)


def test_order_lookup_with_a_wrong_email_reveals_nothing(stack, sender) -> None:
    stack.say(sender, "where is my order?")
    stack.say(sender, "AM-100482")
    wrong_email = stack.say(sender, "someone.else@example.com")
    assert custom(wrong_email, "order_status") == {"found": False}
    assert "DPD" not in texts(wrong_email) and "Samsung" not in texts(wrong_email)

    other = "e2e-other-" + sender
    stack.say(other, "where is my order?")
    stack.say(other, "AM-999999")
    wrong_number = stack.say(other, "ieva.kazlauskiene@example.com")
    assert texts(wrong_number) == texts(wrong_email)  # the same words either way


def test_order_lookup_attempts_are_limited(stack, sender) -> None:
    for _ in range(3):
        stack.say(sender, "order status")
        stack.say(sender, "AM-999999")
        last = stack.say(sender, "nobody@example.com")
    assert "can't check more orders" in texts(last)
    stack.say(sender, "order status")  # even the right details are not looked up now
    assert custom(stack.say(sender, "AM-100482"), "order_status") is None


def test_person_requested_in_the_middle_of_the_form(stack, sender) -> None:
    stack.say(sender, "where is my order")
    reply = stack.say(sender, "actually I want to speak to a human agent")
    assert custom(reply, "handoff")["reason"] == "asked_for_person"
    after = stack.say(sender, "hello")
    assert "virtual assistant" in texts(after)  # the form is over


def test_start_over(stack, sender) -> None:
    stack.say(sender, "where is my order")
    reply = stack.say(sender, "start over")
    assert "start over" in texts(reply).lower()
    assert "virtual assistant" in texts(stack.say(sender, "hi"))


def test_are_you_a_bot(stack, sender) -> None:
    assert "bot" in texts(stack.say(sender, "am I talking to a real human?")).lower()


def test_answer_edited_in_the_database_changes_within_seconds(stack, sender) -> None:
    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        original = repository.get_article(session, "public-holidays-hours", "en").body
        repository.revise_article(
            session,
            "public-holidays-hours",
            "en",
            author="e2e",
            body="EDITED: we are closed on public holidays.",
        )
    try:
        reply = stack.say(sender, "Are you open on public holidays?")
        assert "EDITED: we are closed on public holidays." in texts(reply)
    finally:
        with db.session_scope(engine) as session:
            repository.revise_article(
                session, "public-holidays-hours", "en", author="e2e", body=original
            )


def test_new_article_is_findable_before_retraining(stack, sender) -> None:
    with db.session_scope(db.make_engine(stack.database_url)) as session:
        repository.save_article(
            session,
            article_id="e2e-drone-flying",
            language="en",
            title="Can I fly a drone bought from you in Lithuania?",
            body="Drones over 250 g must be registered with the Transport Competence Agency.",
            questions=[
                "do i need to register my drone",
                "drone registration rules lithuania",
                "drone licence needed?",
            ],
            status="published",
            author="e2e",
        )
    time.sleep(1.0)  # the action server's index refreshes every 0.5 s in this stack
    reply = stack.say(sender, "do I need to register my drone in Lithuania")
    assert custom(reply, "kb_answer")["article_id"] == "e2e-drone-flying"


def test_language_from_metadata_is_kept(stack, sender) -> None:
    stack.say(sender, "hi", metadata={"language": "lt"})
    stack.say(sender, "I want to talk to a person")
    with db.session_scope(db.make_engine(stack.database_url)) as session:
        request = session.execute(
            select(Handoff).where(Handoff.conversation_id == sender)
        ).scalar_one()
    assert request.language == "lt" and request.context["language"] == "lt"
    assert stack.tracker(sender)["slots"]["language"] == "lt"  # kept in the conversation


@pytest.mark.parametrize("wording", ["agent please", "I prefer talking to people not machines"])
def test_any_wording_of_asking_for_a_person_works(stack, sender, wording) -> None:
    handoff = custom(stack.say(sender, wording), "handoff")
    assert handoff and handoff["reason"] == "asked_for_person"
