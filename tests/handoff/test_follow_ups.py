"""Follow-ups waiting for the customer's return: which conversations have one (on the real
database), and the Rasa server's watch on them, whose one look serves every message for a while."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable, List, Set

import pytest
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.handoff.follow_ups import FollowUpWatch, take_due, waiting_conversations
from bot.handoff.models import FollowUp
from tests.handoff.test_queue import ask


def promise(engine: Engine, conversation_id: str, text: str = "Your parcel left today.") -> None:
    """An agent's follow-up for the conversation, waiting for the chat (no e-mail address)."""
    with session_scope(engine) as session:
        handoff, _ = ask(session, conversation_id)
        session.add(
            FollowUp(
                handoff_pk=handoff.pk, conversation_id=conversation_id, author="Ona", text=text
            )
        )


def deliver(engine: Engine, conversation_id: str) -> list:
    with session_scope(engine) as session:
        return take_due(session, conversation_id)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Looks:
    """``waiting_conversations`` on the test database, counted."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def __call__(self) -> Set[str]:
        self.count += 1
        with self.engine.connect() as connection:
            return waiting_conversations(connection)


def test_the_conversations_waiting_are_those_with_an_undelivered_follow_up(engine) -> None:
    with engine.connect() as connection:
        assert waiting_conversations(connection) == set()
    promise(engine, "a")
    promise(engine, "a", "And a second note.")
    promise(engine, "b")
    with engine.connect() as connection:
        assert waiting_conversations(connection) == {"a", "b"}
    assert len(deliver(engine, "a")) == 2
    with engine.connect() as connection:
        assert waiting_conversations(connection) == {"b"}


def test_one_look_serves_every_message_until_it_is_too_old(engine) -> None:
    looks, clock = Looks(engine), Clock()
    watch = FollowUpWatch(looks, max_age=1.0, clock=clock)

    async def scenario() -> None:
        assert not await watch.waiting("a")
        promise(engine, "a")
        clock.now += 0.5
        assert not await watch.waiting("a")  # the look is 0.5 s old: written after it
        assert looks.count == 1
        clock.now += 0.5
        assert await watch.waiting("a")  # 1 s old: looked again
        assert not await watch.waiting("b")
        assert looks.count == 2

    asyncio.run(scenario())


def test_messages_arriving_together_share_one_look(engine) -> None:
    promise(engine, "a")
    looks = Looks(engine)
    watch = FollowUpWatch(looks, max_age=1.0)

    async def scenario() -> List[bool]:
        return await asyncio.gather(*(watch.waiting(c) for c in ["a", "b", "a", "c", "d"]))

    assert asyncio.run(scenario()) == [True, False, True, False, False]
    assert looks.count == 1


def test_with_no_age_allowed_every_message_looks(engine) -> None:
    looks = Looks(engine)
    watch = FollowUpWatch(looks, max_age=0.0)

    async def scenario() -> None:
        assert not await watch.waiting("a")
        promise(engine, "a")
        assert await watch.waiting("a")  # at once
        deliver(engine, "a")
        assert not await watch.waiting("a")
        assert looks.count == 3

    asyncio.run(scenario())


def test_a_delivered_conversation_is_no_longer_waiting(engine) -> None:
    promise(engine, "a")
    watch = FollowUpWatch(Looks(engine), max_age=60.0)

    async def scenario() -> None:
        assert await watch.waiting("a")
        deliver(engine, "a")
        watch.delivered("a")
        assert not await watch.waiting("a")  # without looking again

    asyncio.run(scenario())


def test_a_failed_look_counts_as_none_and_the_next_message_looks_again(
    engine, caplog: pytest.LogCaptureFixture
) -> None:
    promise(engine, "a")
    working = Looks(engine)
    calls: List[str] = []

    def flaky() -> Set[str]:
        calls.append("look")
        if len(calls) == 1:
            raise OSError("database is locked")
        return working()

    watch = FollowUpWatch(flaky, max_age=60.0)

    async def scenario() -> None:
        with caplog.at_level(logging.ERROR, logger="bot.handoff.follow_ups"):
            assert not await watch.waiting("a")
        assert "follow-ups not readable" in caplog.text
        assert await watch.waiting("a")

    asyncio.run(scenario())
    assert calls == ["look", "look"]


def test_an_older_look_never_replaces_a_newer_answer(engine) -> None:
    """Two looks under way with max_age 0: the one that began later wins, whichever ends last."""
    clock = Clock()
    release = {}

    def make_read(name: str, answer: Set[str]) -> Callable[[], Set[str]]:
        def read() -> Set[str]:
            release[name].wait(5)
            return answer

        return read

    release["old"], release["new"] = threading.Event(), threading.Event()
    answers = iter([make_read("old", {"a"}), make_read("new", set())])
    watch = FollowUpWatch(lambda: next(answers)(), max_age=0.0, clock=clock)

    async def scenario() -> None:
        older = asyncio.ensure_future(watch.waiting("a"))
        await asyncio.sleep(0.05)
        clock.now += 1
        newer = asyncio.ensure_future(watch.waiting("a"))
        await asyncio.sleep(0.05)
        release["new"].set()
        assert not await newer
        release["old"].set()
        await older
        assert watch._ids == set()  # the newer look's answer stands

    asyncio.run(scenario())
