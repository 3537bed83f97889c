"""Retraining from the editor in a real browser (Debian's chromium, Playwright, headless) against
the running stack, with the stack's real model, config and data (the smallest honest setup: one
real training of the shipped pipeline, both models evaluated on eval/dev.yml).

An editor publishes a new question variant; the Retraining page lists the article as needing
retraining; "Retrain now" runs the job in the background, the page follows its stages, and it
ends with the new model loaded into the running Rasa server (checked on the server, the mark
gone, and a conversation started before goes on), or the current one kept with the reason (the
server still runs it). A second start while the job runs is refused (409). Takes about 3-5
minutes, most of it training and evaluating. Screenshots: results/screenshots/training-*.png.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator, List, Tuple

import pytest
import requests
from playwright.sync_api import Page, expect

from bot import db
from bot.kb import editing, repository
from bot.users import create_user, find_user
from tests.e2e.conftest import PASSWORD, screenshot, texts, watch_problems

pytestmark = pytest.mark.e2e
EDITOR = "e2e-trainer"
ARTICLE = "newsletter-unsubscribe"
VARIANT = "please stop sending me those promo emails, I never asked for them"
JOB_TIMEOUT = 15 * 60_000  # ms: training and evaluating take minutes on two shared cores


@pytest.fixture(scope="module")
def published_variant(stack) -> Iterator[None]:
    """An editor in the stack's database, and a new question variant published (as the
    article editor publishes it), which the running model has not learned."""
    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        if find_user(session, EDITOR) is None:
            create_user(
                session, username=EDITOR, password=PASSWORD, display_name="Trainer",
                roles=["editor"],
            )  # fmt: skip
        article = repository.get_article(session, ARTICLE, "en")
        content = editing.content(
            title=article.title,
            body=article.body,
            questions=[*article.question_texts, VARIANT],
            tags=list(article.tags),
            audience=article.audience,
        )
        editing.publish(
            session,
            article_id=ARTICLE,
            language="en",
            author=EDITOR,
            base_version=editing.head_of(article).version,
            content=content,
        )
    engine.dispose()
    yield


@pytest.fixture
def page(browser, stack, published_variant) -> Iterator[Tuple[Page, List[str]]]:
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    problems = watch_problems(page)
    yield page, problems
    context.close()
    assert problems == []


def running_model(stack) -> str:
    reply = requests.get(f"{stack.url}/status", params={"token": stack.token}, timeout=30)
    reply.raise_for_status()
    return str(reply.json()["model_file"])


def test_retrain_from_the_page_loads_a_model_that_is_not_worse(
    page: Tuple[Page, List[str]], stack: Any
) -> None:
    page_, _ = page
    before = running_model(stack)
    sender = "e2e-train-" + uuid.uuid4().hex[:10]
    assert texts(stack.say(sender, "hello"))  # a conversation in progress

    page_.goto(f"{stack.web_url}/editor")
    page_.get_by_label("Username", exact=True).fill(EDITOR)
    page_.get_by_label("Password", exact=True).fill(PASSWORD)
    page_.get_by_role("button", name="Sign in", exact=True).click()
    expect(page_.locator("#login")).to_be_hidden()
    page_.get_by_role("navigation", name="Editor pages").get_by_role(
        "link", name="Retraining"
    ).click()
    expect(page_).to_have_url(f"{stack.web_url}/editor/training")
    expect(page_.locator("#marked")).to_contain_text(ARTICLE)
    expect(page_.locator("#marks")).to_contain_text("need")

    page_.get_by_role("button", name="Retrain now").click()
    job = page_.locator("#job")
    expect(job).to_have_attribute("data-status", "running")
    expect(page_.get_by_role("button", name="Retrain now")).to_be_disabled()
    expect(page_.locator("#job-status")).to_contain_text("Running")
    refused = page_.request.post(f"{stack.web_url}/api/editor/training")
    assert refused.status == 409 and "started by e2e-trainer" in refused.json()["detail"]
    screenshot(page_, "training-running")
    page_.reload()  # the job lives on the server: the page finds it again
    expect(job).to_have_attribute("data-status", "running")
    expect(page_.locator("#job-meta")).to_contain_text("Started by e2e-trainer")

    expect(job).not_to_have_attribute("data-status", "running", timeout=JOB_TIMEOUT)
    screenshot(page_, "training-done")
    status = job.get_attribute("data-status")
    outcome = page_.locator("#outcome")
    assert status == "finished", page_.locator("#outcome").text_content()
    after = running_model(stack)
    if job.get_attribute("data-outcome") == "loaded":
        expect(outcome).to_contain_text("The new model is loaded")
        assert after != before and after.startswith("amberline-")
        expect(page_.locator("#marked")).to_be_empty()
        expect(page_.locator("#marks")).to_contain_text("Nothing needs retraining")
        assert (stack.models_dir / after).exists()
    else:
        expect(outcome).to_contain_text("The current model is kept")
        expect(outcome).to_contain_text("worse")
        expect(page_.locator("#worse li").first).to_be_visible()
        assert after == before
    expect(page_.locator("#comparison tbody tr")).to_have_count(5)
    expect(page_.locator("#stages li.done").first).to_contain_text(" · ")  # how long it took
    shown = page_.request.get(f"{stack.web_url}/api/editor/training").json()["job"]
    print("retraining stages (s):", shown["stage_times"], "in all", shown["elapsed_seconds"])

    # The conversation goes on, with the model that runs now.
    assert texts(stack.say(sender, "thanks, bye"))
    events = stack.tracker(sender)["events"]
    said = [e.get("text") for e in events if e.get("event") == "user"]
    assert said == ["hello", "thanks, bye"]
