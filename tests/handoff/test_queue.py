"""The handoff queue: one open handoff per conversation, race-safe claims, position and wait."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.handoff import queue
from bot.handoff.models import Handoff, HandoffEvent
from bot.handoff.ownership import InvalidTransition
from bot.handoff.queue import request_handoff
from bot.timeutil import utcnow
from bot.users import create_user


def ask(
    session,
    conversation_id="c1",
    reason="asked_for_person",
    *,
    team="support",
    priority=0,
    on_duty=True,
):
    return request_handoff(
        session,
        conversation_id=conversation_id,
        reason=reason,
        language="en",
        channel="rest",
        last_question="where is my refund",
        context={"version": 1},
        team=team,
        priority=priority,
        queue=on_duty,
    )


def agent(session, name="ona", *, capacity=2, teams=("support",), online=True):
    user = create_user(
        session,
        username=name,
        password="a long enough password",
        display_name=name.title(),
        teams=teams,
        languages=["en", "lt"],
        capacity=capacity,
    )
    if online:
        user.presence = "online"
        user.last_seen_at = utcnow()
    session.flush()
    return user


def test_first_request_is_created_with_a_reference(session) -> None:
    request, created = ask(session)
    session.flush()
    assert created and request.status == "queued" and request.queued_at is not None
    assert request.reference.startswith("H-") and len(request.reference) == 8


def test_repeat_returns_the_open_request(session) -> None:
    first, _ = ask(session)
    again, created = ask(session, reason="negative_feedback")
    assert not created and again.pk == first.pk
    assert session.execute(select(func.count(Handoff.pk))).scalar_one() == 1


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
            select(func.count(Handoff.pk)).where(Handoff.conversation_id == "race")
        ).scalar_one()
    assert count == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_nobody_on_duty_makes_one_ticket_per_conversation(session) -> None:
    ticket, created = ask(session, on_duty=False)
    again, created_again = ask(session, on_duty=False)
    assert created and not created_again and again.pk == ticket.pk
    assert ticket.status == "ticket" and ticket.closed_at is not None


def test_a_ticket_does_not_block_a_later_queued_handoff(session) -> None:
    ticket, _ = ask(session, on_duty=False)
    queued, created = ask(session)
    assert created and queued.pk != ticket.pk and queued.status == "queued"


def test_position_follows_priority_then_arrival(session) -> None:
    first, _ = ask(session, "a")
    second, _ = ask(session, "b")
    urgent, _ = ask(session, "c", priority=2)
    other_team, _ = ask(session, "d", team="escalations")
    assert queue.queue_position(session, urgent) == 1
    assert queue.queue_position(session, first) == 2
    assert queue.queue_position(session, second) == 3
    assert queue.queue_position(session, other_team) == 1


def test_wait_is_unknown_with_nobody_on_duty_and_zero_with_a_free_seat(session) -> None:
    handoff, _ = ask(session)
    assert queue.estimated_wait_seconds(session, handoff, default_handle_seconds=360) is None
    agent(session, capacity=1)
    assert queue.estimated_wait_seconds(session, handoff, default_handle_seconds=360) == 0


def test_wait_grows_with_the_line_beyond_the_free_seats(session) -> None:
    agent(session, capacity=1)
    handoffs = [ask(session, f"c{i}")[0] for i in range(3)]
    waits = [queue.estimated_wait_seconds(session, h, default_handle_seconds=300) for h in handoffs]
    assert waits == [0, 300, 600]


def test_offline_away_and_silent_agents_are_not_on_duty(session) -> None:
    agent(session, "offline", online=False)
    away = agent(session, "away")
    away.presence = "away"
    silent = agent(session, "silent")
    silent.last_seen_at = utcnow() - dt.timedelta(minutes=10)
    agent(session, "elsewhere", teams=("poland",))
    session.flush()
    assert queue.agents_on_duty(session, team="support") == []


def test_claim_assigns_and_records_the_event(session) -> None:
    handoff, _ = ask(session)
    ona = agent(session)
    queue.claim(session, handoff, ona)
    assert handoff.status == "assigned" and handoff.agent_id == ona.pk
    assert handoff.assigned_at is not None
    actions = [e.action for e in session.execute(select(HandoffEvent)).scalars()]
    assert actions == ["request", "claim"]


def test_a_second_claim_is_refused(session) -> None:
    handoff, _ = ask(session)
    queue.claim(session, handoff, agent(session, "ona"))
    with pytest.raises(InvalidTransition):
        queue.claim(session, handoff, agent(session, "jonas"))


def test_capacity_limits_claims(session) -> None:
    ona = agent(session, capacity=1)
    first, _ = ask(session, "a")
    second, _ = ask(session, "b")
    queue.claim(session, first, ona)
    with pytest.raises(queue.CapacityReached, match="capacity"):
        queue.claim(session, second, ona)


def test_concurrent_claims_have_one_winner(engine) -> None:
    with session_scope(engine) as session:
        handoff, _ = ask(session, "contested")
        pk = handoff.pk
        agents = [agent(session, f"agent{i}").pk for i in range(4)]
    barrier = threading.Barrier(len(agents))
    outcomes = []

    def worker(agent_pk: int) -> None:
        with session_scope(engine) as session:
            from bot.users import User

            me = session.get(User, agent_pk)
            mine = session.get(Handoff, pk)
            barrier.wait()
            try:
                queue.claim(session, mine, me)
                outcomes.append("won")
            except InvalidTransition:
                outcomes.append("told")

    threads = [threading.Thread(target=worker, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["told", "told", "told", "won"]
    with session_scope(engine) as session:
        claims = session.execute(
            select(func.count(HandoffEvent.pk)).where(HandoffEvent.action == "claim")
        ).scalar_one()
    assert claims == 1


def test_hand_back_and_resolve_close_the_handoff(session) -> None:
    ona = agent(session)
    handoff, _ = ask(session, "a")
    queue.claim(session, handoff, ona)
    queue.apply(session, handoff, "hand_back", actor=ona, note="answered the refund question")
    assert handoff.status == "returned" and handoff.closed_at is not None
    assert queue.open_handoff(session, "a") is None
    with pytest.raises(InvalidTransition):
        queue.apply(session, handoff, "resolve", actor=ona)


def test_a_stale_view_cannot_act(session, engine) -> None:
    ona = agent(session)
    handoff, _ = ask(session, "a")
    session.commit()
    with session_scope(engine) as other:
        queue.apply(other, other.get(Handoff, handoff.pk), "leave", actor_name="customer")
    with pytest.raises(InvalidTransition):
        queue.claim(session, handoff, ona)  # this session still saw it queued


def test_first_agent_reply_is_recorded_once(session) -> None:
    ona = agent(session)
    handoff, _ = ask(session)
    queue.claim(session, handoff, ona)
    queue.note_agent_reply(session, handoff)
    first = handoff.first_agent_reply_at
    queue.note_agent_reply(session, handoff)
    assert first is not None and handoff.first_agent_reply_at == first


def test_disconnected_agents_chats_return_to_the_queue(session) -> None:
    ona = agent(session)
    handoff, _ = ask(session)
    queue.claim(session, handoff, ona)
    assert queue.requeue_abandoned_by_agents(session, timeout=dt.timedelta(minutes=2)) == []
    ona.last_seen_at = utcnow() - dt.timedelta(minutes=5)
    session.flush()
    moved = queue.requeue_abandoned_by_agents(session, timeout=dt.timedelta(minutes=2))
    assert [h.pk for h in moved] == [handoff.pk]
    assert handoff.status == "queued" and handoff.agent_id is None
    assert handoff.events[-1].note == "the agent was disconnected"
