"""Handoff configuration: triggers, agent teams and their hours, routing and the queue.

One YAML file (``handoff.yml`` at the project root, or the file named by the environment variable
``BOT_HANDOFF_CONFIG``) says when the bot hands a conversation to a person, which team gets it,
when each team is at work and how the queue behaves. It is read once and validated; a mistake fails
at start-up with a ``ConfigurationError`` that names the key, for example
``handoff.yml: teams[escalations].timezone: unknown time zone 'Europe/Vilnus' ...``.

Opening hours are weekly, in the team's own time zone (so daylight saving time is followed);
public holidays are not modelled.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    ValidationError,
    validator,
)

from bot.errors import ConfigurationError
from bot.handoff.models import REASONS
from bot.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

DEFAULT_PATH = PROJECT_ROOT / "handoff.yml"
# Environment variable that points to another configuration file.
ENV_VAR = "BOT_HANDOFF_CONFIG"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED = "closed"
# next_opening looks this many days ahead (a weekly schedule repeats within 7).
_SEARCH_DAYS = 8
# "24:00" as a span's end: open to midnight, the day's last minute included.
END_OF_DAY = dt.time.max
_SPAN = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Span:
    """Opening hours within one day, local time: ``start`` inclusive to ``end`` exclusive
    (``END_OF_DAY``, written "24:00", is the midnight that ends the day)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> Span:
        """Read ``"HH:MM-HH:MM"``.

        Args:
            text: The span, e.g. ``"08:00-20:00"``.

        Returns:
            The span.

        Raises:
            ValueError: Not in that form, not a time of day, or the start is not before the end
                (a span may not cross midnight).
        """
        match = _SPAN.fullmatch(text.strip())
        if not match:
            raise ValueError(f'{text!r} is neither "HH:MM-HH:MM" nor "{CLOSED}"')
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        try:
            start = dt.time(start_h, start_m)
            end = END_OF_DAY if (end_h, end_m) == (24, 0) else dt.time(end_h, end_m)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a time of day (00:00 to 23:59, or 24:00 as an end)"
            ) from None
        if start >= end:
            raise ValueError(
                f"{text!r}: the start must be before the end (a span may not cross midnight)"
            )
        return cls(start, end)

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], Span]]:
        yield cls._validate

    @classmethod
    def _validate(cls, value: Any) -> Span:
        if isinstance(value, Span):
            return value
        if not isinstance(value, str):
            raise ValueError(f'{value!r} is neither "HH:MM-HH:MM" nor "{CLOSED}"')
        return cls.parse(value)

    def __contains__(self, moment: dt.time) -> bool:
        return self.start <= moment and (moment < self.end or self.end == END_OF_DAY)

    def __str__(self) -> str:
        end = "24:00" if self.end == END_OF_DAY else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


class _Strict(BaseModel):
    class Config:
        extra = "forbid"  # a misspelt key is an error, not silently ignored
        allow_mutation = False


class WeeklyHours(_Strict):
    """A team's hours for each day of the week: a ``Span`` or None (``closed``)."""

    mon: Optional[Span] = Field(...)
    tue: Optional[Span] = Field(...)
    wed: Optional[Span] = Field(...)
    thu: Optional[Span] = Field(...)
    fri: Optional[Span] = Field(...)
    sat: Optional[Span] = Field(...)
    sun: Optional[Span] = Field(...)

    @validator("*", pre=True)
    def _closed(cls, value: Any) -> Any:  # noqa: N805
        if value is None:
            raise ValueError(f'give "HH:MM-HH:MM" or "{CLOSED}"')
        return None if value == CLOSED else value

    def on(self, weekday: int) -> Optional[Span]:
        """The hours on ``weekday`` (0 is Monday, as ``datetime.weekday()``), None if closed."""
        span: Optional[Span] = getattr(self, WEEKDAYS[weekday])
        return span


class Team(_Strict):
    """A team of agents: who they serve and when they are at work."""

    name: str
    languages: List[str]
    skills: List[str] = []
    timezone: str
    hours: WeeklyHours

    @validator("name")
    def _valid_name(cls, value: str) -> str:  # noqa: N805
        if not _TEAM_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r}: use lower-case letters, digits, '-' and '_' (at most 64 characters)"
            )
        return value

    @validator("languages")
    def _supported_languages(cls, value: List[str]) -> List[str]:  # noqa: N805
        if not value:
            raise ValueError("list at least one language")
        unknown = [language for language in value if language not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(
                f"unsupported language {', '.join(unknown)} "
                f"(supported: {', '.join(SUPPORTED_LANGUAGES)})"
            )
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @validator("skills", each_item=True)
    def _skill_named(cls, value: str) -> str:  # noqa: N805
        if not value.strip():
            raise ValueError("a skill may not be empty")
        return value

    @validator("timezone")
    def _known_timezone(cls, value: str) -> str:  # noqa: N805
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(
                f"unknown time zone {value!r} (give an IANA name such as Europe/Vilnius)"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The team's time zone."""
        return ZoneInfo(self.timezone)

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the team is at work at a moment.

        Args:
            at: The moment, timezone-aware (normally UTC); compared in the team's local time.

        Returns:
            True within the day's span (start inclusive, end exclusive).

        Raises:
            ValueError: ``at`` is naive.
        """
        local = _aware(at).astimezone(self.tz)
        span = self.hours.on(local.weekday())
        return span is not None and local.time() in span

    def next_opening(self, at: dt.datetime) -> Optional[dt.datetime]:
        """When the team is next at work.

        Args:
            at: The moment to search from, timezone-aware (normally UTC).

        Returns:
            ``at`` itself (in UTC) if the team is open then; otherwise the next opening within the
            next 8 days, in UTC; None if the team is closed every day.

        Raises:
            ValueError: ``at`` is naive.
        """
        if self.is_open(at):
            return at.astimezone(dt.timezone.utc)
        today = at.astimezone(self.tz).date()
        for offset in range(_SEARCH_DAYS):
            day = today + dt.timedelta(days=offset)
            span = self.hours.on(day.weekday())
            if span is None:
                continue
            opening = dt.datetime.combine(day, span.start, tzinfo=self.tz)
            if opening > at:
                return opening.astimezone(dt.timezone.utc)
        return None


class Trigger(_Strict):
    """A handoff trigger that is on or off."""

    enabled: StrictBool


class NotUnderstoodTrigger(Trigger):
    """Hand off after the bot has not understood several messages in a row."""

    misses_in_a_row: PositiveInt


class NegativeFeedbackTrigger(Trigger):
    """Hand off after the customer has rated several answers unhelpful."""

    unhelpful_ratings: PositiveInt


class SensitiveTopicTrigger(Trigger):
    """Hand off at once when the conversation touches one of ``topics``."""

    topics: List[str]

    @validator("topics")
    def _topics_listed(cls, value: List[str], values: Dict[str, Any]) -> List[str]:  # noqa: N805
        if values.get("enabled") and not value:
            raise ValueError("list at least one topic when the trigger is enabled")
        if any(not topic.strip() for topic in value):
            raise ValueError("a topic may not be empty")
        if len(set(value)) != len(value):
            raise ValueError("a topic is listed twice")
        return value


class Triggers(_Strict):
    """Every handoff trigger; each must be configured."""

    asked_for_person: Trigger
    not_understood: NotUnderstoodTrigger
    negative_feedback: NegativeFeedbackTrigger
    frustration: Trigger
    sensitive_topic: SensitiveTopicTrigger


def _known_reasons(value: Dict[str, Any], *, extra: tuple = ()) -> Dict[str, Any]:
    unknown = [key for key in value if key not in REASONS + extra]
    if unknown:
        raise ValueError(
            f"unknown reason {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(REASONS + extra)})"
        )
    return value


class Routing(_Strict):
    """Which team gets a handoff: ``by_reason`` first, then by language, then ``default_team``."""

    by_reason: Dict[str, str] = {}
    default_team: str

    @validator("by_reason")
    def _reasons(cls, value: Dict[str, str]) -> Dict[str, str]:  # noqa: N805
        return _known_reasons(value)


class QueueSettings(_Strict):
    """How the queue behaves."""

    max_wait_minutes: PositiveInt
    agent_timeout_seconds: PositiveInt
    average_handle_minutes: PositiveFloat
    priority: Dict[str, NonNegativeInt] = {}

    @validator("priority")
    def _reasons(cls, value: Dict[str, int]) -> Dict[str, int]:  # noqa: N805
        return _known_reasons(value, extra=("default",))

    def priority_for(self, reason: str) -> int:
        """The queue priority of a handoff with ``reason`` (higher goes first)."""
        return self.priority.get(reason, self.priority.get("default", 0))


class HandoffConfig(_Strict):
    """The whole handoff configuration."""

    triggers: Triggers
    teams: List[Team]
    routing: Routing
    queue: QueueSettings

    @validator("teams")
    def _unique_teams(cls, value: List[Team]) -> List[Team]:  # noqa: N805
        if not value:
            raise ValueError("list at least one team")
        seen: set = set()
        for team in value:
            if team.name in seen:
                raise ValueError(f"duplicate team name {team.name!r}")
            seen.add(team.name)
        return value

    @validator("routing")
    def _routing_to_known_teams(cls, value: Routing, values: Dict[str, Any]) -> Routing:  # noqa: N805
        teams: Optional[List[Team]] = values.get("teams")
        if teams is None:  # the teams are invalid themselves; that error is reported
            return value
        names = [team.name for team in teams]
        targets = [(f"by_reason.{reason}", name) for reason, name in value.by_reason.items()]
        targets.append(("default_team", value.default_team))
        for key, name in targets:
            if name not in names:
                raise ValueError(f"{key}: unknown team {name!r} (teams: {', '.join(names)})")
        return value

    def team(self, name: str) -> Team:
        """The team called ``name``.

        Raises:
            KeyError: No such team.
        """
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(f"no handoff team {name!r}")

    def route(self, *, reason: str, language: str) -> Team:
        """The team that gets a handoff.

        Args:
            reason: Why the conversation goes to a person (one of bot.handoff.models.REASONS).
            language: The conversation's language.

        Returns:
            The team of ``routing.by_reason`` for the reason if there is one; else the first team
            that speaks the language; else ``routing.default_team``.
        """
        by_reason = self.routing.by_reason.get(reason)
        if by_reason is not None:
            return self.team(by_reason)
        for team in self.teams:
            if language in team.languages:
                return team
        return self.team(self.routing.default_team)

    def trigger_enabled(self, name: str) -> bool:
        """Whether the trigger called ``name`` (a key of ``triggers``) is on.

        Raises:
            KeyError: No such trigger.
        """
        if name not in Triggers.__fields__:
            raise KeyError(f"no handoff trigger {name!r} (known: {', '.join(Triggers.__fields__)})")
        trigger: Trigger = getattr(self.triggers, name)
        return trigger.enabled


def load_config(path: Path = DEFAULT_PATH) -> HandoffConfig:
    """Read and validate a handoff configuration file.

    Args:
        path: The YAML file.

    Returns:
        The configuration.

    Raises:
        ConfigurationError: The file cannot be read, is not YAML, or a value is wrong; the message
            names the file and the key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"{path}: cannot read the handoff configuration: {error.strerror or error}"
        ) from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: expected a mapping with the keys triggers, teams, routing and queue"
        )
    try:
        return HandoffConfig.parse_obj(data)
    except ValidationError as error:
        problems = [f"{_where(e['loc'], data)}: {e['msg']}" for e in error.errors()]
        raise ConfigurationError(f"{path}: " + "; ".join(problems)) from error


@functools.lru_cache(maxsize=1)
def get_config() -> HandoffConfig:
    """The process's handoff configuration, read once.

    The file is ``$BOT_HANDOFF_CONFIG`` if that is set, else ``handoff.yml`` at the project root.

    Raises:
        ConfigurationError: The file is missing or invalid.
    """
    configured = os.environ.get(ENV_VAR)
    return load_config(Path(configured) if configured else DEFAULT_PATH)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is needed; use bot.timeutil.utcnow()")
    return at


def _where(loc: tuple, data: Dict[str, Any]) -> str:
    """A pydantic error location as a key path; a team is named by its name when it has one."""
    parts: List[str] = []
    for index, part in enumerate(loc):
        if part == "__root__":
            continue
        if isinstance(part, int):
            label: Any = part
            if index == 1 and loc[0] == "teams":
                teams = data.get("teams")
                team = teams[part] if isinstance(teams, list) and part < len(teams) else None
                if isinstance(team, dict) and isinstance(team.get("name"), str):
                    label = team["name"]
            parts[-1] += f"[{label}]"
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"
