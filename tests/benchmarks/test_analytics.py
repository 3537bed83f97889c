"""The analytics benchmark's synthetic conversations give the report the numbers they were
built to give (so that its timing is of a real report)."""

from __future__ import annotations

import datetime as dt

from benchmarks.analytics import measure, populate
from bot.timeutil import utcnow


def test_the_synthetic_conversations_count_as_built(database_url) -> None:
    now = utcnow()
    populate(database_url, 200, since=now - dt.timedelta(days=20), until=now - dt.timedelta(days=2))
    measured = measure(database_url, now=now, repeats=1)
    summary = measured["report"]["summary"]
    assert summary["conversations"] == 200 and summary["decided"] == 200
    # every tenth: a handoff, a "didn't help", not understood; the other seven resolved
    assert summary["resolution_rate"] == 0.7
    assert summary["handoff_rate"] == 0.1
    assert summary["wrong_answer_rate"] == round(20 / 180, 4)
    assert summary["wait_seconds"]["median"] == 45.0
    assert summary["first_response_seconds"]["median"] == 60.0
    assert summary["resolution_seconds"]["median"] == 600.0
    assert (summary["csat_mean"], summary["csat_satisfied_share"]) == (4.5, 1.0)
    topics = measured["report"]["unanswered"]
    # "do you sell gift wrapping 0" to "... 6": seven wordings of one topic
    assert [t["count"] for t in topics] == [20] and len(topics[0]["wordings"]) == 5
    assert measured["report"]["unanswered_left_out"] == 0
    assert measured["median_seconds"] > 0
