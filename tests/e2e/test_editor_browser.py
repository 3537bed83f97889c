"""The article editor in a real browser (Debian's chromium driven by Playwright, headless)
against the running stack: an editor edits an answer, tries it, publishes it and the bot's
answer over the REST channel changes within seconds, without retraining; a roll back brings it
back; two editors saving the same article: the second is told, nothing is overwritten; what an
author writes is shown as text.

Customers talk over Rasa's REST channel (stack.say). Every change here is undone (rolled back)
or stays a draft, which customers never see, so the other end-to-end tests are unaffected.
Screenshots of the main steps go to results/screenshots/editor-*.png.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Callable, Dict, List, Tuple

import pytest
from playwright.sync_api import Page, expect

from bot import db
from bot.kb import repository
from bot.settings import demo_password, get_settings
from tests.e2e.conftest import PASSWORD, add_editor, add_users, custom, screenshot, texts

pytestmark = pytest.mark.e2e
EDITORS = {"e2e-ed-anna": "Anna", "e2e-ed-ben": "Ben"}
ARTICLE = "gift-cards"
QUESTION = "How long is a gift card valid?"  # one of the article's question variants
BOT_TIMEOUT = 15.0  # seconds: publishing is live within seconds (the action server reads the DB)
TRY_TIMEOUT = 60_000  # ms: the first "Try it" loads the embedding model into the web app
PERCENT = re.compile(r"^\d{1,3}%$")


@pytest.fixture(scope="module")
def editors(stack) -> Dict[str, str]:
    """This file's editors in the stack's database."""
    for username, name in EDITORS.items():
        add_editor(stack, username, name)
    return EDITORS


@pytest.fixture
def editor(staff_page) -> Callable[..., Tuple[Page, List[str]]]:
    """Open /editor in a fresh browser context signed in as ``username``; no dialog or page
    error may occur."""
    return lambda username, password=PASSWORD: staff_page("/editor", username, password)


def shoot(page: Page, name: str) -> None:
    screenshot(page, f"editor-{name}")


def open_article(page: Page, article_id: str, search: str) -> None:
    page.get_by_label("Search articles").fill(search)
    page.locator(f'#articles button[data-key="en/{article_id}"]').click()
    expect(page.locator("#article-meta")).to_contain_text(f"{article_id} · EN")


def published(stack, article_id: str) -> Tuple[int, str]:
    """(version, answer) customers get now, from the database."""
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            article = repository.get_article(session, article_id, "en")
            return article.version, article.body
    finally:
        engine.dispose()


def bot_answers(stack, words: str, timeout: float = BOT_TIMEOUT) -> str:
    """Ask the bot (a new conversation each time) until its answer contains ``words``; the
    answer. Fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        reply = stack.say("e2e-editor-" + uuid.uuid4().hex[:12], QUESTION)
        answer = custom(reply, "kb_answer")
        said = texts(reply)
        if answer and answer["article_id"] == ARTICLE and words in said:
            return said
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot did not answer with {words!r}: {said!r}")
        time.sleep(0.2)


def test_the_demo_editor_signs_in_and_agents_are_sent_away(stack, editor) -> None:
    page, _ = editor("edita", demo_password(get_settings()))  # data/demo-users.yml
    expect(page.locator("#desk")).to_be_visible()
    expect(page.locator("#me-name")).to_have_text("Edita")
    expect(page.locator("#articles li").first).to_be_visible()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator("#login")).to_be_visible()

    add_users(stack, {"e2e-ed-agent": {"roles": ["agent"]}})
    agent, _ = editor("e2e-ed-agent")
    expect(agent.locator("#not-editor")).to_be_visible()
    expect(agent.locator("#desk")).to_be_hidden()


def test_edit_try_publish_and_roll_back(stack, editors, editor) -> None:
    original_version, original = published(stack, ARTICLE)
    assert "12 months" in bot_answers(stack, "12 months")  # as the demo says (and builds the
    # action server's index, whose embeddings the web app's "Try it" then reuses)
    page, _ = editor("e2e-ed-anna")
    open_article(page, ARTICLE, "gift card")
    expect(page.locator("#body")).to_have_value(original)
    # as the file in data/kb has it (the stack's set-up synced it)
    file_state = page.locator("#badges [data-file-state]")
    listed_state = page.locator(f'#articles button[data-key="en/{ARTICLE}"] [data-file-state]')
    expect(file_state).to_have_attribute("data-file-state", "in_git")
    expect(file_state).to_have_text("In git")
    expect(listed_state).to_have_attribute("data-file-state", "in_git")

    edited = "E2E: gift cards are valid for **24 months** from the day you buy them."
    page.get_by_label("Answer (Markdown", exact=False).fill(edited)
    expect(page.locator("#preview strong")).to_have_text("24 months")  # the safe renderer

    page.get_by_label("A customer's question").fill(QUESTION)
    page.get_by_role("button", name="Try it", exact=True).click()
    draft, live = page.locator("#try-draft"), page.locator("#try-published")
    expect(page.locator("#try-note")).to_contain_text('reads this as "faq"', timeout=TRY_TIMEOUT)
    expect(draft).to_have_attribute("data-outcome", "answer")
    expect(draft.locator(".try-answer")).to_contain_text("valid for 24 months")
    expect(draft).to_have_attribute("data-handoff", "false")
    expect(live.locator(".try-answer")).to_contain_text("12 months")
    expect(live.locator("tr.chosen td").first).to_contain_text("Gift cards")
    expect(live.locator("tr.chosen td.number")).to_have_text(PERCENT)
    shoot(page, "01-try-it")

    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(page.locator("#message")).to_contain_text("Saved as a draft")
    assert "12 months" in bot_answers(stack, "12 months")  # a draft: customers keep the old one

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#message")).to_contain_text("Published version")
    assert "valid for **24 months**" in bot_answers(stack, "24 months")
    version, body = published(stack, ARTICLE)
    assert body == edited and version == original_version + 2  # the draft, then published
    # published here, not in the file yet: said in the article and the list, and filtered
    expect(file_state).to_have_attribute("data-file-state", "not_exported")
    expect(file_state).to_have_text("Not exported yet")
    expect(page.locator("#file-state")).to_contain_text("python -m bot kb export")
    expect(listed_state).to_have_attribute("data-file-state", "not_exported")
    page.get_by_label("In git (data/kb)").select_option("not_exported")
    expect(page.locator(f'#articles button[data-key="en/{ARTICLE}"]')).to_be_visible()
    page.get_by_label("In git (data/kb)").select_option("in_git")
    expect(page.locator(f'#articles button[data-key="en/{ARTICLE}"]')).to_have_count(0)
    page.get_by_label("In git (data/kb)").select_option("")
    expect(listed_state).to_have_attribute("data-file-state", "not_exported")
    shoot(page, "02-published")

    page.locator("#history-panel summary").click()
    page.get_by_role("button", name=f"Changes in version {version}").click()
    expect(page.locator("#diff-body")).to_contain_text("draft → published")
    page.get_by_role("button", name=f"Compare version {original_version} with the newest").click()
    expect(page.locator("#diff-title")).to_have_text(
        f"From version {original_version} to version {version}"
    )
    expect(page.locator("#diff-body .added").first).to_contain_text("24 months")
    expect(page.locator("#diff-body .removed").first).to_be_visible()
    page.get_by_role("button", name=f"Roll back to version {original_version}").click()
    expect(page.locator("#message")).to_contain_text(f"Rolled back to version {original_version}")
    assert "12 months" in bot_answers(stack, "12 months")
    assert published(stack, ARTICLE) == (version + 1, original)
    expect(page.locator("#body")).to_have_value(original)
    expect(file_state).to_have_attribute("data-file-state", "in_git")  # the file's text again
    shoot(page, "03-rolled-back")


def test_two_editors_save_the_same_article(stack, editors, editor) -> None:
    article_id = "invoice-download"
    anna, _ = editor("e2e-ed-anna")
    ben, _ = editor("e2e-ed-ben")
    for page in (anna, ben):
        open_article(page, article_id, "invoice")
    live_before = published(stack, article_id)

    anna.locator("#body").fill("Anna's answer: download invoices under **My orders**.")
    anna.get_by_role("button", name="Save draft", exact=True).click()
    expect(anna.locator("#message")).to_contain_text("Saved as a draft")

    bens = "Ben's answer, written at the same time."
    ben.locator("#body").fill(bens)
    ben.get_by_role("button", name="Save draft", exact=True).click()
    conflict = ben.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("e2e-ed-anna saved version")
    expect(conflict).to_contain_text("Nothing of yours was saved")
    expect(ben.locator("#body")).to_have_value(bens)  # Ben's text is kept in the form
    expect(ben.locator("#message")).to_have_text("")
    shoot(ben, "04-conflict")

    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        versions = repository.article_versions(session, article_id, "en")
        assert versions[-1].author == "e2e-ed-anna" and versions[-1].body.startswith("Anna's")
        assert not any(v.body == bens for v in versions)
    engine.dispose()
    assert published(stack, article_id) == live_before  # drafts only: customers see no change

    ben.get_by_role("button", name="Load their version").click()
    expect(ben.locator("#body")).to_have_value(
        "Anna's answer: download invoices under **My orders**."
    )
    expect(conflict).to_be_hidden()


def test_what_authors_write_is_shown_as_text(stack, editors, editor) -> None:
    page, problems = editor("e2e-ed-ben")
    page.get_by_role("button", name="New article", exact=True).click()
    page.get_by_label("Article id").fill("e2e-hostile-" + uuid.uuid4().hex[:6])
    title = "<img src=x onerror=alert('title')>"
    page.get_by_label("Title", exact=True).fill(title)
    page.locator("#body").fill(
        "<script>alert('body')</script> [click me](javascript:alert(1)) **bold**"
    )
    page.locator("#questions").fill("<b>question</b>\nwhat about {{7*7}}")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("<script>alert('body')</script>")
    expect(preview.locator("script, img, a")).to_have_count(0)  # text, and no javascript: link
    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(page.locator("#message")).to_contain_text("Saved as a draft (version 1)")
    expect(page.locator("#article-heading")).to_have_text(title)
    expect(page.locator("#articles img")).to_have_count(0)
    shoot(page, "05-escaped")
    assert problems == []
