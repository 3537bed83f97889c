"""The agent console in a real browser (Debian's chromium driven by Playwright, headless) against
the running stack: sign-in, the queue, claim, talking, hand back, escaping of what customers
write, and the claim race between two agents.

The customer talks over Rasa's REST channel (stack.say); the agent only through the page. The
agents are Polish-speaking members of the Polish team and every customer here writes with the
language "pl", so the other end-to-end tests, which expect nobody online for their customers,
are unaffected. Screenshots of the main steps go to results/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
import requests
from playwright.sync_api import Page, expect

from bot import db
from tests.e2e.conftest import (
    BROWSER_TIMEOUT,
    after_the_follow_up_look,
    custom,
    open_console,
    presence_of,
    screenshot,
    sign_in,
    sign_out,
    staff,
    texts,
)

pytestmark = pytest.mark.e2e
POLISH = {"language": "pl"}  # only this file's Polish agents can take these customers
TIMEOUT = 10_000  # ms: the server pushes changes (or, without its stream, the console polls)
AGENTS = {"e2e-pw-ola": "Ola", "e2e-pw-piotr": "Piotr"}


@pytest.fixture(scope="module")
def shoot() -> Callable[[Page, str], Path]:
    """Save a screenshot of the page as a test artefact: results/screenshots/console-<name>.png."""
    return lambda page, name: screenshot(page, f"console-{name}")


@pytest.fixture(scope="module")
def agents(stack) -> Iterator[Dict[str, str]]:
    """This file's agents (Polish team) in the stack's database; offline after."""
    with staff(stack, AGENTS, team="support-poland", languages=["pl"]) as created:
        yield created


def ask_for_a_person(stack, sender: str) -> Dict[str, object]:
    stack.say(sender, "dzień dobry", metadata=POLISH)
    joined = custom(stack.say(sender, "I want to talk to a person"), "handoff")
    assert joined and joined["status"] == "queued", joined
    return joined


def test_signing_in_puts_the_agent_online(browser, stack, agents, shoot) -> None:
    context, page, problems = open_console(browser, stack)
    try:
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#desk")).to_be_hidden()
        sign_in_error = page.locator("#login-error")

        page.get_by_label("Username", exact=True).fill("e2e-pw-ola")
        page.get_by_label("Password", exact=True).fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(sign_in_error).to_have_text("wrong username or password")
        expect(page.locator("#desk")).to_be_hidden()
        shoot(page, "01-wrong-password")
        assert presence_of(stack, "e2e-pw-ola") == "offline"

        sign_in(page, "e2e-pw-ola")
        expect(page.locator("#login")).to_be_hidden()
        expect(sign_in_error).to_have_text("")
        expect(page.locator("#me-name")).to_have_text("Ola")
        expect(page.get_by_label("Your presence")).to_have_value("online")
        shoot(page, "02-desk")
        session = page.request.get(f"{stack.web_url}/api/session").json()  # the page's cookie
        assert session["username"] == "e2e-pw-ola" and session["presence"] == "online"
        assert presence_of(stack, "e2e-pw-ola") == "online"

        sign_out(page)
        expect(page.locator("#desk")).to_be_hidden()
        assert presence_of(stack, "e2e-pw-ola") == "offline"
        assert page.request.get(f"{stack.web_url}/api/session").status == 401
        assert problems == []
    finally:
        context.close()


def test_the_agent_takes_the_customer_talks_and_hands_back(stack, sender, console, shoot) -> None:
    page, _ = console("e2e-pw-ola")
    expect(page.locator("body")).to_have_attribute("data-live", "connected")  # no polling timers
    joined = ask_for_a_person(stack, sender)
    reference = str(joined["reference"])

    waiting = page.locator("#queue button", has_text=reference)
    expect(waiting).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(1\) Agent console"))
    expect(page.locator("#queue-count")).to_have_text("1")
    shoot(page, "03-queued")

    waiting.click()
    expect(page.locator("#chat-title")).to_have_text(f"{reference} · queued")
    expect(page.locator("#summary")).to_contain_text("Wants:")
    expect(page.locator("#reply")).to_be_disabled()
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("#chat-title")).to_have_text(f"{reference} · assigned")
    expect(page.locator("#chat-meta")).to_contain_text("with Ola")
    expect(page.locator("#mine button", has_text=reference)).to_be_visible()
    expect(page.locator("#queue button", has_text=reference)).to_have_count(0)
    expect(page).to_have_title(re.compile(r"^Agent console"))

    reply = "Cześć, tu Ola. W czym mogę pomóc?"
    box = page.get_by_label("Reply to the customer")
    expect(box).to_be_enabled()
    box.fill(reply)
    box.press("Enter")
    expect(page.locator("#transcript li.agent")).to_contain_text(reply)
    expect(box).to_have_value("")
    expect(page.locator("#chat-error")).to_have_text("")
    events = stack.tracker(sender)["events"]
    assert any(
        e.get("event") == "bot"
        and e.get("text") == reply
        and (e.get("metadata") or {}).get("author") == "agent"
        for e in events
    )

    # The customer's message is pushed to the console as a line of the open chat (the lists may
    # be fetched again meanwhile for the handoff's own events, such as the first reply's time).
    pushed = int(page.locator("body").get_attribute("data-pushed-lines") or 0)
    assert texts(stack.say(sender, "Mój blender przyszedł zepsuty")) == ""  # for the agent only
    expect(page.locator("#transcript li.customer").last).to_contain_text(
        "Mój blender przyszedł zepsuty"
    )
    page.wait_for_function(
        f"Number(document.body.dataset.pushedLines || 0) > {pushed}", timeout=BROWSER_TIMEOUT
    )
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    shoot(page, "04-talking")

    page.get_by_role("button", name="Hand back to the bot").click()
    expect(page.locator("#chat-title")).to_have_text(f"{reference} · returned")
    expect(page.get_by_role("button", name="Hand back to the bot")).to_be_disabled()
    expect(page.locator("#mine button")).to_have_count(0)
    shoot(page, "05-handed-back")
    again = stack.say(sender, "hello")
    assert "virtual assistant" in texts(again) and custom(again, "handoff") is None


def test_without_the_live_stream_the_console_polls(browser, stack, sender, agents) -> None:
    context, page, problems = open_console(browser, stack)
    try:
        context.route("**/api/agent/events", lambda route: route.abort())  # a proxy drops it
        sign_in(page, "e2e-pw-ola")
        expect(page.locator("body")).to_have_attribute("data-live", "polling")
        reference = str(ask_for_a_person(stack, sender)["reference"])
        waiting = page.locator("#queue button", has_text=reference)
        expect(waiting).to_be_visible()
        waiting.click()
        page.get_by_role("button", name="Resolve").click()
        expect(page.locator("#chat-title")).to_have_text(f"{reference} · resolved")
        sign_out(page)
        assert problems == []
    finally:
        context.close()
    assert presence_of(stack, "e2e-pw-ola") == "offline"


def test_what_customers_write_is_shown_as_text_never_run(stack, sender, console, shoot) -> None:
    page, problems = console("e2e-pw-ola")
    stack.say(sender, "<img src=x onerror=alert(1)>", metadata=POLISH)
    joined = custom(stack.say(sender, "I want to talk to a person"), "handoff")
    assert joined and joined["status"] == "queued", joined
    stack.say(sender, "javascript:alert(1)")
    stack.say(sender, '"><script>alert(2)</script>')

    page.locator("#queue button", has_text=str(joined["reference"])).click()
    customer = page.locator("#transcript li.customer")
    expect(customer.filter(has_text="<img src=x onerror=alert(1)>")).to_have_count(1)
    expect(customer.filter(has_text="javascript:alert(1)")).to_have_count(1)
    expect(customer.filter(has_text='"><script>alert(2)</script>')).to_have_count(1)
    expect(page.locator("#transcript img")).to_have_count(0)
    expect(page.locator("#transcript a, #transcript script")).to_have_count(0)
    expect(page.locator("img")).to_have_count(0)  # nowhere on the page (queue, summary, context)
    shoot(page, "06-escaped")
    assert problems == []

    page.get_by_label("Outcome").select_option("spam")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#chat-title")).to_contain_text("resolved")


def test_two_agents_claim_at_once_and_only_one_gets_it(stack, sender, console, shoot) -> None:
    ola, _ = console("e2e-pw-ola")
    piotr, _ = console("e2e-pw-piotr")
    reference = str(ask_for_a_person(stack, sender)["reference"])
    for page in (ola, piotr):
        page.locator("#queue button", has_text=reference).click()
        expect(page.locator("#chat-title")).to_have_text(f"{reference} · queued")
        expect(page.get_by_role("button", name="Claim")).to_be_enabled()

    # Both buttons are clicked at the same instant (both pages share this machine's clock); a
    # Playwright click after another would let the second page's polling disable its button.
    at = ola.evaluate("Date.now()") + 300
    for page in (ola, piotr):
        page.evaluate(
            "at => setTimeout(() => document.getElementById('claim').click(), at - Date.now())",
            at,
        )
    for page in (ola, piotr):
        expect(page.locator("#chat-title")).to_have_text(f"{reference} · assigned")

    winners = []
    for name, page in (("Ola", ola), ("Piotr", piotr)):
        expect(page.locator("#chat-meta")).to_contain_text("with ")
        if page.get_by_role("button", name="Hand back to the bot").is_enabled():
            winners.append((name, page))
    assert len(winners) == 1, winners
    winner_name, winner = winners[0]
    loser = piotr if winner is ola else ola
    expect(winner.locator("#chat-error")).to_have_text("")
    expect(winner.locator("#chat-meta")).to_contain_text(f"with {winner_name}")
    expect(loser.locator("#chat-error")).to_contain_text("cannot claim")
    expect(loser.locator("#chat-meta")).to_contain_text(f"with {winner_name}")
    expect(loser.get_by_label("Reply to the customer")).to_be_disabled()
    shoot(loser, "07-claim-lost")

    winner.get_by_role("button", name="Resolve").click()
    expect(winner.locator("#chat-title")).to_have_text(f"{reference} · resolved")


def test_notes_knowledge_base_wrong_answer_and_transfer(stack, sender, console, shoot) -> None:
    from sqlalchemy import select

    from bot.handoff.models import WrongAnswerReport

    ola, _ = console("e2e-pw-ola")
    piotr, _ = console("e2e-pw-piotr")
    reference = str(ask_for_a_person(stack, sender)["reference"])
    ola.locator("#queue button", has_text=reference).click()
    ola.get_by_role("button", name="Claim").click()
    expect(ola.locator("#chat-title")).to_have_text(f"{reference} · assigned")

    # An internal note.
    ola.locator("#notes-panel summary").click()
    ola.get_by_label("Add a note (the customer never sees it)").fill("Klient <b>VIP</b>")
    ola.get_by_role("button", name="Add note").click()
    expect(ola.locator("#notes li")).to_contain_text("Klient <b>VIP</b>")
    expect(ola.locator("#notes-count")).to_have_text("1")

    # A knowledge-base article inserted into the reply (the stack has English articles).
    ola.locator("#kb-panel summary").click()
    ola.get_by_label("Search articles").fill("how long do I have to return something")
    ola.get_by_role("button", name="Search").click()
    # This customer writes Polish and the demo has English articles only: nothing is found.
    expect(ola.locator("#kb-results li")).to_have_text("No article found.")

    # "The bot got this wrong" on the bot's first reply.
    ola.locator("#transcript li.bot button.report").first.click()
    ola.get_by_label("What was wrong? (for the editors)").fill("greeted in English")
    ola.get_by_role("button", name="Report to the editors").click()
    expect(ola.locator("#transcript")).to_contain_text("Reported to the editors.")
    with db.session_scope(db.make_engine(stack.database_url)) as session:
        reports = (
            session.execute(
                select(WrongAnswerReport).where(WrongAnswerReport.conversation_id == sender)
            )
            .scalars()
            .all()
        )
        assert [r.comment for r in reports] == ["greeted in English"]
    shoot(ola, "08-tools")

    # Transfer to Piotr with a note; he sees it as his, with the note.
    ola.locator("#transfer-panel summary").click()
    ola.get_by_label("To a colleague").select_option("e2e-pw-piotr")
    ola.get_by_label("Note for them").fill("wants a refund")
    ola.get_by_role("button", name="Transfer").click()
    expect(ola.locator("#chat-meta")).to_contain_text("with Piotr")
    expect(ola.get_by_label("Reply to the customer")).to_be_disabled()
    mine = piotr.locator("#mine button", has_text=reference)
    expect(mine).to_be_visible()
    mine.click()
    piotr.locator("#notes-panel summary").click()
    expect(piotr.locator("#notes")).to_contain_text("wants a refund")
    expect(piotr.get_by_label("Reply to the customer")).to_be_enabled()
    shoot(piotr, "09-transferred")
    piotr.get_by_role("button", name="Resolve").click()
    expect(piotr.locator("#chat-title")).to_have_text(f"{reference} · resolved")


def test_a_promised_follow_up_is_written_from_the_console(stack, sender, console, shoot) -> None:
    ola, _ = console("e2e-pw-ola")
    reference = str(ask_for_a_person(stack, sender)["reference"])
    ola.locator("#queue button", has_text=reference).click()
    ola.get_by_role("button", name="Claim").click()
    expect(ola.locator("#chat-title")).to_have_text(f"{reference} · assigned")
    ola.get_by_label("Outcome").select_option("follow_up")
    ola.get_by_role("button", name="Resolve").click()
    waiting = ola.locator("#follow-ups button", has_text=reference)
    expect(waiting).to_be_visible()
    waiting.click()
    ola.get_by_label(re.compile("^The answer")).fill("Kurier przyjedzie jutro.")
    ola.get_by_role("button", name="Send the follow-up").click()
    expect(ola.locator("#chat-error")).to_contain_text("Follow-up sent")
    expect(ola.locator("#follow-ups button", has_text=reference)).to_have_count(0)
    shoot(ola, "10-follow-up")
    after_the_follow_up_look()
    back = stack.say(sender, "hello")
    assert back[0]["text"].endswith("following up: Kurier przyjedzie jutro.")


class SocketCustomer:
    """The widget's side in a thread of its own (Playwright's sync API owns this thread):
    a real socket.io client on Rasa's channel, with every message it receives kept."""

    def __init__(self, url: str) -> None:
        import asyncio
        import threading
        import uuid

        from tests.e2e.test_socketio import Customer

        self.session_id = uuid.uuid4().hex
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.customer = Customer(url, self.session_id)
        self.received: List[Dict[str, object]] = []
        self.run(self.customer.__aenter__())
        self.customer.client.on("bot_uttered", self.received.append)

    def run(self, coroutine, timeout: float = 30):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def say(self, text: str, metadata: Optional[Dict[str, str]] = None) -> None:
        data = {"message": text, "session_id": self.session_id}
        if metadata:
            data["metadata"] = metadata
        self.run(self.customer.client.emit("user_uttered", data))

    def wait_for(self, predicate: Callable[[Dict[str, object]], bool], timeout: float = 15.0):
        import time as clock

        deadline = clock.monotonic() + timeout
        while clock.monotonic() < deadline:
            for message in list(self.received):
                if predicate(message):
                    return message
            clock.sleep(0.05)
        raise AssertionError(f"not received; got {self.received}")

    def close(self) -> None:
        import asyncio

        self.run(self.customer.__aexit__(None, None, None))
        self.run(asyncio.sleep(0.3))  # let the client's polling tasks end
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_widget_customer_and_console_agent_end_to_end(stack, console, shoot) -> None:
    """Issue 3's journey: the customer on the real socket.io channel, the agent in a browser."""
    ola, _ = console("e2e-pw-ola")  # on duty before the customer asks
    customer = SocketCustomer(stack.url)
    try:
        customer.say("dzień dobry", metadata=POLISH)
        customer.wait_for(lambda m: "virtual assistant" in str(m.get("text", "")))
        customer.say("I want to talk to a person")
        queued = customer.wait_for(
            lambda m: (m.get("custom") or {}).get("handoff", {}).get("status") == "queued"
        )
        reference = queued["custom"]["handoff"]["reference"]

        ola.locator("#queue button", has_text=reference).click()
        expect(ola.locator("#summary")).to_contain_text(
            "Handed off: the customer asked for a person"
        )
        ola.get_by_role("button", name="Claim").click()
        customer.wait_for(
            lambda m: "Ola from our customer-service team has joined" in str(m.get("text", ""))
        )

        box = ola.get_by_label("Reply to the customer")
        box.fill("Dzień dobry, tu Ola!")
        box.press("Enter")
        customer.wait_for(lambda m: m.get("text") == "Dzień dobry, tu Ola!")
        customer.say("Dziękuję, to wszystko")
        expect(ola.locator("#transcript li.customer").last).to_contain_text("Dziękuję, to wszystko")
        shoot(ola, "11-widget-customer")

        ola.get_by_role("button", name="Hand back to the bot").click()
        back = customer.wait_for(
            lambda m: (m.get("custom") or {}).get("handoff", {}).get("status") == "bot"
        )
        seen = len(customer.received)
        customer.say("hello")
        customer.wait_for(
            lambda m: "virtual assistant" in str(m.get("text", ""))
            and any(m is later for later in customer.received[seen:])
        )
        survey = back["custom"]["handoff"]["survey"]
        import requests

        rated = requests.post(f"{stack.web_url}{survey}", json={"score": 4}, timeout=10)
        assert rated.json() == {"reference": reference, "score": 4}
    finally:
        customer.close()


def test_the_customers_typing_outlives_an_older_answer_about_the_chat(
    stack, sender, console
) -> None:
    """The console refreshes the open chat on every change; an answer computed before the
    customer began typing must not clear the typing that the live stream announced meanwhile."""
    page, _ = console("e2e-pw-ola")
    reference = str(ask_for_a_person(stack, sender)["reference"])
    page.locator("#queue button", has_text=reference).click()
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("#chat-title")).to_have_text(f"{reference} · assigned")
    expect(page.locator("#customer-typing")).to_have_text("")
    pk = next(
        h["id"]
        for h in page.request.get(f"{stack.web_url}/api/handoffs?view=mine").json()
        if h["reference"] == reference
    )
    # What the typing line said each time the chat's summary was drawn.
    page.evaluate(
        """() => {
          window.drawn = [];
          const summary = document.getElementById("summary");
          const typing = document.getElementById("customer-typing");
          new MutationObserver(() => window.drawn.push([summary.textContent, typing.textContent]))
            .observe(summary, { childList: true, characterData: true, subtree: true });
        }"""
    )
    held = []

    def answer_after_the_customer_types(route) -> None:
        answer = route.fetch()  # computed now: nobody is typing
        typed = requests.post(
            f"{stack.web_url}/api/conversations/{sender}/typing", json={"typing": True}, timeout=10
        )
        assert typed.json() == {"shown": True}
        page.wait_for_function(  # the live stream has brought the typing
            "() => document.getElementById('customer-typing').textContent !== ''"
        )
        body = answer.json()
        held.append(body["customer_typing"])
        body["summary"] += " (held)"  # to know this answer when it is drawn
        route.fulfill(response=answer, json=body)

    page.route(f"**/api/handoffs/{pk}", answer_after_the_customer_types, times=1)
    added = page.request.post(
        f"{stack.web_url}/api/handoffs/{pk}/notes", data={"text": "Checking the courier."}
    )
    assert added.ok  # the note's change makes the console refresh the chat
    page.wait_for_function("() => window.drawn.some(([s]) => s.endsWith('(held)'))")
    assert held == [False]  # the answer predates the typing...
    drawn = page.evaluate("() => window.drawn")
    assert [t for s, t in drawn if s.endswith("(held)")] == ["The customer is typing…"]  # ...kept
