"""Shared fixtures: every test gets its own migrated SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import db
from bot.settings import PROJECT_ROOT


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    db.upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with db.session_scope(engine) as session:
        yield session


@pytest.fixture
def kb_dir() -> Path:
    return PROJECT_ROOT / "data" / "kb"
