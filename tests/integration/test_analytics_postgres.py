"""The analytics report on a real PostgreSQL server (`.ci/services` starts one;
BOT_TEST_POSTGRES_URL says where): the same hand-built week gives the same numbers as on SQLite
(tests/analytics/test_report.py), Rasa's events written by its own tracker store."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from bot import db
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


def test_events_are_indexed_by_time_on_postgres(pg_url, pg_engine) -> None:  # noqa: F811
    """The tracker store adds the index to the table Rasa created; the migration, run again
    on a database that has it, and a second start leave it as it is."""
    said = Conversations(pg_url)
    said.close()
    indexes = {i["name"] for i in inspect(pg_engine).get_indexes("events")}
    assert {"ix_events_sender_id", "ix_events_timestamp"} <= indexes
    command.downgrade(db.alembic_config(pg_url), "0010")
    assert "ix_events_timestamp" not in {
        i["name"] for i in inspect(pg_engine).get_indexes("events")
    }
    db.upgrade(pg_url)
    Conversations(pg_url).close()
    assert "ix_events_timestamp" in {i["name"] for i in inspect(pg_engine).get_indexes("events")}
