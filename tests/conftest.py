"""Shared fixtures: every test gets its own migrated SQLite database; `conversations` writes to
it as the Rasa server does."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Tuple

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
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


class Conversations:
    """Writes what is said into the test database through Rasa's own SQL tracker store (our
    subclass, as the Rasa server runs it), so the web app reads rows exactly as Rasa writes them."""

    def __init__(self, database_url: str) -> None:
        from rasa_ext.tracker_store import UrlSQLTrackerStore

        self.store = UrlSQLTrackerStore(url=database_url)

    async def say(self, conversation_id: str, *events: Any) -> None:
        """Append Rasa events (UserUttered, BotUttered, ...) to the conversation."""
        from rasa.shared.core.trackers import DialogueStateTracker

        tracker = await self.store.retrieve(conversation_id)
        if tracker is None:
            tracker = DialogueStateTracker(conversation_id, [])
        for event in events:
            tracker.update(event)
        await self.store.save(tracker)

    async def customer(self, conversation_id: str, text: str) -> None:
        from rasa.shared.core.events import UserUttered

        await self.say(conversation_id, UserUttered(text, {"name": "inform", "confidence": 0.9}))

    async def bot(self, conversation_id: str, text: str, **metadata: Any) -> None:
        from rasa.shared.core.events import BotUttered

        await self.say(conversation_id, BotUttered(text, metadata=metadata))

    def close(self) -> None:
        self.store.engine.dispose()


@pytest.fixture
def conversations(database_url: str) -> Iterator[Conversations]:
    said = Conversations(database_url)
    yield said
    said.close()


def copy_rasa_project(project: Path) -> Path:
    """A copy of the repository's Rasa project in ``project`` (domain, config, stories, rules,
    hand-written NLU and test stories) that the story editor may write to, so that tests never
    change the repository."""
    import shutil

    project.mkdir(parents=True, exist_ok=True)
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(PROJECT_ROOT / name, project / name)
    for folder in ("data/stories", "data/rules", "data/nlu", "tests/conversations"):
        shutil.copytree(
            PROJECT_ROOT / folder,
            project / folder,
            ignore=shutil.ignore_patterns("kb_questions.yml", "editor.yml"),
        )
    return project


@pytest.fixture
def rasa_project(tmp_path: Path) -> Path:
    """The story editor's project: a copy of the repository's (``copy_rasa_project``)."""
    return copy_rasa_project(tmp_path / "project")


def wait_until(condition: Callable[[], Any], seconds: float = 20.0) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (asked every 50 ms): a wait for a
    state another process reaches, with a deadline instead of a sleep."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextlib.contextmanager
def process_group() -> Iterator[Tuple[subprocess.Popen, int]]:
    """A process leading its own process group, as a retraining job's runner does, and the pid
    of its child, as its ``rasa train``: both sleep for a minute. Killed after."""
    parent = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    leader = subprocess.Popen(
        [sys.executable, "-c", parent], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    try:
        assert leader.stdout is not None
        yield leader, int(leader.stdout.readline())
    finally:
        leader.kill()
        leader.wait()
        if leader.stdout is not None:
            leader.stdout.close()


POSTGRES_URL = os.environ.get("BOT_TEST_POSTGRES_URL")


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server (BOT_TEST_POSTGRES_URL; skips the
    test without it), dropped afterwards; yields its URL."""
    if not POSTGRES_URL:
        pytest.skip("BOT_TEST_POSTGRES_URL is not set (run .ci/services)")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()
