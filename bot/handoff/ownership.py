"""Who owns a conversation, and how ownership may change: the handoff state machine.

A conversation is owned by exactly one of: the bot, the queue (waiting for a person), or an agent.
Its handoff's status says which; the bot owns every conversation without an open handoff.

    queued   --claim-->          assigned      (an agent takes it)
    queued   --leave-->          abandoned     (the customer leaves the queue)
    queued   --leave_message-->  ticket        (nobody on duty: the customer leaves an e-mail)
    assigned --transfer-->       assigned      (to another agent, with a note)
    assigned --requeue-->        queued        (to a team, or the agent has gone)
    assigned --hand_back-->      returned      (the bot resumes)
    assigned --resolve-->        resolved
    queued   --resolve-->        resolved      (an agent closes it without a chat, e.g. spam)

Pure logic: no database. ``bot.handoff.queue`` applies these transitions to rows, atomically.
"""

from __future__ import annotations

import enum
from typing import Dict, FrozenSet, Optional, Tuple

from bot.errors import BotError


class Status(str, enum.Enum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    RETURNED = "returned"
    ABANDONED = "abandoned"
    TICKET = "ticket"


class Owner(str, enum.Enum):
    BOT = "bot"
    QUEUE = "queue"
    AGENT = "agent"


OPEN: FrozenSet[Status] = frozenset({Status.QUEUED, Status.ASSIGNED})

TRANSITIONS: Dict[Tuple[Status, str], Status] = {
    (Status.QUEUED, "claim"): Status.ASSIGNED,
    (Status.QUEUED, "leave"): Status.ABANDONED,
    (Status.QUEUED, "leave_message"): Status.TICKET,
    (Status.QUEUED, "resolve"): Status.RESOLVED,
    (Status.ASSIGNED, "transfer"): Status.ASSIGNED,
    (Status.ASSIGNED, "requeue"): Status.QUEUED,
    (Status.ASSIGNED, "hand_back"): Status.RETURNED,
    (Status.ASSIGNED, "resolve"): Status.RESOLVED,
}
ACTIONS = frozenset(action for _, action in TRANSITIONS)


class InvalidTransition(BotError):
    """The handoff is not in a state that allows this action (someone else may have acted)."""

    def __init__(self, status: str, action: str) -> None:
        self.status = status
        self.action = action
        super().__init__(f"cannot {action.replace('_', ' ')} a handoff that is {status}")


def next_status(status: str, action: str) -> Status:
    """The status after ``action``; raises InvalidTransition when it is not allowed now."""
    try:
        return TRANSITIONS[(Status(status), action)]
    except (KeyError, ValueError):
        raise InvalidTransition(status, action) from None


def owner_of(status: Optional[str]) -> Owner:
    """Who owns a conversation whose latest handoff has this status (None: no handoff)."""
    if status == Status.QUEUED:
        return Owner.QUEUE
    if status == Status.ASSIGNED:
        return Owner.AGENT
    return Owner.BOT


def is_open(status: str) -> bool:
    return status in {s.value for s in OPEN}
