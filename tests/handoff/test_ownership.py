"""The ownership state machine: who owns a conversation and which moves are allowed."""

from __future__ import annotations

import pytest

from bot.handoff.ownership import (
    ACTIONS,
    TRANSITIONS,
    InvalidTransition,
    Owner,
    Status,
    is_open,
    next_status,
    owner_of,
)


def test_every_status_has_exactly_one_owner() -> None:
    assert owner_of(None) is Owner.BOT
    assert owner_of("queued") is Owner.QUEUE
    assert owner_of("assigned") is Owner.AGENT
    for closed in ("resolved", "returned", "abandoned", "ticket"):
        assert owner_of(closed) is Owner.BOT
        assert not is_open(closed)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("queued", "claim", "assigned"),
        ("queued", "leave", "abandoned"),
        ("queued", "leave_message", "ticket"),
        ("assigned", "transfer", "assigned"),
        ("assigned", "requeue", "queued"),
        ("assigned", "hand_back", "returned"),
        ("assigned", "resolve", "resolved"),
    ],
)
def test_allowed_moves(status: str, action: str, expected: str) -> None:
    assert next_status(status, action).value == expected


def test_every_other_move_is_refused_with_a_plain_message() -> None:
    for status in Status:
        for action in ACTIONS:
            if (status, action) in TRANSITIONS:
                continue
            with pytest.raises(InvalidTransition) as raised:
                next_status(status.value, action)
            assert (
                str(raised.value)
                == f"cannot {action.replace('_', ' ')} a handoff that is {status.value}"
            )


def test_closed_handoffs_never_reopen() -> None:
    for (status, _), target in TRANSITIONS.items():
        assert is_open(status.value), "only open handoffs move"
        assert target in Status


def test_unknown_status_or_action_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        next_status("requested", "claim")
    with pytest.raises(InvalidTransition):
        next_status("queued", "delete")
