"""The handoff queue in the database: requesting, position and wait, claiming and every transition.

Every change of a handoff goes through ``apply``: one conditional UPDATE (``WHERE status = <the
status the caller saw>``), so that two agents clicking "claim" at once, or an agent resolving while
the customer leaves, cannot both win: the loser gets ``InvalidTransition``. Each change is also
recorded as a ``HandoffEvent``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.handoff import webhooks
from bot.handoff.config import QueueSettings
from bot.handoff.models import Handoff, HandoffEvent
from bot.handoff.ownership import OPEN, InvalidTransition, Status, next_status
from bot.timeutil import utcnow
from bot.users import User

OPEN_VALUES = tuple(s.value for s in OPEN)
# A conversation that asks for a person again within this time gets its earlier ticket back.
TICKET_REUSE = dt.timedelta(hours=24)


def open_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The conversation's open (queued or assigned) handoff, or None."""
    return session.execute(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_VALUES)
        )
    ).scalar_one_or_none()


def latest_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    return session.execute(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.pk.desc())
        .limit(1)
    ).scalar_one_or_none()


def request_handoff(
    session: Session,
    *,
    conversation_id: str,
    reason: str,
    language: str,
    channel: Optional[str],
    last_question: Optional[str],
    context: Dict[str, Any],
    team: Optional[str] = None,
    priority: int = 0,
    queue: bool = True,
    customer_key: Optional[str] = None,
) -> Tuple[Handoff, bool]:
    """Open a handoff; returns (handoff, created). A repeat returns the open one, refreshed.

    ``queue=False`` records a handoff that nobody can take now (no one on duty): it is stored as
    a ticket, which agents answer later. Two concurrent calls for one conversation create one
    handoff: the database's unique index on open handoffs refuses the second, which then reads the
    first.
    """
    existing = open_handoff(session, conversation_id)
    if existing is None and not queue:
        # Asking again while nobody is on duty: the same ticket, not one per message.
        latest = latest_handoff(session, conversation_id)
        if (
            latest is not None
            and latest.status == Status.TICKET.value
            and latest.created_at > utcnow() - TICKET_REUSE
        ):
            existing = latest
    if existing is not None:
        existing.context = context
        return existing, False
    now = utcnow()
    status = Status.QUEUED if queue else Status.TICKET
    handoff = Handoff(
        conversation_id=conversation_id,
        status=status.value,
        reason=reason,
        language=language,
        team=team,
        priority=priority,
        channel=channel,
        last_question=last_question,
        context=context,
        customer_key=customer_key,
        created_at=now,
        queued_at=now if queue else None,
        closed_at=None if queue else now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
            webhooks.enqueue(session, "request" if queue else "leave_message", handoff)
            session.add(
                HandoffEvent(
                    handoff_pk=handoff.pk,
                    action="request",
                    from_status=None,
                    to_status=status.value,
                    actor="customer",
                    data={"reason": reason, "team": team},
                    created_at=now,
                )
            )
    except IntegrityError:
        existing = open_handoff(session, conversation_id)
        if existing is None:
            raise
        return existing, False
    return handoff, True


def _queued_ahead_filter(handoff: Handoff) -> Any:
    """Queued handoffs of the same team that an agent would take before this one."""
    return and_(
        Handoff.status == Status.QUEUED.value,
        Handoff.team.is_(None) if handoff.team is None else Handoff.team == handoff.team,
        or_(
            Handoff.priority > handoff.priority,
            and_(Handoff.priority == handoff.priority, Handoff.queued_at < handoff.queued_at),
            and_(
                Handoff.priority == handoff.priority,
                Handoff.queued_at == handoff.queued_at,
                Handoff.pk < handoff.pk,
            ),
        ),
    )


def queue_position(session: Session, handoff: Handoff) -> int:
    """1 for the next to be taken; 0 when the handoff is not queued."""
    if handoff.status != Status.QUEUED.value:
        return 0
    ahead = session.execute(
        select(func.count(Handoff.pk)).where(_queued_ahead_filter(handoff))
    ).scalar_one()
    return int(ahead) + 1


def agents_on_duty(
    session: Session,
    *,
    team: Optional[str],
    language: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    seen_within: dt.timedelta = dt.timedelta(minutes=2),
) -> List[User]:
    """Active agents online and seen recently, in the team and speaking the language."""
    now = now or utcnow()
    users = (
        session.execute(
            select(User).where(
                User.active.is_(True),
                User.presence == "online",
                User.last_seen_at >= now - seen_within,
            )
        )
        .scalars()
        .all()
    )
    return [
        u
        for u in users
        if u.has_role("agent")
        and (team is None or not u.teams or team in u.teams)
        and (language is None or not u.languages or language in u.languages)
    ]


def load_of(session: Session, agent_pks: Sequence[int]) -> Dict[int, int]:
    """How many conversations each agent has now."""
    if not agent_pks:
        return {}
    rows = session.execute(
        select(Handoff.agent_id, func.count(Handoff.pk))
        .where(Handoff.status == Status.ASSIGNED.value, Handoff.agent_id.in_(agent_pks))
        .group_by(Handoff.agent_id)
    ).all()
    counts = {pk: 0 for pk in agent_pks}
    counts.update({int(pk): int(n) for pk, n in rows})
    return counts


def average_handle_seconds(
    session: Session, *, team: Optional[str], default_seconds: float, sample: int = 50
) -> float:
    """Mean time from an agent joining to the end, over the team's last ``sample`` chats."""
    rows = session.execute(
        select(Handoff.assigned_at, Handoff.closed_at)
        .where(
            Handoff.team.is_(None) if team is None else Handoff.team == team,
            Handoff.assigned_at.is_not(None),
            Handoff.closed_at.is_not(None),
        )
        .order_by(Handoff.pk.desc())
        .limit(sample)
    ).all()
    durations = [(closed - assigned).total_seconds() for assigned, closed in rows]
    durations = [d for d in durations if d >= 0]
    if len(durations) < 3:
        return default_seconds
    return sum(durations) / len(durations)


def estimated_wait_seconds(
    session: Session,
    handoff: Handoff,
    *,
    default_handle_seconds: float,
    now: Optional[dt.datetime] = None,
) -> Optional[float]:
    """Expected seconds until an agent joins; None when nobody on duty could take it.

    Free seats on duty take the first customers at once; after them, a seat frees every average
    chat's length divided by the number of agents on duty.
    """
    position = queue_position(session, handoff)
    if position == 0:
        return 0.0
    agents = agents_on_duty(session, team=handoff.team, language=handoff.language, now=now)
    if not agents:
        return None
    load = load_of(session, [a.pk for a in agents])
    free = sum(max(a.capacity - load[a.pk], 0) for a in agents)
    if position <= free:
        return 0.0
    handle = average_handle_seconds(
        session, team=handoff.team, default_seconds=default_handle_seconds
    )
    seats = max(sum(a.capacity for a in agents), 1)
    return math.ceil((position - free) / seats) * handle


def apply(
    session: Session,
    handoff: Handoff,
    action: str,
    *,
    actor: Optional[User] = None,
    actor_name: Optional[str] = None,
    note: Optional[str] = None,
    data: Optional[Dict[str, Any]] = None,
    **changes: Any,
) -> Handoff:
    """Move ``handoff`` by ``action`` if nobody changed it since it was read.

    Raises InvalidTransition when the action is not allowed from the status the caller saw, or
    when another request changed the handoff first.
    """
    seen_status = handoff.status
    seen_agent = handoff.agent_id
    new_status = next_status(seen_status, action)
    now = utcnow()
    values: Dict[str, Any] = {"status": new_status.value, "updated_at": now, **changes}
    if new_status not in OPEN:
        values.setdefault("closed_at", now)
    if new_status is Status.QUEUED:
        values.setdefault("agent_id", None)
    condition = [Handoff.pk == handoff.pk, Handoff.status == seen_status]
    condition.append(
        Handoff.agent_id.is_(None) if seen_agent is None else Handoff.agent_id == seen_agent
    )
    result = session.execute(
        update(Handoff)
        .where(*condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.expire(handoff)
        raise InvalidTransition(handoff.status, action)
    session.add(
        HandoffEvent(
            handoff_pk=handoff.pk,
            action=action,
            from_status=seen_status,
            to_status=new_status.value,
            actor_id=actor.pk if actor is not None else None,
            actor=actor.username if actor is not None else (actor_name or "system"),
            note=note,
            data=data or {},
            created_at=now,
        )
    )
    session.flush()
    session.refresh(handoff)
    webhooks.enqueue(session, action, handoff, note=note)
    return handoff


class CapacityReached(InvalidTransition):
    """The agent already has as many conversations as their capacity allows."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        super().__init__(Status.QUEUED.value, "claim")
        self.args = (f"you already have {capacity} conversations, your capacity",)


def claim(session: Session, handoff: Handoff, agent: User) -> Handoff:
    """The agent takes a queued handoff. Exactly one of two agents claiming at once succeeds."""
    if load_of(session, [agent.pk])[agent.pk] >= agent.capacity:
        raise CapacityReached(agent.capacity)
    now = utcnow()
    return apply(session, handoff, "claim", actor=agent, agent_id=agent.pk, assigned_at=now)


def note_agent_reply(session: Session, handoff: Handoff) -> None:
    """Record the first agent reply's time (for first-response time), once."""
    if handoff.first_agent_reply_at is None:
        session.execute(
            update(Handoff)
            .where(Handoff.pk == handoff.pk, Handoff.first_agent_reply_at.is_(None))
            .values(first_agent_reply_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.refresh(handoff)


def requeue_abandoned_by_agents(
    session: Session, *, timeout: dt.timedelta, now: Optional[dt.datetime] = None
) -> List[Handoff]:
    """Assigned handoffs whose agent has not been seen for ``timeout`` go back to the queue."""
    now = now or utcnow()
    stale = (
        session.execute(
            select(Handoff)
            .join(User, User.pk == Handoff.agent_id)
            .where(
                Handoff.status == Status.ASSIGNED.value,
                or_(User.last_seen_at.is_(None), User.last_seen_at < now - timeout),
            )
        )
        .scalars()
        .all()
    )
    moved = []
    for handoff in stale:
        try:
            moved.append(
                apply(
                    session,
                    handoff,
                    "requeue",
                    actor_name="system",
                    note="the agent was disconnected",
                    queued_at=now,
                )
            )
        except InvalidTransition:
            continue  # the agent came back and acted meanwhile
    return moved


def customer_state(session: Session, handoff: Handoff, settings: QueueSettings) -> Dict[str, Any]:
    """What the customer's side is told about their handoff (the ``handoff`` custom payload).

    ``status`` is queued (with ``position`` and ``estimated_wait_seconds``; ``long_wait`` when the
    wait is unknown or above the configured maximum; ``leave`` and ``leave_message``, the web
    app's addresses to leave the queue or leave a message), assigned (the agent's display name),
    or the closed status; ``reference`` is what the customer can quote.
    """
    state: Dict[str, Any] = {
        "status": handoff.status,
        "reason": handoff.reason,
        "reference": handoff.reference,
    }
    if handoff.status == Status.QUEUED.value:
        wait = estimated_wait_seconds(
            session, handoff, default_handle_seconds=settings.average_handle_minutes * 60
        )
        state["position"] = queue_position(session, handoff)
        state["estimated_wait_seconds"] = None if wait is None else round(wait)
        state["long_wait"] = wait is None or wait > settings.max_wait_minutes * 60
        # Where the customer's side leaves the queue or leaves a message (bot/web/customer_api).
        base = f"/api/conversations/{handoff.conversation_id}"
        state["leave"], state["leave_message"] = f"{base}/leave", f"{base}/ticket"
    elif handoff.status == Status.ASSIGNED.value and handoff.agent is not None:
        state["agent"] = handoff.agent.display_name
    return state


def open_customer_state(
    session: Session, conversation_id: str, settings: QueueSettings
) -> Optional[Dict[str, Any]]:
    """The customer's view of the conversation's open handoff, or None when the bot owns it."""
    handoff = open_handoff(session, conversation_id)
    return None if handoff is None else customer_state(session, handoff, settings)
