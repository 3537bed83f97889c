"""Handoff requests: one open request per conversation, even under concurrent calls."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot.db import session_scope
from bot.handoff.models import HandoffRequest
from bot.handoff.requests import request_handoff


def ask(session, conversation_id="c1", reason="asked_for_person"):
    return request_handoff(
        session,
        conversation_id=conversation_id,
        reason=reason,
        language="en",
        channel="rest",
        last_question="where is my refund",
        context={"version": 1},
    )


def test_first_request_is_created_with_a_reference(session) -> None:
    request, created = ask(session)
    session.flush()
    assert created and request.status == "requested"
    assert request.reference.startswith("H-") and len(request.reference) == 8


def test_repeat_returns_the_open_request(session) -> None:
    first, _ = ask(session)
    again, created = ask(session, reason="negative_feedback")
    assert not created and again.pk == first.pk
    assert session.execute(select(func.count(HandoffRequest.pk))).scalar_one() == 1


def test_other_conversations_are_separate(session) -> None:
    a, _ = ask(session, "c1")
    b, created = ask(session, "c2")
    assert created and a.pk != b.pk


def test_concurrent_requests_create_one(engine) -> None:
    barrier = threading.Barrier(4)
    results = []

    def worker() -> None:
        barrier.wait()
        with session_scope(engine) as session:
            request, created = ask(session, "race")
            results.append((request.pk, created))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope(engine) as session:
        count = session.execute(
            select(func.count(HandoffRequest.pk)).where(HandoffRequest.conversation_id == "race")
        ).scalar_one()
    assert count == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
