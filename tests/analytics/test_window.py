"""The report's period: defaults, limits, time zones and buckets."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.analytics.window import BadPeriod, make_window

NOW = dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.timezone.utc)


def test_the_last_30_days_by_default() -> None:
    window = make_window(first=None, last=None, now=NOW)
    assert (window.first, window.last) == (dt.date(2026, 10, 25), dt.date(2026, 11, 23))
    assert len(window.buckets()) == 30


def test_today_is_the_zone_s_today() -> None:
    # 22:30 UTC is already 24 November in Vilnius
    window = make_window(first=None, last=None, zone="Europe/Vilnius", now=NOW)
    assert window.last == dt.date(2026, 11, 24)
    assert window.start == dt.datetime(2026, 10, 25, 22, 0, tzinfo=dt.timezone.utc)


def test_weeks_start_on_monday() -> None:
    window = make_window(
        first=dt.date(2026, 11, 4), last=dt.date(2026, 11, 17), bucket="week", now=NOW
    )
    assert window.buckets() == [dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)]


@pytest.mark.parametrize(
    "options, field",
    [
        ({"zone": "Mars/Olympus"}, "tz"),
        ({"zone": "../../etc/passwd"}, "tz"),
        ({"zone": ""}, "tz"),
        ({"bucket": "month"}, "bucket"),
        ({"first": dt.date(2026, 11, 10), "last": dt.date(2026, 11, 1)}, "from"),
        ({"first": dt.date(2024, 1, 1), "last": dt.date(2026, 1, 1)}, "to"),
    ],
)
def test_refused(options, field) -> None:
    with pytest.raises(BadPeriod) as error:
        make_window(**{"first": None, "last": None, **options}, now=NOW)
    assert error.value.field == field
