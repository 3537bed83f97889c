"""Fixtures for end-to-end tests against the real stack (bot/stack.py)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.serve import model_for_tests
from bot.stack import Stack


@pytest.fixture(scope="session")
def model() -> Path:
    """The trained model under test."""
    found = model_for_tests()
    if found is None or not found.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    return found


@pytest.fixture(scope="session")
def stack(tmp_path_factory, model: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("stack"), model)
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
