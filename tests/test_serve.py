"""The environment our services run with (bot.serve)."""

import pytest

from bot.serve import rasa_env, service_env


def test_services_get_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    env = service_env(5055)
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["BOT_ACTION_PORT"] == "5055"
    assert env["RASA_TELEMETRY_ENABLED"] == "false"


def test_an_operators_blas_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert rasa_env()["OPENBLAS_NUM_THREADS"] == "4"
