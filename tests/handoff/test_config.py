"""The handoff configuration: the shipped file, opening hours across weekends and DST, routing,
and a clear ConfigurationError for each kind of mistake."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from bot.errors import ConfigurationError
from bot.handoff.config import (
    DEFAULT_PATH,
    ENV_VAR,
    HandoffConfig,
    Span,
    get_config,
    load_config,
)
from bot.settings import PROJECT_ROOT

UTC = dt.timezone.utc


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def shipped() -> HandoffConfig:
    return load_config()


@pytest.fixture
def data() -> Dict[str, Any]:
    """The shipped file's content, to change and write elsewhere."""
    return copy.deepcopy(yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8")))


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "handoff.yml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def team_data(data: Dict[str, Any], name: str) -> Dict[str, Any]:
    return next(team for team in data["teams"] if team["name"] == name)


def error_of(tmp_path: Path, content: Any) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_config(write(tmp_path, content))
    return str(caught.value)


# The shipped file


def test_shipped_file_loads(shipped: HandoffConfig) -> None:
    assert DEFAULT_PATH == PROJECT_ROOT / "handoff.yml"
    assert [team.name for team in shipped.teams] == [
        "support-baltics",
        "support-poland",
        "escalations",
    ]
    assert shipped.triggers.not_understood.misses_in_a_row == 2
    assert shipped.triggers.negative_feedback.unhelpful_ratings == 2
    assert shipped.triggers.sensitive_topic.topics == [
        "complaint",
        "legal_threat",
        "account_security",
        "data_protection",
    ]
    assert shipped.queue.max_wait_minutes == 15
    assert shipped.queue.agent_timeout_seconds == 120
    assert shipped.queue.average_handle_minutes == 6


def test_shipped_hours_are_the_fact_sheets(shipped: HandoffConfig) -> None:
    """docs/demo-company.md: Mon–Fri 8:00–20:00, Sat 9:00–15:00; Poland Mon–Fri 8:00–19:00."""
    baltics = shipped.team("support-baltics").hours
    assert [str(baltics.on(day)) for day in range(6)] == ["08:00-20:00"] * 5 + ["09:00-15:00"]
    assert baltics.sun is None
    poland = shipped.team("support-poland").hours
    assert [str(poland.on(day)) for day in range(5)] == ["08:00-19:00"] * 5
    assert poland.sat is None and poland.sun is None


def test_every_trigger_is_enabled_in_the_shipped_file(shipped: HandoffConfig) -> None:
    for name in (
        "asked_for_person",
        "not_understood",
        "negative_feedback",
        "frustration",
        "sensitive_topic",
    ):
        assert shipped.trigger_enabled(name)


def test_a_disabled_trigger_and_an_unknown_one(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["triggers"]["frustration"]["enabled"] = False
    config = load_config(write(tmp_path, data))
    assert not config.trigger_enabled("frustration")
    with pytest.raises(KeyError, match="frustrated"):
        config.trigger_enabled("frustrated")


def test_queue_priority_by_reason(shipped: HandoffConfig) -> None:
    assert shipped.queue.priority_for("sensitive_topic") == 2
    assert shipped.queue.priority_for("negative_feedback") == 1
    assert shipped.queue.priority_for("asked_for_person") == 0


# Opening hours


def test_open_on_weekdays_and_saturday_closed_on_sunday(shipped: HandoffConfig) -> None:
    baltics = shipped.team("support-baltics")  # Vilnius is UTC+2 in January
    assert utc(2025, 1, 15, 10, 0).weekday() == 2  # a Wednesday
    assert baltics.is_open(utc(2025, 1, 15, 10, 0))  # 12:00 local
    assert not baltics.is_open(utc(2025, 1, 15, 18, 0))  # 20:00 local: the end is exclusive
    assert baltics.is_open(utc(2025, 1, 18, 12, 59))  # Saturday 14:59
    assert not baltics.is_open(utc(2025, 1, 18, 13, 0))  # Saturday 15:00
    assert not baltics.is_open(utc(2025, 1, 19, 10, 0))  # Sunday
    poland = shipped.team("support-poland")
    assert not poland.is_open(utc(2025, 1, 18, 10, 0))  # Saturday


def test_local_time_follows_daylight_saving(shipped: HandoffConfig) -> None:
    baltics = shipped.team("support-baltics")
    winter, summer = utc(2025, 1, 15, 5, 30), utc(2025, 7, 16, 5, 30)  # both Wednesdays
    assert winter.weekday() == summer.weekday() == 2
    assert not baltics.is_open(winter)  # 07:30 EET
    assert baltics.is_open(summer)  # 08:30 EEST
    assert baltics.is_open(utc(2025, 1, 15, 17, 30))  # 19:30 EET
    assert not baltics.is_open(utc(2025, 7, 16, 17, 30))  # 20:30 EEST
    escalations = shipped.team("escalations")
    assert not escalations.is_open(utc(2025, 1, 15, 6, 30))  # 08:30 EET
    assert escalations.is_open(utc(2025, 7, 16, 6, 30))  # 09:30 EEST


def test_is_open_accepts_any_aware_time_but_not_a_naive_one(shipped: HandoffConfig) -> None:
    baltics = shipped.team("support-baltics")
    vilnius_noon = dt.datetime(2025, 1, 15, 12, 0, tzinfo=baltics.tz)
    assert baltics.is_open(vilnius_noon)
    with pytest.raises(ValueError, match="timezone-aware"):
        baltics.is_open(dt.datetime(2025, 1, 15, 12, 0))


def test_next_opening_from_friday_evening(shipped: HandoffConfig) -> None:
    friday_evening = utc(2025, 1, 17, 18, 30)  # 20:30 in Vilnius, 19:30 in Warsaw
    assert friday_evening.weekday() == 4
    # Saturday 09:00 in Vilnius
    assert shipped.team("support-baltics").next_opening(friday_evening) == utc(2025, 1, 18, 7, 0)
    # Monday 08:00 in Warsaw, Monday 09:00 in Vilnius
    assert shipped.team("support-poland").next_opening(friday_evening) == utc(2025, 1, 20, 7, 0)
    assert shipped.team("escalations").next_opening(friday_evening) == utc(2025, 1, 20, 7, 0)


def test_next_opening_later_today_or_now(shipped: HandoffConfig) -> None:
    baltics = shipped.team("support-baltics")
    early = utc(2025, 1, 15, 4, 0)  # 06:00 local
    assert baltics.next_opening(early) == utc(2025, 1, 15, 6, 0)
    during = dt.datetime(2025, 1, 15, 12, 0, tzinfo=baltics.tz)
    opening = baltics.next_opening(during)
    assert opening == during and opening is not None and opening.tzinfo == UTC


def test_next_opening_across_the_spring_clock_change(shipped: HandoffConfig) -> None:
    """Clocks go forward on Sunday 30 March 2025: Monday 08:00 in Vilnius is 05:00 UTC."""
    saturday_evening = utc(2025, 3, 29, 18, 0)
    assert shipped.team("support-baltics").next_opening(saturday_evening) == utc(2025, 3, 31, 5)


def test_next_opening_of_a_team_that_never_works(tmp_path: Path, data: Dict[str, Any]) -> None:
    team_data(data, "escalations")["hours"] = dict.fromkeys(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "closed"
    )
    config = load_config(write(tmp_path, data))
    assert config.team("escalations").next_opening(utc(2025, 1, 15, 10, 0)) is None


def test_span_parsing() -> None:
    span = Span.parse(" 08:00-20:00 ")
    assert span == Span(dt.time(8), dt.time(20)) and str(span) == "08:00-20:00"
    assert dt.time(8) in span and dt.time(19, 59) in span and dt.time(20) not in span
    for bad in ("8:00-20:00", "08:00–20:00", "20:00-08:00", "10:00-10:00", "24:00-25:00",
                "24:00-24:00", "08:00-24:01"):  # fmt: skip
        with pytest.raises(ValueError):
            Span.parse(bad)


def test_a_span_to_midnight_includes_the_last_minute() -> None:
    whole_day = Span.parse("00:00-24:00")
    assert str(whole_day) == "00:00-24:00"
    assert dt.time(0) in whole_day and dt.time(23, 59, 59, 999999) in whole_day
    evening = Span.parse("18:00-24:00")
    assert dt.time(17, 59) not in evening and dt.time(23, 59, 30) in evening


# Routing


def test_route_by_reason_first(shipped: HandoffConfig) -> None:
    assert shipped.route(reason="sensitive_topic", language="pl").name == "escalations"
    assert shipped.route(reason="sensitive_topic", language="lt").name == "escalations"


def test_route_by_language(shipped: HandoffConfig) -> None:
    assert shipped.route(reason="asked_for_person", language="pl").name == "support-poland"
    assert shipped.route(reason="frustration", language="lv").name == "support-baltics"
    # The first team in the file that speaks it.
    assert shipped.route(reason="asked_for_person", language="en").name == "support-baltics"


def test_route_falls_back_to_the_default_team(tmp_path: Path, data: Dict[str, Any]) -> None:
    team_data(data, "support-baltics")["languages"] = ["en", "lt"]
    team_data(data, "escalations")["languages"] = ["en"]
    data["routing"]["default_team"] = "support-poland"
    config = load_config(write(tmp_path, data))
    assert config.route(reason="asked_for_person", language="lv").name == "support-poland"
    assert config.route(reason="asked_for_person", language="lt").name == "support-baltics"


def test_unknown_team_name(shipped: HandoffConfig) -> None:
    with pytest.raises(KeyError, match="sales"):
        shipped.team("sales")


# Mistakes in the file


def test_unknown_team_in_routing(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["routing"]["by_reason"]["sensitive_topic"] = "escalation"
    message = error_of(tmp_path, data)
    assert "routing" in message and "by_reason.sensitive_topic" in message
    assert "unknown team 'escalation'" in message and str(tmp_path) in message


def test_unknown_default_team(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["routing"]["default_team"] = "support"
    message = error_of(tmp_path, data)
    assert "default_team" in message and "unknown team 'support'" in message


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        ("20:00-08:00", "the start must be before the end"),
        ("22:00-02:00", "may not cross midnight"),
        ("8-20", 'neither "HH:MM-HH:MM" nor "closed"'),
        ("08:00-24:30", "not a time of day"),
        (False, 'neither "HH:MM-HH:MM" nor "closed"'),  # YAML reads an unquoted `off` as false
        (None, '"HH:MM-HH:MM" or "closed"'),
    ],
)
def test_bad_time_span(tmp_path: Path, data: Dict[str, Any], span: Any, problem: str) -> None:
    team_data(data, "support-poland")["hours"]["tue"] = span
    message = error_of(tmp_path, data)
    assert "teams[support-poland].hours.tue" in message and problem in message


def test_a_day_without_hours(tmp_path: Path, data: Dict[str, Any]) -> None:
    del team_data(data, "escalations")["hours"]["sun"]
    message = error_of(tmp_path, data)
    assert "teams[escalations].hours.sun: field required" in message


def test_unknown_timezone(tmp_path: Path, data: Dict[str, Any]) -> None:
    team_data(data, "escalations")["timezone"] = "Europe/Vilnus"
    message = error_of(tmp_path, data)
    assert "teams[escalations].timezone" in message
    assert "unknown time zone 'Europe/Vilnus'" in message


def test_duplicate_team(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["teams"].append(copy.deepcopy(team_data(data, "support-poland")))
    message = error_of(tmp_path, data)
    assert "teams: duplicate team name 'support-poland'" in message


def test_unsupported_language(tmp_path: Path, data: Dict[str, Any]) -> None:
    team_data(data, "support-baltics")["languages"] = ["en", "lt", "lv", "et"]
    message = error_of(tmp_path, data)
    assert "teams[support-baltics].languages" in message and "unsupported language et" in message


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("not_understood", "misses_in_a_row", 0),
        ("negative_feedback", "unhelpful_ratings", -1),
    ],
)
def test_trigger_thresholds_must_be_positive(
    tmp_path: Path, data: Dict[str, Any], section: str, key: str, value: int
) -> None:
    data["triggers"][section][key] = value
    message = error_of(tmp_path, data)
    assert f"triggers.{section}.{key}" in message and "greater than 0" in message


@pytest.mark.parametrize(
    "key", ["max_wait_minutes", "agent_timeout_seconds", "average_handle_minutes"]
)
def test_queue_settings_must_be_positive(tmp_path: Path, data: Dict[str, Any], key: str) -> None:
    data["queue"][key] = 0
    message = error_of(tmp_path, data)
    assert f"queue.{key}" in message and "greater than 0" in message


def test_unknown_reason_in_priority(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["queue"]["priority"]["sensitive_topics"] = 3
    message = error_of(tmp_path, data)
    assert "queue.priority" in message and "unknown reason 'sensitive_topics'" in message


def test_misspelt_key(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["triggers"]["not_understood"]["misses_in_row"] = 3
    message = error_of(tmp_path, data)
    assert "triggers.not_understood.misses_in_row: extra fields not permitted" in message


def test_missing_trigger(tmp_path: Path, data: Dict[str, Any]) -> None:
    del data["triggers"]["frustration"]
    assert "triggers.frustration: field required" in error_of(tmp_path, data)


def test_enabled_sensitive_topic_needs_topics(tmp_path: Path, data: Dict[str, Any]) -> None:
    data["triggers"]["sensitive_topic"]["topics"] = []
    message = error_of(tmp_path, data)
    assert "triggers.sensitive_topic.topics" in message and "at least one topic" in message


def test_several_mistakes_are_all_named(tmp_path: Path, data: Dict[str, Any]) -> None:
    team_data(data, "escalations")["timezone"] = "Mars/Olympus"
    data["queue"]["max_wait_minutes"] = -5
    message = error_of(tmp_path, data)
    assert "teams[escalations].timezone" in message and "queue.max_wait_minutes" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the handoff configuration"):
        load_config(tmp_path / "nowhere.yml")


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    assert "not valid YAML" in error_of(tmp_path, "teams: [unclosed\n")
    assert "expected a mapping" in error_of(tmp_path, "- just\n- a list\n")
    assert "expected a mapping" in error_of(tmp_path, "")


# The process's configuration


def test_get_config_reads_the_file_named_by_the_environment(
    tmp_path: Path, data: Dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data["queue"]["max_wait_minutes"] = 30
    monkeypatch.setenv(ENV_VAR, str(write(tmp_path, data)))
    get_config.cache_clear()
    try:
        config = get_config()
        assert config.queue.max_wait_minutes == 30
        assert get_config() is config  # read once
        monkeypatch.delenv(ENV_VAR)
        get_config.cache_clear()
        assert get_config().queue.max_wait_minutes == 15
    finally:
        get_config.cache_clear()
