"""The period a report covers: dates in a time zone, cut into day or week buckets."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import List, Optional

from bot.errors import BotError

BUCKETS = ("day", "week")
MAX_DAYS = 366
DEFAULT_DAYS = 30


class BadPeriod(BotError):
    """The period asked for is not one a report can cover; ``field`` names the parameter."""

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Window:
    """From ``first`` to ``last`` (dates, both included) in ``zone``; ``start`` and ``end`` are
    the same period as UTC instants (``end`` excluded)."""

    first: dt.date
    last: dt.date
    bucket: str
    zone: dt.tzinfo
    language: Optional[str]
    now: dt.datetime

    @functools.cached_property
    def start(self) -> dt.datetime:
        return self._instant(self.first)

    @functools.cached_property
    def end(self) -> dt.datetime:
        return self._instant(self.last + dt.timedelta(days=1))

    @property
    def zone_name(self) -> str:
        return str(self.zone)

    def _instant(self, day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), tzinfo=self.zone)
        return local.astimezone(dt.timezone.utc)

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when < self.end

    def bucket_of(self, when: dt.datetime) -> dt.date:
        """The bucket of an instant: its local date, or the Monday of its local week."""
        day = when.astimezone(self.zone).date()
        return day - dt.timedelta(days=day.weekday()) if self.bucket == "week" else day

    def buckets(self) -> List[dt.date]:
        """Every bucket of the period, oldest first (also the empty ones)."""
        found: List[dt.date] = []
        day = self.first
        while day <= self.last:
            bucket = self.bucket_of(self._instant(day) + dt.timedelta(hours=12))
            if not found or found[-1] != bucket:
                found.append(bucket)
            day += dt.timedelta(days=1)
        return found


def make_window(
    *,
    first: Optional[dt.date],
    last: Optional[dt.date],
    bucket: str = "day",
    zone: str = "UTC",
    language: Optional[str] = None,
    now: dt.datetime,
) -> Window:
    """The period to report on; by default the last ``DEFAULT_DAYS`` days up to today in
    ``zone``. Raises BadPeriod for an unknown zone or bucket, a period that ends before it
    starts, or one longer than ``MAX_DAYS``."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError) as error:
        message = f"unknown time zone {zone[:64]!r} (use a name like Europe/Vilnius)"
        raise BadPeriod(message, "tz") from error
    if bucket not in BUCKETS:
        raise BadPeriod("bucket must be day or week", "bucket")
    today = now.astimezone(tz).date()
    last = last or (today if first is None else min(today, first + dt.timedelta(DEFAULT_DAYS - 1)))
    first = first or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadPeriod("the period ends before it starts", "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"a report covers at most {MAX_DAYS} days", "to")
    return Window(first, last, bucket, tz, language, now)
