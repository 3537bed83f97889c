"""The editors' inbox in a real browser (Debian's chromium driven by Playwright, headless) against
the running stack: a customer asks what the bot cannot answer; an editor finds the question in the
inbox, grouped, reads the conversation, adds the question to an article as a question variant and
publishes it; the group leaves the inbox and the bot answers the question with the article (or,
until the model is retrained, offers it first). Hostile text in a customer's message is shown
as text. A conversation the bot did not understand twice, then handed to an agent who answered,
is one group whose second message carries both reasons; the editor starts a new article from it,
prefilled with the agent's reply (masked), and dismisses another group; both leave the inbox.

Customers talk over Rasa's REST channel (stack.say). The article is rolled back afterwards, so
the other end-to-end tests are unaffected. Screenshots go to results/screenshots/inbox-*.png.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator, List, Tuple

import pytest
import requests
from playwright.sync_api import Page, expect

from bot import db
from bot.kb import editing, repository
from tests.e2e.conftest import (
    PASSWORD,
    add_editor,
    add_users,
    custom,
    open_page,
    screenshot,
    staff,
    submit_sign_in,
    texts,
)

pytestmark = pytest.mark.e2e
EDITOR = "e2e-inbox-edith"
ARTICLE = "payment-methods"
QUESTION = "Do you take dogecoin?"  # the bot does not understand it (checked below)
HOSTILE = '<img src=x onerror="alert(1)"> hovercraft <b>spare parts</b>?'
BOT_TIMEOUT = 15.0  # seconds: publishing is live within seconds (the action server reads the DB)
GROUPING_TIMEOUT = 60_000  # ms: the first grouping loads the embedding model into the web app


@pytest.fixture
def signed_in(stack, staff_page) -> Tuple[Page, List[str]]:
    """/editor in a fresh browser context, signed in as this file's editor; no dialog or page
    error may occur."""
    return staff_page("/editor", add_editor(stack, EDITOR, "Edith"))


def ask(stack, text: str) -> list:
    return stack.say("e2e-inbox-" + uuid.uuid4().hex[:12], text)


def head_version(stack) -> int:
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            return editing.head_of(repository.get_article(session, ARTICLE, "en")).version
    finally:
        engine.dispose()


def roll_back(stack, to_version: int) -> None:
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            editing.roll_back(
                session, article_id=ARTICLE, language="en", to_version=to_version,
                author=EDITOR, base_version=head_version(stack),
            )  # fmt: skip
    finally:
        engine.dispose()


def test_a_question_the_bot_missed_becomes_a_question_variant(stack, signed_in) -> None:
    missed = ask(stack, QUESTION)
    assert custom(missed, "kb_miss") is not None, texts(missed)  # the bot did not understand
    assert custom(ask(stack, HOSTILE), "kb_miss") is not None
    before = head_version(stack)
    page, _ = signed_in

    page.get_by_role("link", name="Inbox", exact=True).click()
    expect(page).to_have_url(f"{stack.web_url}/editor/inbox")
    group = page.locator("#groups button", has_text=QUESTION)
    expect(group).to_be_visible(timeout=GROUPING_TIMEOUT)
    expect(group).to_contain_text("not understood: 1")
    assert page.locator("#groups img").count() == 0
    screenshot(page, "inbox-groups")

    # The markup is shown as text, never as markup, in whichever group it landed (other tests'
    # markup may share one with it): opened, the group lists it word for word.
    listing = page.request.get(f"{stack.web_url}/api/editor/inbox?limit=100").json()
    (label,) = [
        g["label"] for g in listing["groups"] if any(m["text"] == HOSTILE for m in g["messages"])
    ]
    page.locator("#groups").get_by_text(label, exact=True).first.click()
    expect(page.locator("#messages label", has_text="hovercraft")).to_have_text(HOSTILE)
    assert page.locator("#group img, #group b").count() == 0

    group.click()
    expect(page.locator("#group-label")).to_have_text(QUESTION)
    expect(page.locator("#messages label")).to_have_text([QUESTION])
    page.locator("#conversations button").first.click()
    expect(page.locator("#transcript li").first).to_contain_text(QUESTION)
    expect(page.locator("#transcript")).to_contain_text("Bot")
    screenshot(page, "inbox-group")

    page.get_by_label("Article", exact=True).select_option(f"en/{ARTICLE}")
    page.get_by_label("Publish at once").check()
    page.get_by_role("button", name="Add the ticked messages").click()
    expect(page.locator("#done")).to_contain_text(f"Added to {ARTICLE} and published")
    expect(page.locator("#groups button", has_text=QUESTION)).to_have_count(0)
    expect(page.locator("#group")).to_be_hidden()
    screenshot(page, "inbox-added")

    try:
        # Published at once: the action server's index has the new variant within seconds. The
        # model learns it only when retrained (the article is marked), so until then the bot
        # either answers with the article or offers it first among its suggestions.
        deadline = time.monotonic() + BOT_TIMEOUT
        while True:
            sender = "e2e-inbox-" + uuid.uuid4().hex[:12]
            reply = stack.say(sender, QUESTION)
            answer = custom(reply, "kb_answer")
            offered = custom(reply, "kb_suggestions") or []
            if answer and answer["article_id"] == ARTICLE:
                break
            if offered and offered[0]["article_id"] == ARTICLE:
                chosen = stack.say(sender, f'/choose_article{{"article_id":"{ARTICLE}"}}')
                assert custom(chosen, "kb_answer")["article_id"] == ARTICLE, texts(chosen)
                break
            assert time.monotonic() < deadline, f"the bot still does not answer: {texts(reply)!r}"
            time.sleep(0.3)
    finally:
        roll_back(stack, before)


def test_sign_in_on_the_inbox_page_and_agents_are_sent_away(browser, stack, signed_in) -> None:
    add_users(stack, {"e2e-inbox-agent": {"roles": ["agent"]}})
    for username, shown, hidden in (
        (EDITOR, "#inbox-desk", "#not-editor"),
        ("e2e-inbox-agent", "#not-editor", "#inbox-desk"),
    ):
        context, page, problems = open_page(browser, stack, "/editor/inbox")
        expect(page.locator("#login")).to_be_visible()
        submit_sign_in(page, username)
        expect(page.locator(shown)).to_be_visible()
        expect(page.locator(hidden)).to_be_hidden()
        expect(page.locator("#login")).to_be_hidden()
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page.locator("#login")).to_be_visible()
        context.close()
        assert problems == []


ENGRAVE = ("Can you engrave my initials on a kettle?", "Can you engrave initials on my kettle?")
PIANO = "Do you rent out concert pianos?"
REPLY = "Yes, engraving costs 5 EUR: write to engrave@example.com"


@pytest.fixture
def polish_agent(stack) -> Iterator[requests.Session]:
    """An agent of the Polish team, signed in and online; offline afterwards."""
    with staff(stack, {"e2e-inbox-agata": "Agata"}, team="support-poland", languages=["pl"]):
        http = requests.Session()
        http.post(
            f"{stack.web_url}/api/session",
            json={"username": "e2e-inbox-agata", "password": PASSWORD},
        ).raise_for_status()
        http.post(f"{stack.web_url}/api/presence", json={"presence": "online"}).raise_for_status()
        yield http
        http.delete(f"{stack.web_url}/api/session")


def group_with(page: Page, stack, text: str) -> dict:
    """The inbox group (as the API lists it) holding ``text``."""
    listing = page.request.get(f"{stack.web_url}/api/editor/inbox?limit=100").json()
    (found,) = [g for g in listing["groups"] if any(m["text"] == text for m in g["messages"])]
    return found


def test_a_handoff_becomes_a_new_article_and_another_group_is_dismissed(
    stack, signed_in, polish_agent
) -> None:
    # Not understood twice, then handed to a person, who answers: two messages, the second
    # with both reasons, and the agent's reply to start the article with.
    sender = "e2e-inbox-" + uuid.uuid4().hex[:12]
    stack.say(sender, "hello", metadata={"language": "pl"})
    first = stack.say(sender, ENGRAVE[0])
    assert custom(first, "kb_miss") is not None, texts(first)
    second = stack.say(sender, ENGRAVE[1])
    assert custom(second, "kb_miss") is not None and custom(second, "handoff"), texts(second)
    web = stack.web_url
    (queued,) = [
        h
        for h in polish_agent.get(f"{web}/api/handoffs?view=queued").json()
        if h["conversation_id"] == sender
    ]
    polish_agent.post(f"{web}/api/handoffs/{queued['id']}/claim").raise_for_status()
    polish_agent.post(
        f"{web}/api/handoffs/{queued['id']}/messages", json={"text": REPLY}
    ).raise_for_status()
    polish_agent.post(f"{web}/api/handoffs/{queued['id']}/hand-back", json={}).raise_for_status()
    # A bad rating, and a question to dismiss.
    rated = "e2e-inbox-" + uuid.uuid4().hex[:12]
    assert custom(stack.say(rated, "Do gift cards expire?"), "kb_answer") is not None
    stack.say(rated, "/deny")
    assert custom(ask(stack, PIANO), "kb_miss") is not None
    page, _ = signed_in

    page.goto(f"{web}/editor/inbox")
    rated_group = page.locator("#groups button", has_text="didn't help")
    expect(rated_group.first).to_be_visible(timeout=GROUPING_TIMEOUT)
    engrave = group_with(page, stack, ENGRAVE[1])
    mine = [m for m in engrave["messages"] if m["text"] in ENGRAVE]
    assert sorted(m["text"] for m in mine) == sorted(ENGRAVE)  # each message once
    assert {m["text"]: m["sources"] for m in mine}[ENGRAVE[1]] == ["not_understood", "handoff"]
    page.locator("#groups").get_by_text(engrave["label"], exact=True).first.click()
    expect(page.locator("#group-label")).to_have_text(engrave["label"])
    expect(page.locator("#group-sources")).to_contain_text("handoff: 1")
    expect(page.locator("#group-meta")).to_contain_text(f"{engrave['count']} messages")
    second_line = page.locator("#messages li", has_text=ENGRAVE[1])
    expect(second_line).to_contain_text("not understood, handoff")
    screenshot(page, "inbox-handoff-group")

    page.get_by_role("button", name="Start a new article from this group").click()
    expect(page.locator("#new-form")).to_be_visible()
    expect(page.locator("#new-body")).to_have_value("Yes, engraving costs 5 EUR: write to [email]")
    expect(page.locator("#new-note")).to_contain_text("an agent replied")
    questions = page.locator("#new-questions").input_value().splitlines()
    assert set(ENGRAVE) <= set(questions)
    article_id = "kettle-engraving-" + uuid.uuid4().hex[:6]
    page.get_by_label("Article id", exact=True).fill(article_id)
    page.get_by_label("Title", exact=True).fill("Engraving")
    screenshot(page, "inbox-new-article")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.locator("#done")).to_contain_text(f"Draft {article_id} saved")
    expect(page.locator("#group")).to_be_hidden()
    expect(page.locator("#groups button", has_text=engrave["label"])).to_have_count(0)
    draft = page.request.get(f"{web}/api/editor/articles/en/{article_id}").json()
    assert draft["head_status"] == "draft" and draft["published"] is None
    assert "engraving costs 5 EUR" in draft["body"]
    assert set(ENGRAVE) <= set(draft["questions"])

    piano = group_with(page, stack, PIANO)
    page.locator("#groups").get_by_text(piano["label"], exact=True).first.click()
    expect(page.locator("#group-label")).to_have_text(piano["label"])
    page.get_by_label("Why (optional)").fill("we do not rent instruments")
    page.get_by_role("button", name="Dismiss the group").click()
    expect(page.locator("#done")).to_contain_text("Dismissed; the group left the inbox.")
    expect(page.locator("#groups button", has_text=piano["label"])).to_have_count(0)
    listing = page.request.get(f"{web}/api/editor/inbox?limit=100").json()
    left = {m["text"] for g in listing["groups"] for m in g["messages"]}
    assert PIANO not in left and not set(ENGRAVE) & left
    screenshot(page, "inbox-dismissed")
