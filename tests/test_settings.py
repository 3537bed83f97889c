"""Settings: defaults that work, bad values fail fast with the variable's name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_defaults_use_sqlite_under_var() -> None:
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.effective_tracker_url == settings.database_url


def test_tracker_url_can_differ(monkeypatch) -> None:
    monkeypatch.setenv("BOT_TRACKER_DATABASE_URL", "postgresql://u:p@db/rasa")
    assert Settings().effective_tracker_url == "postgresql://u:p@db/rasa"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("BOT_DATABASE_URL", "not a url"),
        ("BOT_DEFAULT_LANGUAGE", "de"),
        ("BOT_ANSWER_THRESHOLD", "abc"),
        ("BOT_ANSWER_THRESHOLD", "1.5"),
        ("BOT_REDIS_URL", "localhost:6379"),
        ("BOT_REDIS_PREFIX", "has spaces"),
        ("BOT_LIVE_POLL_SECONDS", "0"),
        ("BOT_WIDGET_ORIGINS", "shop.example"),
        ("BOT_WIDGET_SOCKET_URL", "localhost:5005"),
        ("BOT_RASA_PROJECT_DIR", "/nonexistent/project"),
    ],
)
def test_bad_values_fail_with_the_name(monkeypatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert variable.removeprefix("BOT_").lower() in str(error.value)


def test_secret_token_is_hidden(monkeypatch) -> None:
    monkeypatch.setenv("BOT_RASA_TOKEN", "s3cret-value")
    monkeypatch.setenv("BOT_REDIS_URL", "redis://:r3dis-pass@cache:6379/0")
    settings = Settings()
    assert "s3cret-value" not in repr(settings) and "r3dis-pass" not in repr(settings)
    assert settings.rasa_token.get_secret_value() == "s3cret-value"


def test_widget_origins_are_a_comma_separated_list(monkeypatch) -> None:
    assert Settings().widget_origin_list == ["*"]
    monkeypatch.setenv("BOT_WIDGET_ORIGINS", "https://shop.example, https://www.shop.example/")
    assert Settings().widget_origin_list == ["https://shop.example", "https://www.shop.example"]
