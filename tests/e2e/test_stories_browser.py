"""The story editor in a real browser (Debian's chromium driven by Playwright, headless) against
the running stack: an editor reads a rule as a conversation, finds a real conversation a
customer just had over Rasa's REST channel (personal data masked), corrects what the customer
meant and what the bot did, is refused a training story that contradicts another in plain
words, and saves it as a test story that Rasa's reader reads back as corrected.

The stack's web app writes to a copy of the project (BOT_RASA_PROJECT_DIR, see conftest), never
to the repository. Screenshots go to results/screenshots/stories-*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from playwright.sync_api import Page, expect

from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import add_editor, screenshot

pytestmark = pytest.mark.e2e
EDITOR = "e2e-story-ed"
TIMEOUT = 30_000  # ms: the first save imports Rasa's validator (TensorFlow) into the web app


@pytest.fixture
def page(stack: Any, staff_page: Any) -> Tuple[Page, List[str]]:
    """/editor/stories signed in as an editor; no dialog or page error may occur."""
    return staff_page("/editor/stories", add_editor(stack, EDITOR, "Stella"))


def project_of(stack: Any) -> Path:
    return Path(stack.env["BOT_RASA_PROJECT_DIR"])


def read_back(path: Path, name: str) -> Any:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.load(str(path.parents[2] / "domain.yml"))
    steps = YAMLStoryReader(domain).read_from_file(path)
    return next(s for s in steps if s.block_name == name)


def test_a_rule_reads_as_a_conversation(page: Tuple[Page, List[str]]) -> None:
    p, _ = page
    p.get_by_label("Search by name, intent or action").fill("bot_challenge")
    p.get_by_label("Show").select_option("rule")
    p.locator("#stories button", has_text="are you a bot").click()
    view = p.locator("#story-view")
    expect(view.locator("#story-name")).to_have_text("are you a bot")
    expect(view.locator("#story-kind-badge")).to_contain_text("Rule")
    expect(view.locator("li.customer")).to_contain_text("bot challenge")
    expect(view.locator("li.bot")).to_contain_text("I'm Amberline's virtual assistant, a bot.")
    expect(view.locator("li.bot")).to_contain_text("response: utter_iamabot")
    p.get_by_role("link", name="Articles").click()
    expect(p).to_have_url(f"{p.url.rsplit('/editor', 1)[0]}/editor")


def choose_turns(p: Page, intents: List[str], actions: List[str]) -> None:
    """The customer turns get ``intents`` in order, the first bot turn after each gets the
    action at the same place; other bot turns and what the bot remembered are dropped."""
    turns = p.locator("#conversation-turns > li")
    customer = -1
    bot_chosen = True
    for index in range(turns.count()):
        turn = turns.nth(index)
        classes = turn.get_attribute("class") or ""
        if "customer" in classes:
            customer += 1
            turn.get_by_label("What the customer meant").select_option(intents[customer])
            bot_chosen = False
        elif "bot" in classes and not bot_chosen and customer >= 0:
            turn.get_by_label("What the bot does next").select_option(actions[customer])
            bot_chosen = True
        elif turn.get_by_role("button", name="Drop").count():
            turn.get_by_role("button", name="Drop").click()


def test_a_real_conversation_corrected_and_saved_as_a_test_story(
    page: Tuple[Page, List[str]], stack: Any, sender: str
) -> None:
    p, _ = page
    stack.say(sender, "hello there")
    stack.say(sender, "cheers, that's all, write to ieva.k@example.com")

    p.get_by_label("Conversation id").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    found = p.locator("#conversations button", has_text=sender)
    expect(found).to_have_count(1)
    expect(found).to_contain_text("hello there")
    found.click()
    expect(p.locator("#conversation-heading")).to_contain_text(sender)
    expect(p.locator("#conversation-turns li.customer").nth(1)).to_contain_text(
        "cheers, that's all, write to [email]"
    )
    assert "ieva.k@example.com" not in p.content()

    # A training story where the greeting is answered with goodbye: refused, in plain words.
    choose_turns(p, ["greet", "goodbye"], ["utter_goodbye", "utter_goodbye"])
    name = f'greeting {sender}: "cheers" - intent: x'
    p.get_by_label("Name of the story").fill(name)
    p.get_by_label("a training story").check()
    p.get_by_role("button", name="Save story").click()
    problems = p.locator("#problems")
    expect(problems).to_be_visible(timeout=TIMEOUT)
    expect(problems).to_contain_text("This story contradicts the story")
    expect(problems).to_contain_text("after the customer says “hi” (greet)")
    screenshot(p, "stories-refused")
    training = project_of(stack) / "data/stories/editor.yml"
    assert not training.exists() or sender not in training.read_text()

    # Corrected: the greeting answered with a greeting; saved as a test story.
    first_bot = p.locator("#conversation-turns li.bot").first
    first_bot.get_by_label("What the bot does next").select_option("utter_greet")
    p.get_by_label("a test story").check()
    p.get_by_role("button", name="Save story").click()
    expect(p.locator("#saved")).to_be_visible(timeout=TIMEOUT)
    expect(problems).to_be_hidden()
    expect(p.locator("#saved-text")).to_contain_text("tests/conversations/editor.yml")
    expect(p.locator("#saved-yaml")).to_contain_text("- intent: goodbye")
    screenshot(p, "stories-saved")

    from rasa.shared.core.events import ActionExecuted, UserUttered

    story = read_back(project_of(stack) / "tests/conversations/editor.yml", name)
    said = [(e.intent_name, e.text) for e in story.events if isinstance(e, UserUttered)]
    # The e-mail address the bot understood is kept as the entity, as an example address.
    assert said == [
        ("greet", "hello there"),
        ("goodbye", "cheers, that's all, write to customer@example.com"),
    ]
    done = [e.action_name for e in story.events if isinstance(e, ActionExecuted)]
    assert done == ["utter_greet", "utter_goodbye"]
    assert not (PROJECT_ROOT / "tests/conversations/editor.yml").exists()


def test_a_conversation_saved_as_it_went_passes_rasa_test_core(
    page: Tuple[Page, List[str]], stack: Any, sender: str, model: Path, tmp_path: Path
) -> None:
    """What the bot did right, saved as a test story, passes ``rasa test core`` with the model
    the stack runs (as ``make test-stories`` runs the folder)."""
    p, _ = page
    stack.say(sender, "hello")
    stack.say(sender, "bye")
    p.get_by_label("Conversation id").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    p.locator("#conversations button", has_text=sender).click()
    expect(p.locator("#conversation-turns li.customer")).to_have_count(2)
    choose_turns(p, ["greet", "goodbye"], ["utter_greet", "utter_goodbye"])
    name = f"hello and bye {sender}"
    p.get_by_label("Name of the story").fill(name)
    p.get_by_label("a test story").check()
    p.get_by_role("button", name="Save story").click()
    expect(p.locator("#saved")).to_be_visible(timeout=TIMEOUT)

    saved = project_of(stack) / "tests/conversations/editor.yml"
    story = read_back(saved, name)
    only = tmp_path / "stories"
    only.mkdir()
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    YAMLStoryWriter().dump(only / "editor.yml", [story], is_test_story=True)
    run = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "test", "core", "--model", str(model),
         "--stories", str(only), "--fail-on-prediction-errors", "--out", str(tmp_path / "out")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    failed = (tmp_path / "out" / "failed_test_stories.yml").read_text()
    assert failed.startswith("# None of the test stories failed")


def test_what_customers_wrote_is_shown_as_text(
    page: Tuple[Page, List[str]], stack: Any, sender: str
) -> None:
    """Markup a customer wrote is shown as the characters they typed, never run (a script
    would open a dialog, which the fixture fails on) and personal data in it is masked."""
    p, _ = page
    hostile = f'<img src=x onerror=alert(1)> "{sender}" call +370 612 34567'
    stack.say(sender, hostile)
    p.get_by_label("Text the customer wrote").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    found = p.locator("#conversations button", has_text=sender)
    expect(found).to_contain_text(f'<img src=x onerror=alert(1)> "{sender}" call [phone]')
    found.click()
    said = p.locator("#conversation-turns li.customer .said").first
    expect(said).to_have_text(f'<img src=x onerror=alert(1)> "{sender}" call [phone]')
    assert p.locator("#conversation-turns img").count() == 0


def test_an_earlier_slower_search_never_replaces_a_later_one(
    page: Tuple[Page, List[str]], stack: Any, sender: str
) -> None:
    """The whole list (no search words) answered after the customer's search must not hide
    what the search found: its answer is held in the network until the search has shown."""
    p, _ = page
    stack.say(sender, f"where is my parcel {sender}")
    stack.say(f"{sender}-other", "hello")  # the whole list holds more than the search finds
    held: List[Any] = []
    whole_list = re.compile(r".*/api/editor/conversations\?$")

    def hold(route: Any) -> None:  # the request waits, unanswered, until continued
        held.append(route)

    p.route(whole_list, hold)
    p.get_by_role("button", name="Find conversations").click()  # no words: the whole list
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        p.wait_for_timeout(50)
    assert held, "the whole list was not asked for"
    p.get_by_label("Text the customer wrote").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    expect(p.locator("#conversation-count")).to_have_text("1 found, newest first")
    with p.expect_response(whole_list):
        held[0].continue_()
    p.wait_for_timeout(300)  # the page has the late answer now; it must leave the list alone
    expect(p.locator("#conversation-count")).to_have_text("1 found, newest first")
    expect(p.locator("#conversations button")).to_have_count(1)
    p.unroute(whole_list)


def test_a_conversation_saved_as_a_rule_then_changed_and_deleted(
    page: Tuple[Page, List[str]], stack: Any, sender: str
) -> None:
    """A real conversation saved as a rule (data/rules/editor.yml), found in the list as the
    editors' own, changed (renamed, the bot then going on) and deleted; a developer's rule stays
    read-only."""
    p, _ = page
    stack.say(sender, "are you a bot?")
    p.get_by_label("Conversation id").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    p.locator("#conversations button", has_text=sender).click()
    expect(p.locator("#conversation-turns li.customer")).to_have_count(1)
    choose_turns(p, ["bot_challenge"], ["utter_iamabot"])
    name = f"a bot question {sender}"
    p.get_by_label("Name of the story").fill(name)
    p.get_by_label("a rule").check()
    expect(p.locator("#rule-options")).to_be_visible()
    p.get_by_role("button", name="Save story").click()
    expect(p.locator("#saved")).to_be_visible(timeout=TIMEOUT)
    expect(p.locator("#saved-text")).to_contain_text("data/rules/editor.yml")
    expect(p.locator("#saved-yaml")).to_contain_text(f"- rule: {name}")
    rules = project_of(stack) / "data/rules/editor.yml"
    from rasa.shared.core.training_data.structures import RuleStep

    assert isinstance(read_back(rules, name), RuleStep)

    # Found in the list as the editors' own: changed in place.
    p.get_by_label("Search by name, intent or action").fill(sender)
    p.get_by_label("Show").select_option("rule")
    p.locator("#stories button", has_text=name).click()
    expect(p.locator("#story-kind-badge")).to_have_text("Rule")
    expect(p.locator("#story-shape")).to_contain_text("then the bot waits for the customer")
    p.get_by_role("button", name="Change", exact=True).click()
    expect(p.locator("#conversation-heading")).to_contain_text(f"Changing “{name}”")
    expect(p.get_by_label("a test story")).to_be_disabled()
    renamed = f"a bot question, renamed {sender}"
    p.get_by_label("Name of the story").fill(renamed)
    p.get_by_label("then the bot waits for the customer").uncheck()
    p.get_by_role("button", name="Save changes").click()
    expect(p.locator("#saved")).to_be_visible(timeout=TIMEOUT)
    expect(p.locator("#saved-yaml")).to_contain_text("wait_for_user_input: false")
    screenshot(p, "stories-rule-changed")
    text = rules.read_text()
    assert f"- rule: {renamed}" in text and f"- rule: {name}\n" not in text
    assert read_back(rules, renamed).block_name == renamed

    # Deleted, after a confirmation in the page.
    p.get_by_label("Search by name, intent or action").fill(f"renamed {sender}")
    p.locator("#stories button", has_text=renamed).click()
    p.get_by_role("button", name="Delete", exact=True).click()
    expect(p.locator("#delete-question")).to_contain_text(renamed)
    p.get_by_role("button", name="Delete for good").click()
    expect(p.locator("#done")).to_contain_text(f"Deleted “{renamed}”")
    expect(p.locator("#stories button", has_text=renamed)).to_have_count(0)
    assert not rules.exists() or renamed not in rules.read_text()

    # A developer's rule: read-only, with its file.
    p.get_by_label("Search by name, intent or action").fill("are you a bot")
    p.locator("#stories button", has_text="are you a bot").first.click()
    expect(p.locator("#read-only")).to_contain_text("data/rules/basics.yml")
    expect(p.get_by_role("button", name="Change", exact=True)).to_be_hidden()


def test_a_new_rule_from_scratch_and_an_order_number_kept_as_an_entity(
    page: Tuple[Page, List[str]], stack: Any, sender: str
) -> None:
    """A rule written from nothing (a customer turn, a bot turn); an order number the bot
    understood in a real conversation is kept in the test story as an example order number,
    marked as the entity."""
    p, _ = page
    p.get_by_role("button", name="New story or rule").click()
    p.get_by_role("button", name="Add what the customer says").click()
    p.get_by_role("button", name="Add what the bot does").click()
    p.locator("#conversation-turns li.customer").get_by_label(
        "What the customer meant"
    ).select_option("thank")
    p.locator("#conversation-turns li.bot").get_by_label("What the bot does next").select_option(
        "utter_you_are_welcome"
    )
    name = f"thanks answered {sender}"
    p.get_by_label("Name of the story").fill(name)
    p.get_by_role("button", name="Save story").click()
    expect(p.locator("#saved-text")).to_contain_text("data/rules/editor.yml", timeout=TIMEOUT)
    assert read_back(project_of(stack) / "data/rules/editor.yml", name).block_name == name

    stack.say(sender, "where is my order AM-100482")
    p.get_by_label("Conversation id").fill(sender)
    p.get_by_role("button", name="Find conversations").click()
    p.locator("#conversations button", has_text=sender).click()
    customer = p.locator("#conversation-turns li.customer").first
    expect(customer).to_contain_text("where is my order [order number]")
    expect(customer.get_by_label("keep order_number = [order number]")).to_be_checked()
    choose_turns(p, ["order_status"], ["order_status_form"])
    story = f"an order asked for {sender}"
    p.get_by_label("Name of the story").fill(story)
    p.get_by_label("a test story").check()
    p.get_by_role("button", name="Save story").click()
    expect(p.locator("#saved-yaml")).to_contain_text(
        "where is my order [AM-100000](order_number)", timeout=TIMEOUT
    )
    from rasa.shared.core.events import UserUttered

    saved = read_back(project_of(stack) / "tests/conversations/editor.yml", story)
    (said,) = [e for e in saved.events if isinstance(e, UserUttered)]
    assert said.text == "where is my order AM-100000"
    assert [(e["entity"], e["value"]) for e in said.entities] == [("order_number", "AM-100000")]
