"""The analytics report on a real PostgreSQL server (`.ci/services` starts one;
BOT_TEST_POSTGRES_URL says where): the same hand-built week gives the same numbers as on SQLite
(tests/analytics/test_report.py), Rasa's events written by its own tracker store."""

from __future__ import annotations

import pytest

from tests.analytics.test_report import Talk, report, write_week
from tests.conftest import Conversations
from tests.integration.test_postgres import pg_engine, pg_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.postgres


async def test_the_week_on_postgres(pg_url, pg_engine) -> None:  # noqa: F811
    said = Conversations(pg_url)
    try:
        await write_week(Talk(said, pg_engine))
    finally:
        said.close()
    result = report(pg_engine)
    summary = result["summary"]
    assert (summary["conversations"], summary["decided"], summary["resolved"]) == (14, 14, 8)
    assert (summary["answers"], summary["unhelpful"], summary["with_handoff"]) == (10, 1, 1)
    assert summary["wait_seconds"]["median"] == 180.0
    assert summary["first_response_seconds"]["median"] == 240.0
    assert (summary["queued"], summary["abandoned"], summary["csat_mean"]) == (2, 1, 3.5)
    assert result["unanswered"][0]["count"] == 2
    vilnius = report(pg_engine, zone="Europe/Vilnius", bucket="week")["series"]
    assert vilnius[0]["conversations"] == 14
