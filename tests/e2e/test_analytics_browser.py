"""Analytics in a real browser (Debian's chromium driven by Playwright, headless) against the
running stack, after a real conversation over Rasa's REST channel: an answer, a "didn't help",
a request for a person; and a message the bot does not understand, written to break a page.

The report counts everything in the stack's database (other end-to-end files may have talked
before), so the test reads the report before and after its conversations and checks that the
page shows the new numbers, charts drawn in it, and CSV downloads of the same data.
Screenshot: results/screenshots/analytics.png.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests
from playwright.sync_api import Page, expect

from bot import db
from bot.handoff import queue
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import PASSWORD, add_editor, custom, screenshot

pytestmark = pytest.mark.e2e
EDITOR = "e2e-an-editor"
API = "/api/editor/analytics"
HOSTILE = "<img src=x onerror=alert(1)> zqxv wplk"
# Two wordings of one question the bot does not know: one topic (grouped by character n-grams).
ALIKE = ("vromble skadoo quix", "Vromble skadoo quixx??")
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def editor(stack) -> str:
    return add_editor(stack, EDITOR, "Ana")


def report(stack) -> Dict[str, Any]:
    http = requests.Session()
    http.post(f"{stack.web_url}/api/session", json={"username": EDITOR, "password": PASSWORD})
    return http.get(f"{stack.web_url}{API}", timeout=30).json()


def article_row(data: Dict[str, Any], article_id: str) -> Dict[str, Any]:
    rows = [r for r in data["articles"] if r["article_id"] == article_id and r["language"] == "en"]
    return rows[0] if rows else {"views": 0, "did_not_help": 0, "handoffs_after": 0}


@pytest.fixture
def customers(stack) -> Iterator[List[str]]:
    """This test's customers; a handoff of theirs still in the queue afterwards is closed, so
    that nobody is left waiting ahead of the other tests' customers."""
    ids: List[str] = []
    yield ids
    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        for conversation_id in ids:
            handoff = queue.open_handoff(session, conversation_id)
            if handoff is not None:
                queue.apply(session, handoff, "resolve", actor_name="test")
    engine.dispose()


def axe_violations(page: Page) -> List[Dict[str, Any]]:
    """Serious and critical WCAG A/AA violations axe-core finds on the page."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const result = await axe.run(document.querySelector('main'), {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
          });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact,
            nodes: v.nodes.map((n) => n.target.join(' ')) }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def topic_of(data: Dict[str, Any], wording: str) -> Dict[str, Any]:
    """The unanswered topic with ``wording`` among its commonest wordings (none: count 0)."""
    found = [t for t in data["unanswered"] if wording in t["wordings"]]
    return found[0] if found else {"count": 0, "wordings": []}


def eventually(check, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_conversation_shows_in_the_numbers_and_charts(
    stack, editor, staff_page, customers
) -> None:
    before = report(stack)
    customer = "e2e-analytics-" + uuid.uuid4().hex[:12]
    customers.append(customer)
    reply = stack.say(customer, "how long do I have to return something?")
    assert custom(reply, "kb_answer")["article_id"] == "return-policy"
    stack.say(customer, "/deny")  # "No, this didn't help"
    reply = stack.say(customer, "/request_human")
    assert custom(reply, "handoff") is not None
    stranger = "e2e-analytics-" + uuid.uuid4().hex[:12]
    assert custom(stack.say(stranger, HOSTILE), "kb_miss") is not None
    for wording in ALIKE:
        asker = "e2e-analytics-" + uuid.uuid4().hex[:12]
        assert custom(stack.say(asker, wording), "kb_miss") is not None

    def moved() -> Dict[str, Any]:
        after = report(stack)
        s, b = after["summary"], before["summary"]
        assert s["conversations"] == b["conversations"] + 4
        assert s["answers"] == b["answers"] + 1 and s["unhelpful"] == b["unhelpful"] + 1
        assert s["with_handoff"] == b["with_handoff"] + 1
        return after

    after = eventually(moved)
    row, row_before = article_row(after, "return-policy"), article_row(before, "return-policy")
    assert row["views"] == row_before["views"] + 1
    assert row["did_not_help"] == row_before["did_not_help"] + 1
    assert row["handoffs_after"] == row_before["handoffs_after"] + 1
    assert HOSTILE in [t["topic"] for t in after["unanswered"]]
    # two wordings of one question: one topic, both counted
    alike = topic_of(after, ALIKE[0])
    assert ALIKE[1] in alike["wordings"]
    assert alike["count"] == topic_of(before, ALIKE[0])["count"] + 2
    summary = after["summary"]

    # axe-core is injected as an inline script: the page's Content-Security-Policy would refuse it
    tab, _ = staff_page("/editor/analytics", editor, bypass_csp=True)
    expect(tab.locator("#analytics")).to_be_visible()
    # the numbers of the report, with this conversation in them
    cards = tab.locator("#summary")
    expect(cards).to_contain_text(
        f'{summary["unhelpful"]} "didn\'t help" of {summary["answers"]} answers'
    )
    expect(cards).to_contain_text(
        f'{summary["with_handoff"]} of {summary["conversations"]} conversations'
    )
    rate = round(summary["wrong_answer_rate"] * 1000) / 10
    shown = f"{rate:g}%"
    expect(tab.locator('[data-metric="wrong_answer_rate"]')).to_have_text(shown)
    article = tab.locator("#articles-table tbody tr", has_text="return-policy")
    expect(article.locator("td").nth(3)).to_have_text(str(row["did_not_help"]))
    expect(article.locator("td").nth(5)).to_have_text(str(row["handoffs_after"]))
    # charts drawn in the page, named and described, with today's points
    charts = tab.locator("#charts svg[role=img]")
    expect(charts).to_have_count(4)
    today = after["series"][-1]["bucket"]
    point = tab.locator(f'#charts circle[data-series="Handoff rate"][data-bucket="{today}"]')
    expect(point).to_have_count(1)
    assert tab.locator("#charts figure").first.locator("desc").text_content()
    reason = next(r for r in after["handoff_reasons"] if r["handoffs"])
    expect(tab.locator(f'#reasons-chart rect[data-reason="{reason["reason"]}"]')).to_have_count(1)
    # the customer's hostile words are text, never markup
    unanswered = tab.locator("#unanswered-table")
    expect(unanswered).to_contain_text(HOSTILE)
    expect(unanswered.locator("img")).to_have_count(0)
    grouped = unanswered.locator("tbody tr", has_text=ALIKE[0])
    expect(grouped).to_contain_text(ALIKE[1])  # one row: the topic and its other wording
    expect(grouped.locator("td").first).to_have_text(str(alike["count"]))
    expect(tab.get_by_role("link", name="inbox", exact=True)).to_have_attribute(
        "href", "/editor/inbox"
    )
    topics_csv = tab.request.get(
        f"{stack.web_url}{tab.locator('#csv-unanswered').get_attribute('href')}"
    ).text()
    topic_rows = [r for r in csv.DictReader(io.StringIO(topics_csv)) if r["topic"] in ALIKE]
    assert len(topic_rows) == 1 and topic_rows[0]["count"] == str(alike["count"])
    # the CSV download of the articles, with the same numbers
    link = tab.locator("#csv-articles")
    csv_reply = tab.request.get(f"{stack.web_url}{link.get_attribute('href')}")
    assert csv_reply.ok and csv_reply.headers["content-type"].startswith("text/csv")
    rows = {r["article_id"]: r for r in csv.DictReader(io.StringIO(csv_reply.text()))}
    assert rows["return-policy"]["did_not_help"] == str(row["did_not_help"])
    # a chart saved as an image
    with tab.expect_download() as download:
        tab.locator("#charts figure").first.get_by_role(
            "button", name="Save as image (SVG)"
        ).click()
    image = Path(download.value.path()).read_text()
    assert image.startswith("<svg") and 'role="img"' in image and "<circle" in image
    assert download.value.suggested_filename == "rates-by-day.svg"
    # no serious accessibility problem (axe-core, WCAG 2.1 A and AA)
    assert axe_violations(tab) == []
    # a time zone the server does not know: said in plain words, the numbers stay
    tab.get_by_label("Time zone").fill("Mars/Olympus")
    tab.get_by_role("button", name="Show", exact=True).click()
    expect(tab.locator("#error")).to_contain_text("unknown time zone")
    expect(tab.locator('[data-metric="wrong_answer_rate"]')).to_have_text(shown)
    # and back to the articles
    screenshot(tab, "analytics")
    tab.get_by_role("link", name="Articles", exact=True).click()
    expect(tab.locator("#desk")).to_be_visible()
