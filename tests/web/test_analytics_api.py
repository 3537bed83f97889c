"""The analytics API against the running web app and a real database: roles, the report of
conversations written by Rasa's own tracker store, CSV export, and bad parameters."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import requests

from bot.kb.models import ArticleRating
from bot.timeutil import utcnow
from tests.analytics.test_report import Talk

API = "/api/editor/analytics"


@pytest.fixture
def web(web):
    web.add_user("edita", "editor")
    web.add_user("root", "admin")
    web.add_user("ona", "agent")
    return web


@pytest.fixture
async def talked(web, conversations, engine):
    """Three days ago: one answer rated "didn't help", one answered and fine, and two messages
    nobody understood (one a formula, one with an e-mail address)."""
    talk = Talk(conversations, engine)
    start = utcnow().replace(microsecond=0) - dt.timedelta(days=3)
    await talk.says("conv-api-unhelpful-01", start, "refund?")
    await talk.answer("conv-api-unhelpful-01", start + dt.timedelta(seconds=2), "refund-timing")
    talk.rows(
        ArticleRating(
            conversation_id="conv-api-unhelpful-01",
            article_id="refund-timing",
            language="en",
            version=1,
            helpful=False,
            created_at=start + dt.timedelta(seconds=30),
        )
    )
    await talk.says("conv-api-fine-000001", start + dt.timedelta(hours=2), "gift card")
    await talk.answer(
        "conv-api-fine-000001", start + dt.timedelta(hours=2, seconds=2), "gift-cards"
    )
    await talk.miss("conv-api-miss-000001", start + dt.timedelta(hours=3), '=HYPERLINK("http://x")')
    await talk.miss(
        "conv-api-miss-000002", start + dt.timedelta(hours=4), "<script>x</script> me@x.lt"
    )
    return web


def test_only_editors_and_admins(web) -> None:
    for name in ("edita", "root"):
        assert web.client(name).get(f"{web.url}{API}").status_code == 200
        assert web.client(name).get(f"{web.url}{API}/series.csv").status_code == 200
    assert web.client("ona").get(f"{web.url}{API}").status_code == 403
    assert web.client("ona").get(f"{web.url}{API}/articles.csv").status_code == 403
    assert web.client().get(f"{web.url}{API}").status_code == 401
    assert web.client().get(f"{web.url}{API}/summary.csv").status_code == 401


def test_the_page_and_the_description(web) -> None:
    page = requests.get(f"{web.url}/editor/analytics")
    assert page.status_code == 200 and "<title>Analytics" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    paths = requests.get(f"{web.url}/api/openapi.json").json()["paths"]
    assert API in paths and f"{API}/{{name}}.csv" in paths


async def test_the_report(talked) -> None:
    web = talked
    report = web.client("edita").get(f"{web.url}{API}").json()
    summary = report["summary"]
    assert (summary["conversations"], summary["decided"], summary["resolved"]) == (4, 4, 1)
    assert summary["resolution_rate"] == 0.25
    assert (summary["answers"], summary["unhelpful"], summary["wrong_answer_rate"]) == (2, 1, 0.5)
    assert report["period"]["timezone"] == "UTC" and len(report["series"]) == 30
    articles = {a["article_id"]: a for a in report["articles"]}
    assert articles["refund-timing"]["did_not_help"] == 1
    topics = [t["topic"] for t in report["unanswered"]]
    assert sorted(topics) == sorted(['=HYPERLINK("http://x")', "<script>x</script> [email]"])
    assert all(t["wordings"] == [t["topic"]] for t in report["unanswered"])
    assert report["unanswered_left_out"] == 0
    # the same in another language: nothing
    lithuanian = web.client("edita").get(f"{web.url}{API}", params={"language": "lt"}).json()
    assert lithuanian["summary"]["conversations"] == 0


async def test_csv_export(talked) -> None:
    web = talked
    editor = web.client("edita")
    reply = editor.get(f"{web.url}{API}/unanswered.csv", params={"bucket": "week"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"].startswith('attachment; filename="amberline-')
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert rows[0] == ["topic", "count", "conversations", "wordings"]
    assert all(r[3] == r[0] for r in rows[1:])
    assert sorted(r[0] for r in rows[1:]) == [
        '\'=HYPERLINK("http://x")',
        "<script>x</script> [email]",
    ]
    series = list(csv.DictReader(io.StringIO(editor.get(f"{web.url}{API}/series.csv").text)))
    assert len(series) == 30 and sum(int(r["answers"]) for r in series) == 2
    summary = dict(csv.reader(io.StringIO(editor.get(f"{web.url}{API}/summary.csv").text)))
    assert summary["resolution_rate"] == "0.25" and summary["wait_seconds_median"] == ""
    articles = list(csv.DictReader(io.StringIO(editor.get(f"{web.url}{API}/articles.csv").text)))
    assert {a["article_id"] for a in articles} == {"refund-timing", "gift-cards"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-11-01' OR 1=1 --"}, "to"),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"bucket": "month"}, "bucket"),
        ({"language": "xx"}, "language"),
        ({"language": "en<script>"}, "language"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "../../../etc/passwd"}, "tz"),
        ({"tz": "Europe/Vilnius\u202e"}, "tz"),
        ({"tz": "x" * 500}, "tz"),
    ],
)
def test_bad_parameters_are_422(web, params, field) -> None:
    editor = web.client("edita")
    for path in (API, f"{API}/series.csv"):
        reply = editor.get(f"{web.url}{path}", params=params)
        assert reply.status_code == 422, (params, reply.text)
        assert field in [p["field"] for p in reply.json()["problems"]]


def test_an_unknown_table_is_refused(web) -> None:
    editor = web.client("edita")
    for name in ("secrets", "..%2F..%2Fetc", "series.csv%00"):
        assert 400 <= editor.get(f"{web.url}{API}/{name}.csv").status_code < 500


def test_a_time_zone_and_weeks(web) -> None:
    reply = web.client("edita").get(
        f"{web.url}{API}",
        params={"from": "2026-11-02", "to": "2026-11-15", "bucket": "week", "tz": "Europe/Vilnius"},
    )
    assert reply.status_code == 200
    assert [row["bucket"] for row in reply.json()["series"]] == ["2026-11-02", "2026-11-09"]
    assert reply.json()["period"]["timezone"] == "Europe/Vilnius"


def test_nothing_yet_is_zeros_not_errors(web) -> None:
    report = web.client("edita").get(f"{web.url}{API}").json()
    assert report["summary"]["conversations"] == 0 and report["summary"]["resolution_rate"] is None
