"""Fixtures for end-to-end tests against the real stack (bot/stack.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.serve import model_for_tests
from bot.settings import PROJECT_ROOT
from bot.stack import Stack


@pytest.fixture(scope="session")
def model() -> Path:
    """The trained model under test."""
    found = model_for_tests()
    if found is None or not found.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    return found


def always_open_config(folder: Path) -> Path:
    """The shipped handoff.yml with every team on duty around the clock (tests do not depend on
    the time of day; whether someone can take a chat then depends only on agents online)."""
    text = (PROJECT_ROOT / "handoff.yml").read_text()
    path = folder / "handoff-always-open.yml"
    path.write_text(re.sub(r'"\d\d:\d\d-\d\d:\d\d"|closed', '"00:00-23:59"', text))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory, model: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    stack = Stack(folder, model, env={"BOT_HANDOFF_CONFIG": str(always_open_config(folder))})
    stack.setup_database()
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def sender() -> str:
    return "e2e-" + uuid.uuid4().hex[:12]


def custom(messages: List[Dict[str, Any]], key: str) -> Optional[Dict[str, Any]]:
    """The first custom payload named ``key`` in the bot's replies."""
    for message in messages:
        payload = message.get("custom")
        if isinstance(payload, dict) and key in payload:
            return payload[key]
    return None


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def buttons(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for m in messages for b in m.get("buttons", [])]
