"""The customer's chat widget in a real browser (Debian's chromium, headless) on the demo store
page, against the running stack: Rasa's socket.io channel on one port, the web app on another.

The customer talks only through the widget; the agent only through the console (a second
browser context). This file's agent works in English for support-baltics and is on duty only
inside the tests that need one (the console fixture signs her out after each). Screenshots go
to results/screenshots/widget-*.png.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from bot import db
from bot.handoff.models import Handoff, Survey
from bot.kb.models import ArticleRating
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import screenshot, staff, watch_problems

pytestmark = pytest.mark.e2e
AGENTS = {"e2e-wd-rita": "Rita"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FIRST_REPLY = 60_000  # ms: the first answer of a fresh stack loads the model's caches
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[click me](javascript:alert(1))"
# A network that blocks websockets to Rasa's socket.io: such a websocket is refused (it goes to
# a closed port instead, and fails as a blocked one does: an error, then a close).
BLOCK_SOCKETIO_WEBSOCKETS = """
(() => {
  const Real = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const blocked = String(url).includes("/socket.io/");
    return new Real(blocked ? "ws://127.0.0.1:9/socket.io/" : url, protocols);
  };
  window.WebSocket.prototype = Real.prototype;
})();
"""


@pytest.fixture(scope="module")
def agents(stack) -> Iterator[Dict[str, str]]:
    with staff(stack, AGENTS, team="support-baltics", languages=["en"]) as created:
        yield created


@pytest.fixture
def customer(browser, stack) -> Iterator[Callable[..., Tuple[BrowserContext, Page]]]:
    """Open the demo store in a fresh browser context (a new customer) and open the chat; no
    dialog may open and no script error may occur in any of its pages."""
    opened: List[Tuple[BrowserContext, List[List[str]]]] = []

    def open_customer(**context_options: Any) -> Tuple[BrowserContext, Page]:
        context = browser.new_context(**{"viewport": DESKTOP, **context_options})
        watched: List[List[str]] = []
        context.on("page", lambda page: watched.append(watch_problems(page)))
        opened.append((context, watched))
        page = context.new_page()
        page.goto(f"{stack.web_url}/")
        page.get_by_role("button", name="Chat with us").click()
        expect(page.get_by_role("dialog", name="Amberline customer service")).to_be_visible()
        return context, page

    yield open_customer
    for context, watched in opened:
        context.close()
        assert [p for problems in watched for p in problems] == []


def chat(page: Page):
    return page.locator("amberline-chat")


def say(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def last_from(page: Page, author: str):
    return chat(page).locator(f"li.message.{author}").last


def conversation_id(page: Page) -> str:
    return page.evaluate("localStorage.getItem('amberline-chat:session')")


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """``check()``'s first truthy result; fails with the last one after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, "condition not met in time"
            return result
        time.sleep(0.1)


def rows(stack, model, **where) -> list:
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            query = select(model).filter_by(**where)
            found = session.execute(query).scalars().all()
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def take(console_page: Page, reference: str) -> None:
    console_page.locator("#queue button", has_text=reference).click()
    console_page.get_by_role("button", name="Claim").click()
    expect(console_page.locator("#chat-title")).to_have_text(f"{reference} · assigned")


def ask_for_a_person(page: Page) -> str:
    """Click "Talk to a person"; the reference the queue card shows."""
    chat(page).get_by_role("button", name="Talk to a person").click()
    return queued_reference(page)


def queued_reference(page: Page) -> str:
    queue = chat(page).locator(".card.queue")
    expect(queue).to_contain_text("You're number 1 in the queue")
    return re.search(r"Your reference: (H-\d+)", queue.inner_text()).group(1)


def test_the_whole_journey_answer_rating_person_reload_survey(stack, console, customer) -> None:
    rita, _ = console("e2e-wd-rita")  # on duty before the customer asks
    context, page = customer()
    expect(chat(page).get_by_role("log")).to_contain_text("I'm the Amberline assistant")

    # A question answered from the article, with the "Did this help?" rating.
    say(page, "How many days do I have to return something?")
    expect(last_from(page, "bot")).to_contain_text("Did this help?", timeout=FIRST_REPLY)
    answer = chat(page).locator("li.message.bot.answer")
    expect(answer).to_contain_text("within 14 days of receiving it")
    expect(answer.locator("strong").first).to_have_text("within 14 days of receiving it")
    expect(answer.locator("ul li")).to_have_count(3)
    link = answer.get_by_role("link", name="how to return an item")
    expect(link).to_have_attribute("href", "https://amberline.example/help/how-to-return")
    expect(chat(page).locator("li.message.customer").last).to_have_attribute(
        "data-state", "delivered"
    )
    expect(chat(page).locator("li.message time").first).to_be_visible()
    screenshot(page, "widget-01-answer", full_page=False)

    chat(page).get_by_role("button", name="Yes, this helped").click()
    expect(last_from(page, "customer")).to_contain_text("Yes")
    expect(last_from(page, "bot")).to_contain_text("glad I could help")
    expect(chat(page).get_by_role("button", name="Yes, this helped")).to_have_count(0)
    customer_id = conversation_id(page)
    ratings = rows(stack, ArticleRating, conversation_id=customer_id)
    assert [(r.article_id, r.helpful) for r in ratings] == [("return-policy", True)]

    # Something the assistant does not know: it says so; a person is offered at all times.
    say(page, "Can you recommend a good pizza place near Gediminas avenue?")
    # Out of scope ("I can only help with ...") or not understood ("I don't have an answer").
    expect(last_from(page, "bot")).to_contain_text(
        re.compile("I can only help|I don't have an answer")
    )
    reference = ask_for_a_person(page)
    expect(last_from(page, "customer")).to_contain_text("Talk to a person")
    expect(chat(page).locator(".state")).to_have_text("Waiting for a person")
    expect(chat(page).get_by_role("button", name="Leave the queue")).to_be_visible()
    expect(chat(page).get_by_role("button", name="Talk to a person")).to_be_hidden()
    screenshot(page, "widget-02-queued", full_page=False)

    # The agent takes it; the customer sees who joined, that she is typing, and her message.
    take(rita, reference)
    expect(last_from(page, "system")).to_contain_text("Rita from our customer-service team")
    expect(chat(page).locator(".state")).to_have_text("Rita · customer service")
    expect(chat(page).locator(".card.queue")).to_have_count(0)
    reply_box = rita.get_by_label("Reply to the customer")
    reply_box.fill("Hello, Rita here. **How** can I help?")
    expect(chat(page).locator(".typing")).to_have_text("Rita is typing…")
    reply_box.press("Enter")
    agent_message = last_from(page, "agent")
    expect(agent_message).to_contain_text("Hello, Rita here. How can I help?")
    expect(agent_message.locator(".who")).to_have_text("Rita")
    expect(agent_message.locator("strong")).to_have_text("How")
    expect(chat(page).locator(".typing")).to_be_hidden()

    # The customer's typing and message reach the console.
    page.get_by_label("Your message").fill("My blender arrived broken")
    expect(rita.locator("#customer-typing")).to_have_text("The customer is typing…")
    page.get_by_label("Your message").press("Enter")
    expect(rita.locator("#transcript li.customer").last).to_contain_text(
        "My blender arrived broken"
    )
    expect(last_from(page, "customer")).to_have_attribute("data-state", "delivered")
    screenshot(page, "widget-03-with-agent", full_page=False)

    # A reload in the middle: the history and the state come back from the server.
    page.reload()
    expect(chat(page).get_by_role("dialog")).to_be_visible()  # it stays open
    expect(chat(page).locator(".state")).to_have_text("Rita · customer service")
    expect(chat(page).locator("li.message.bot.answer")).to_contain_text("within 14 days")
    expect(last_from(page, "agent").locator(".who")).to_have_text("Rita")
    expect(last_from(page, "customer")).to_contain_text("My blender arrived broken")
    expect(chat(page).locator("li.message.customer", has_text="Yes")).to_have_count(1)
    expect(chat(page).locator("li.message.customer", has_text="Talk to a person")).to_have_count(1)
    for payload in ("/request_human", "/affirm"):  # what was clicked, not what was sent
        expect(chat(page).locator("li.message", has_text=payload)).to_have_count(0)
    assert conversation_id(page) == customer_id

    # A second tab of the same site joins the same conversation, both ways.
    other = context.new_page()
    other.goto(f"{stack.web_url}/#help")
    expect(chat(other).locator(".state")).to_have_text("Rita · customer service")
    expect(last_from(other, "customer")).to_contain_text("My blender arrived broken")
    rita.get_by_label("Reply to the customer").fill("I'll arrange a replacement.")
    rita.get_by_label("Reply to the customer").press("Enter")
    for tab in (page, other):
        expect(last_from(tab, "agent")).to_contain_text("I'll arrange a replacement.")
    expect(chat(other).get_by_role("dialog")).to_be_visible()  # open, as on the first tab
    say(other, "Thank you!")
    expect(last_from(page, "customer")).to_contain_text("Thank you!")
    expect(rita.locator("#transcript li.customer").last).to_contain_text("Thank you!")

    # Back to the bot; the survey, answered.
    rita.get_by_role("button", name="Hand back to the bot").click()
    expect(last_from(page, "bot")).to_contain_text("You're back with the Amberline assistant")
    expect(chat(page).locator(".state")).to_have_text("Assistant · answers at once")
    survey = chat(page).locator("form.survey")
    expect(survey).to_contain_text("How satisfied are you with the help you got?")
    screenshot(page, "widget-04-survey", full_page=False)
    survey.locator("label", has_text="4").click()
    survey.get_by_label("Anything to add? (optional)").fill("Quick and kind.")
    survey.get_by_role("button", name="Submit").click()
    expect(last_from(page, "system")).to_contain_text("Thank you for your feedback.")
    expect(chat(page).locator("form.survey")).to_have_count(0)
    surveys = eventually(lambda: rows(stack, Survey, conversation_id=customer_id))
    assert [(s.score, s.comment) for s in surveys] == [(4, "Quick and kind.")]

    # Nothing of this needed a cookie, first-party or third-party.
    assert context.cookies() == []


def test_a_message_written_offline_arrives_once_when_back(stack, customer) -> None:
    context, page = customer()
    say(page, "hello")
    expect(last_from(page, "bot")).to_contain_text("virtual assistant", timeout=FIRST_REPLY)

    context.set_offline(True)
    status = chat(page).get_by_role("status").filter(has_text="You're offline")
    expect(status).to_be_visible()
    say(page, "What payment methods do you accept?")
    pending = last_from(page, "customer")
    expect(pending).to_have_attribute("data-state", "queued")
    expect(pending).to_contain_text("Not sent yet: waiting for the connection")
    screenshot(page, "widget-05-offline", full_page=False)

    context.set_offline(False)
    expect(pending).to_have_attribute("data-state", "delivered")
    expect(pending.locator(".delivery")).to_have_count(0)
    expect(status).to_have_count(0)
    expect(last_from(page, "bot")).to_contain_text("Did this help?")
    sent = [
        e
        for e in stack.tracker(conversation_id(page))["events"]
        if e.get("event") == "user" and e.get("text") == "What payment methods do you accept?"
    ]
    assert len(sent) == 1, sent
    expect(chat(page).locator("li.message.customer", has_text="payment methods")).to_have_count(1)


def test_the_agent_leaves_and_the_customer_leaves_the_queue(stack, console, customer) -> None:
    rita, _ = console("e2e-wd-rita")
    _, page = customer()
    say(page, "hi")
    expect(last_from(page, "bot")).to_contain_text("virtual assistant", timeout=FIRST_REPLY)
    reference = ask_for_a_person(page)
    take(rita, reference)
    expect(chat(page).locator(".state")).to_have_text("Rita · customer service")

    # The agent passes the chat back to the team's queue: the customer is waiting again.
    rita.locator("#transfer-panel summary").click()
    rita.get_by_label("or to a team").select_option("support-baltics")
    rita.get_by_role("button", name="Transfer").click()
    expect(last_from(page, "system")).to_contain_text("Rita has passed your chat to our")
    expect(chat(page).locator(".state")).to_have_text("Waiting for a person")
    expect(chat(page).locator(".card.queue")).to_contain_text("You're number 1 in the queue")
    # The message that says so carries the place and the wait itself (no second read needed).
    url = f"{stack.web_url}/api/conversations/{conversation_id(page)}/messages"
    said = requests.get(url, timeout=10).json()["messages"]
    told = [m["custom"]["handoff"] for m in said if "passed your chat" in (m.get("text") or "")]
    assert [(s["status"], s["position"], s["reference"]) for s in told] == [
        ("queued", 1, reference)
    ]
    assert "estimated_wait_seconds" in told[0]

    chat(page).get_by_role("button", name="Leave the queue").click()
    expect(last_from(page, "bot")).to_contain_text("You've left the queue")
    expect(chat(page).locator(".state")).to_have_text("Assistant · answers at once")
    expect(chat(page).locator(".card")).to_have_count(0)
    (handoff,) = rows(stack, Handoff, conversation_id=conversation_id(page))
    assert (handoff.reference, handoff.status) == (reference, "abandoned")


def live_root(page: Page):
    """The widget's root element: ``data-live`` (connected, reconnecting, polling) says how it
    follows the conversation, ``data-cursor`` the last message id it read from the web app."""
    return chat(page).locator(".root")


def customer_requests(page: Page) -> List[str]:
    """The web app's customer API addresses the page asks for, from now on."""
    asked: List[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/conversations/" in r.url else None)
    return asked


def read_past(page: Page, message_id: int) -> None:
    """Wait until the widget has read the web app's messages up to ``message_id``."""
    page.wait_for_function(
        """(id) => Number(document.querySelector('amberline-chat').shadowRoot
             .querySelector('.root').dataset.cursor || 0) >= id""",
        arg=message_id,
    )


def said_by_agent(stack, page: Page) -> List[Dict[str, Any]]:
    """The agent's messages of the page's conversation, as the web app reads them back."""
    url = f"{stack.web_url}/api/conversations/{conversation_id(page)}/messages"
    return [m for m in requests.get(url, timeout=10).json()["messages"] if m["author"] == "agent"]


def test_the_place_in_the_queue_moves_through_the_live_stream(stack, console, customer) -> None:
    """Two customers wait; the first leaves: the second's place moves through the conversation's
    live stream, with no polling. What the agent writes comes by socket.io and by the stream and
    is shown once; with socket.io out of reach, the stream alone brings it, and the survey."""
    rita, _ = console("e2e-wd-rita")
    _, first = customer()
    ask_for_a_person(first)
    context, second = customer()
    asked = customer_requests(second)
    chat(second).get_by_role("button", name="Talk to a person").click()
    queue = chat(second).locator(".card.queue")
    expect(queue).to_contain_text("You're number 2 in the queue", timeout=FIRST_REPLY)
    expect(live_root(second)).to_have_attribute("data-live", "connected")

    chat(first).get_by_role("button", name="Leave the queue").click()
    expect(queue).to_contain_text("You're number 1 in the queue")
    assert [url for url in asked if "/events?" not in url] == []  # nothing polled
    assert len([url for url in asked if "/events?" in url]) == 1

    # The agent joins and writes: by socket.io at once, by the stream a moment later; once.
    take(rita, re.search(r"Your reference: (H-\d+)", queue.inner_text()).group(1))
    expect(chat(second).locator(".state")).to_have_text("Rita · customer service")
    rita.get_by_label("Reply to the customer").fill("Rita here, sorry for the wait.")
    rita.get_by_label("Reply to the customer").press("Enter")
    expect(last_from(second, "agent")).to_contain_text("Rita here, sorry for the wait.")
    (hello,) = said_by_agent(stack, second)
    read_past(second, hello["id"])
    expect(chat(second).locator("li.message.agent")).to_have_count(1)
    expect(chat(second).locator("li.message.system", has_text="has joined")).to_have_count(1)

    # Rasa's socket.io out of reach after a reload (a network that blocks it): the history comes
    # from the web app, and the stream alone brings the agent's next message and the survey.
    # Both transports: the widget opens a websocket first, which `route` does not see; a
    # blocked websocket fails to open, and the widget tries long-polling, which fails too.
    context.route("**/socket.io/**", lambda route: route.abort())
    context.add_init_script(BLOCK_SOCKETIO_WEBSOCKETS)
    second.reload()
    expect(live_root(second)).to_have_attribute("data-live", "connected")
    expect(live_root(second)).to_have_attribute("data-connection", "reconnecting")
    rita.get_by_label("Reply to the customer").fill("Are you still there?")
    rita.get_by_label("Reply to the customer").press("Enter")
    expect(last_from(second, "agent")).to_contain_text("Are you still there?")
    expect(chat(second).locator("li.message.agent")).to_have_count(2)
    rita.get_by_role("button", name="Resolve").click()
    expect(chat(second).locator("form.survey")).to_be_visible()
    expect(chat(second).locator(".state")).to_have_text("Assistant · answers at once")
    expect(chat(second).locator("li.message.agent")).to_have_count(2)
    context.unroute("**/socket.io/**")
    screenshot(second, "widget-10-live-stream", full_page=False)


def test_without_the_stream_the_widget_polls(stack, console, customer) -> None:
    """The web app refuses the live stream (a proxy that does not pass it): the place in the
    queue still moves, read every few seconds from the conversation's messages."""
    rita, _ = console("e2e-wd-rita")
    _, first = customer()
    ask_for_a_person(first)
    context, second = customer()
    context.route(
        "**/api/conversations/*/events?*",
        lambda route: route.fulfill(status=503, json={"detail": "too many live connections"}),
    )
    chat(second).get_by_role("button", name="Talk to a person").click()
    queue = chat(second).locator(".card.queue")
    expect(queue).to_contain_text("You're number 2 in the queue", timeout=FIRST_REPLY)
    expect(live_root(second)).to_have_attribute("data-live", "polling")
    chat(first).get_by_role("button", name="Leave the queue").click()
    expect(queue).to_contain_text("You're number 1 in the queue", timeout=20_000)
    chat(second).get_by_role("button", name="Leave the queue").click()
    expect(chat(second).locator(".card")).to_have_count(0)
    expect(rita.locator("#queue button")).to_have_count(0)  # nobody left waiting


def test_nobody_on_duty_leave_a_message_accessibly(stack, customer) -> None:
    """Nobody is online: the honest alternative is a message with an e-mail address. The widget
    with the form open has no serious or critical accessibility violation (axe-core)."""
    context, page = customer(bypass_csp=True)  # axe is injected as an inline script
    say(page, "I want to talk to a person")
    form = chat(page).locator("form.ticket")
    expect(form).to_contain_text("Leave us a message", timeout=FIRST_REPLY)
    expect(last_from(page, "bot")).to_contain_text("support@amberline.example")

    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "widget-06-leave-a-message", full_page=False)

    form.get_by_label("E-mail address").fill("not an address")
    form.get_by_label("Message (optional)").fill("My order AM-100482 has not arrived.")
    form.get_by_role("button", name="Send the message").click()
    expect(form.get_by_role("alert")).to_contain_text("e-mail address")
    form.get_by_label("E-mail address").fill("kaja@example.com")
    form.get_by_role("button", name="Send the message").click()
    expect(last_from(page, "system")).to_contain_text("will answer you at kaja@example.com")
    expect(chat(page).locator("form.ticket")).to_have_count(0)
    (handoff,) = rows(stack, Handoff, conversation_id=conversation_id(page))
    assert handoff.status == "ticket" and handoff.customer_email == "kaja@example.com"


def axe_violations(page: Page) -> List[Dict[str, Any]]:
    """Serious and critical WCAG A/AA violations axe-core finds in the widget."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const result = await axe.run(document.querySelector('amberline-chat'), {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
          });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact,
            nodes: v.nodes.map((n) => n.target.join(' ')) }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_what_anyone_writes_is_shown_as_text(stack, console, customer) -> None:
    rita, rita_problems = console("e2e-wd-rita")
    _, page = customer()
    say(page, XSS_IMG)
    expect(last_from(page, "bot")).to_be_visible(timeout=FIRST_REPLY)
    say(page, XSS_LINK)  # the second message not understood: a person is brought in
    reference = queued_reference(page)
    take(rita, reference)
    transcript = rita.locator("#transcript li.customer")
    expect(transcript.filter(has_text=XSS_IMG)).to_have_count(1)
    expect(transcript.filter(has_text=XSS_LINK)).to_have_count(1)
    expect(rita.locator("img")).to_have_count(0)

    box = rita.get_by_label("Reply to the customer")
    box.fill(f"{XSS_IMG} and {XSS_LINK} but [our help](https://amberline.example/help)")
    box.press("Enter")
    agent_message = last_from(page, "agent")
    expect(agent_message).to_contain_text(f"{XSS_IMG} and {XSS_LINK} but our help")
    expect(chat(page).locator("li.message.customer", has_text=XSS_IMG)).to_have_count(1)
    expect(chat(page).locator("li.message.customer", has_text=XSS_LINK)).to_have_count(1)
    expect(chat(page).locator("img, script, iframe")).to_have_count(0)
    links = chat(page).locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://amberline.example/help")
    expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
    screenshot(page, "widget-07-escaped", full_page=False)
    rita.get_by_role("button", name="Resolve").click()
    expect(rita.locator("#chat-title")).to_contain_text("resolved")
    assert rita_problems == []


def test_phone_full_screen_desktop_corner_and_no_layout_shift(browser, stack, customer) -> None:
    # The host page's layout with the widget and without it (its script blocked) is the same.
    def layout(block_widget: bool) -> Dict[str, Any]:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        if block_widget:
            page.route("**/widget.js", lambda route: route.abort())
        page.goto(f"{stack.web_url}/")
        if not block_widget:
            expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
        measured = page.evaluate(
            """() => ({
              height: document.documentElement.scrollHeight,
              width: document.documentElement.scrollWidth,
              boxes: [...document.querySelectorAll('h1, h2, li, footer')].map((e) => {
                const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }),
            })"""
        )
        context.close()
        return measured

    assert layout(block_widget=False) == layout(block_widget=True)

    _, desktop = customer()
    panel = chat(desktop).get_by_role("dialog").bounding_box()
    assert panel["width"] < 500 and panel["x"] + panel["width"] <= DESKTOP["width"]
    screenshot(desktop, "widget-08-desktop", full_page=False)

    # A phone whose owner asked for less motion: no animation, the chat fills the screen.
    _, phone = customer(viewport=PHONE, is_mobile=True, has_touch=True, reduced_motion="reduce")
    dialog = chat(phone).get_by_role("dialog")
    assert dialog.evaluate("(e) => getComputedStyle(e).animationName") == "none"
    panel = dialog.bounding_box()
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 390, 844)
    expect(phone.get_by_role("button", name="Chat with us")).to_be_hidden()
    say(phone, "hello")
    expect(last_from(phone, "bot")).to_contain_text("virtual assistant", timeout=FIRST_REPLY)
    screenshot(phone, "widget-09-phone", full_page=False)
    phone.keyboard.press("Escape")
    expect(chat(phone).get_by_role("dialog")).to_be_hidden()
    launcher = phone.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_focused()


def test_keyboard_only(stack, customer) -> None:
    _, page = customer()
    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    box = page.get_by_label("Your message")
    expect(box).to_be_focused()
    page.keyboard.type("How many days do I have to return something?")
    page.keyboard.press("Enter")
    expect(last_from(page, "bot")).to_contain_text("Did this help?", timeout=FIRST_REPLY)
    no = chat(page).get_by_role("button", name="No, this didn't help")
    for _ in range(12):  # Shift+Tab back from the box to the rating
        if no.evaluate("(b) => b.getRootNode().activeElement === b"):
            break
        page.keyboard.press("Shift+Tab")
    expect(no).to_be_focused()
    page.keyboard.press("Enter")
    expect(last_from(page, "customer")).to_contain_text("No")
    expect(last_from(page, "bot")).to_contain_text("Sorry that didn't help")
    expect(box).to_be_focused()
    rating = rows(stack, ArticleRating, conversation_id=conversation_id(page))
    assert [(r.article_id, r.helpful) for r in rating] == [("return-policy", False)]


def test_the_widget_script_is_small() -> None:
    """The built script (make widget), compressed as it travels; reported in the README."""
    import gzip

    built = PROJECT_ROOT / "bot" / "web" / "static" / "dist" / "widget.js"
    if not built.exists():
        pytest.fail("the widget is not built: run `make widget` (make test does)")
    size = len(gzip.compress(built.read_bytes(), compresslevel=9))
    assert size < 40_000, size
