"""Fixtures for end-to-end tests against the real stack (bot/stack.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.serve import latest_model
from bot.settings import PROJECT_ROOT
from bot.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    model_name = os.environ.get("BOT_TEST_MODEL")
    model = Path(model_name) if model_name else latest_model(PROJECT_ROOT / "models")
    if model is None or not model.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    stack = Stack(tmp_path_factory.mktemp("stack"), model.resolve())
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
