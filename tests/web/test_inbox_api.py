"""The inbox's API against the running web app and a real database: messages from the four
sources (a miss written by Rasa's own tracker store, a bad rating, an agent's report through the
agent API, a handoff through the queue) grouped with counts, sources and conversations; masked
transcripts; the three actions and the group leaving the inbox; roles and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot import db
from bot.kb import repository, sources
from bot.kb.models import ArticleRating
from bot.settings import PROJECT_ROOT
from bot.stack import free_port
from tests.web.conftest import Web, open_handoff, serve

INBOX = "/api/editor/inbox"
ARTICLES = ("gift-cards", "return-policy")


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The web app (no Rasa server) with two demo articles, an editor ``edita``, a second
    editor ``ben`` and an agent ``ona``."""
    chosen = [PROJECT_ROOT / "data" / "kb" / "en" / f"{a}.md" for a in ARTICLES]
    with db.session_scope(db.make_engine(database_url)) as session:
        sources.import_sources(session, [sources.parse_article(path) for path in chosen])
    gen = serve(database_url, f"http://127.0.0.1:{free_port()}", "no-rasa")
    running = Web(next(gen), database_url)
    running.add_user("edita", "editor")
    running.add_user("ben", "editor")
    running.add_user("ona", "agent")
    yield running
    gen.close()


async def miss(conversations, conversation_id: str, text: str) -> None:
    """What the bot did not understand, as the action server's reply leaves it in the tracker."""
    await conversations.say(
        conversation_id,
        UserUttered(text, {"name": "nlu_fallback", "confidence": 0.3}),
        BotUttered("Sorry, I don't know that yet."),
        BotUttered(None, data={"custom": {"kb_miss": {"count": 1}}}),
    )


def groups(web: Web, http, **params: Any) -> Dict[str, Any]:
    """The inbox's groups as ``http`` (an editor's session) gets them."""
    reply = http.get(f"{web.url}{INBOX}", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def editor(web: Web, username: str = "edita"):
    return web.client(username)


def by_label(found: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {g["label"]: g for g in found["groups"]}


async def test_sources_grouped_with_counts_and_masked_transcripts(web, conversations) -> None:
    await miss(conversations, "conv-btc-1", "can I pay with bitcoin")
    await miss(conversations, "conv-btc-2", "can I pay in crypto? I'm jonas@example.com")
    await miss(conversations, "conv-btc-3", "can I pay with bitcoin")
    await conversations.say(
        "conv-rated",
        UserUttered("how long is a gift card valid", {"name": "faq", "confidence": 0.9}),
        BotUttered("Valid 12 months.", data={"custom": {"kb_answer": {"article_id": "gift-cards", "version": 1}}}),
    )  # fmt: skip
    with db.session_scope(db.make_engine(web.database_url)) as session:
        session.add(ArticleRating(conversation_id="conv-rated", article_id="gift-cards", language="en", version=1, helpful=False))  # fmt: skip
    pk = open_handoff(web, "conv-person", question="my tv AM-100482 is broken, call +370 612 34567")
    agent = web.client("ona")
    report = agent.post(
        f"{web.url}/api/handoffs/{pk}/wrong-answer",
        json={
            "bot_text": "Returns take 14 days.",
            "customer_text": "the television stopped working",
        },
    )
    assert report.status_code == 200, report.text

    http = editor(web)
    found = groups(web, http)
    assert found["total"] == 6 and found["read"] == 6 and found["pending"] == 0
    assert found["cap"] == 5000 and found["threshold"] == 0.55
    labelled = by_label(found)
    bitcoin = labelled["can I pay with bitcoin"]
    assert bitcoin["count"] == 3 and bitcoin["sources"] == {"not_understood": 3}
    assert found["groups"][0]["id"] == bitcoin["id"]  # the largest first
    assert {m["text"]: m["count"] for m in bitcoin["messages"]} == {
        "can I pay with bitcoin": 2,
        "can I pay in crypto? I'm [email]": 1,
    }
    assert sorted(c["conversation_id"] for c in bitcoin["conversations"]) == [
        "conv-btc-1", "conv-btc-2", "conv-btc-3",
    ]  # fmt: skip
    tv = next(g for g in found["groups"] if "handoff" in g["sources"])
    assert tv["sources"] == {"handoff": 1, "wrong_answer": 1}
    assert {m["text"] for m in tv["messages"]} == {
        "my tv [order number] is broken, call [phone]",
        "the television stopped working",
    }
    rated = labelled["how long is a gift card valid"]
    assert rated["sources"] == {"not_helpful": 1} and rated["articles"] == ["gift-cards"]
    assert sum(g["count"] for g in found["groups"]) == 6 and found["group_count"] == 3

    only = groups(web, http, source="handoff")
    assert only["total"] == 1 and only["groups"][0]["sources"] == {"handoff": 1}
    page = groups(web, http, offset=1, limit=1)
    assert len(page["groups"]) == 1 and page["groups"][0]["id"] == found["groups"][1]["id"]

    transcript = http.get(f"{web.url}{INBOX}/conversations/conv-btc-2").json()
    assert [line["author"] for line in transcript["lines"]] == ["customer", "bot"]
    assert transcript["lines"][0]["text"] == "can I pay in crypto? I'm [email]"
    assert transcript["lines"][0]["intent"] == "nlu_fallback"
    assert http.get(f"{web.url}{INBOX}/conversations/nobody").status_code == 404


async def test_a_missed_question_handed_over_is_one_message(web, conversations) -> None:
    """Not understood, then handed to a person with it as the last question: one message with
    both reasons; the group lists both records, and dismissing it handles both."""
    await miss(conversations, "conv-twice", "do you sell gift wrapping?")
    pk = open_handoff(web, "conv-twice", question="Do you sell gift wrapping")
    http = editor(web)
    found = groups(web, http)
    assert found["total"] == 1 and found["group_count"] == 1
    (group,) = found["groups"]
    assert group["count"] == 1 and group["sources"] == {"not_understood": 1, "handoff": 1}
    assert group["messages"] == [
        {"text": "do you sell gift wrapping?", "count": 1, "sources": ["not_understood", "handoff"]}
    ]
    assert len(group["items"]) == 2 and group["items"][-1] == f"handoff:{pk}"
    done = http.post(f"{web.url}{INBOX}/dismiss", json={"items": group["items"], "label": "x"})
    assert done.status_code == 200 and done.json()["handled"] == 2
    assert groups(web, http)["total"] == 0


async def test_add_to_article_then_the_group_is_gone(web, conversations) -> None:
    await miss(conversations, "c1", "can I pay for a gift card with bitcoin")
    await miss(conversations, "c2", "buy gift card with bitcoin, my card 4111 1111 1111 1111")
    http, ben = editor(web), editor(web, "ben")
    group = groups(web, http)["groups"][0]
    body = {
        "items": group["items"],
        "label": group["label"],
        "article_id": "gift-cards",
        "language": "en",
        "questions": [m["text"] for m in group["messages"]],
        "publish": True,
    }
    done = http.post(f"{web.url}{INBOX}/add-to-article", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["action"] == "add_to_article" and done.json()["handled"] == 2
    assert done.json()["author"] == "edita"
    article = http.get(f"{web.url}/api/editor/articles/en/gift-cards").json()
    assert article["questions"][-2:] == done.json()["questions"]
    assert "buy gift card with bitcoin, my card [card number]" in article["questions"]
    assert article["needs_retraining"] is True  # new variants: the model has not learned them
    assert article["versions"][0]["note"] == "question variants from the inbox"
    with db.session_scope(db.make_engine(web.database_url)) as session:
        live = repository.get_article(session, "gift-cards", "en")
        assert "can I pay for a gift card with bitcoin" in live.question_texts
    assert groups(web, http)["total"] == 0

    again = ben.post(f"{web.url}{INBOX}/dismiss", json={"items": group["items"], "label": "x"})
    assert again.status_code == 409
    assert again.json()["handled"]["author"] == "edita" and "edita" in again.json()["detail"]

    await miss(conversations, "c3", "can I pay for a gift card with bitcoin")  # later: new group
    later = groups(web, http)
    assert later["total"] == 1 and later["groups"][0]["conversations"][0]["conversation_id"] == "c3"


async def test_new_article_prefilled_from_the_agent_and_dismiss(web, conversations) -> None:
    await conversations.say(
        "c-wrap",
        UserUttered("do you sell gift wrapping", {"name": "nlu_fallback", "confidence": 0.2}),
        BotUttered("Connecting you with a person."),
        BotUttered("Yes, for 3 EUR at checkout.", metadata={"author": "agent", "display_name": "Ona"}),
    )  # fmt: skip
    open_handoff(web, "c-wrap", question="do you sell gift wrapping")
    open_handoff(web, "c-other", question="is the shop open on Sunday")
    http = editor(web)
    labelled = by_label(groups(web, http))
    wrap, sunday = labelled["do you sell gift wrapping"], labelled["is the shop open on Sunday"]
    chosen = {"items": wrap["items"], "label": wrap["label"]}
    filled = http.post(f"{web.url}{INBOX}/prefill", json={**chosen, "questions": ["do you sell gift wrapping"]}).json()  # fmt: skip
    assert filled == {
        "article_id": "do-you-sell-gift-wrapping",
        "title": "do you sell gift wrapping",
        "questions": ["do you sell gift wrapping"],
        "body": "Yes, for 3 EUR at checkout.",
        "from_agent": True,
    }
    article = {"title": "Gift wrapping", "body": filled["body"], "questions": filled["questions"]}
    made = http.post(f"{web.url}{INBOX}/new-article", json={**chosen, "article_id": "gift-wrapping", "article": article})  # fmt: skip
    assert made.status_code == 201, made.text
    draft = http.get(f"{web.url}/api/editor/articles/en/gift-wrapping").json()
    assert draft["state"] == "draft" and draft["body"] == "Yes, for 3 EUR at checkout."

    none = http.post(f"{web.url}{INBOX}/prefill", json={"items": sunday["items"], "label": sunday["label"]})  # fmt: skip
    assert none.json()["body"] == "" and none.json()["from_agent"] is False
    gone = http.post(f"{web.url}{INBOX}/dismiss", json={"items": sunday["items"], "label": sunday["label"], "note": "shop has no hours"})  # fmt: skip
    assert gone.status_code == 200 and gone.json()["action"] == "dismiss"
    assert groups(web, http)["groups"] == []


def test_only_editors_and_admins(web) -> None:
    open_handoff(web, "c1")
    web.add_user("ada", "admin")
    assert web.client().get(f"{web.url}{INBOX}").status_code == 401
    assert web.client("ona").get(f"{web.url}{INBOX}").status_code == 403
    assert web.client("ona").get(f"{web.url}{INBOX}/conversations/c1").status_code == 403
    assert web.client("ada").get(f"{web.url}{INBOX}").json()["total"] == 1
    page = web.client().get(f"{web.url}/editor/inbox")
    assert page.status_code == 200 and "inbox.js" in page.text
    assert 'href="/editor/inbox"' in web.client().get(f"{web.url}/editor").text


HOSTILE = '<img src=x onerror="alert(1)"> \'; DROP TABLE handoffs; -- \u202e\u0000'


@pytest.mark.parametrize(
    "path, body, status",
    [
        ("dismiss", {"items": [], "label": "x"}, 422),
        ("dismiss", {"items": ["handoff:1"], "label": ""}, 422),
        ("dismiss", {"items": ["handoff; DROP TABLE handoffs"], "label": "x"}, 422),
        ("dismiss", {"items": ["handoff:99999"], "label": "x"}, 422),
        ("dismiss", {"items": ["handoff:1"] * 20_001, "label": "x"}, 422),
        ("dismiss", {"items": ["handoff:1"], "label": "x" * 501}, 422),
        ("dismiss", {"items": "handoff:1", "label": "x"}, 422),
        (
            "add-to-article",
            {"items": ["handoff:1"], "label": "x", "article_id": "nope", "questions": ["a"]},
            404,
        ),  # fmt: skip
        (
            "add-to-article",
            {"items": ["handoff:1"], "label": "x", "article_id": "gift-cards", "questions": ["  "]},
            422,
        ),  # fmt: skip
        (
            "add-to-article",
            {"items": ["handoff:1"], "label": "x", "article_id": "../x", "questions": ["a"]},
            422,
        ),  # fmt: skip
        (
            "new-article",
            {
                "items": ["handoff:1"],
                "label": "x",
                "article_id": "gift-cards",
                "article": {"title": "t", "body": "b"},
            },
            422,
        ),  # fmt: skip
        (
            "new-article",
            {
                "items": ["handoff:1"],
                "label": "x",
                "article_id": "Bad Id",
                "article": {"title": "t", "body": "b"},
            },
            422,
        ),  # fmt: skip
        ("prefill", {"items": ["nope"], "label": "x"}, 422),
    ],
)
def test_bad_input_is_a_clear_4xx(web, path, body, status) -> None:
    open_handoff(web, "c1")
    reply = editor(web).post(f"{web.url}{INBOX}/{path}", json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]
    assert groups(web, editor(web))["total"] == 1  # nothing was handled


def test_bad_queries_are_422(web) -> None:
    http = editor(web)
    for params in ({"source": "bogus"}, {"limit": 0}, {"limit": 101}, {"offset": -1}):
        assert http.get(f"{web.url}{INBOX}", params=params).status_code == 422, params


def test_hostile_text_stays_text(web) -> None:
    open_handoff(web, "c1", question=HOSTILE)
    http = editor(web)
    group = groups(web, http)["groups"][0]
    assert group["label"] == '<img src=x onerror="alert(1)"> \'; DROP TABLE handoffs; -- \u202e'
    done = http.post(f"{web.url}{INBOX}/add-to-article", json={
        "items": group["items"], "label": group["label"], "article_id": "gift-cards",
        "questions": [group["label"]],
    })  # fmt: skip
    assert done.status_code == 200, done.text
    article = http.get(f"{web.url}/api/editor/articles/en/gift-cards").json()
    assert article["questions"][-1] == group["label"]
    assert groups(web, http)["total"] == 0
