"""GapCursor: every id once, none skipped, even when ids are committed out of order or never;
and the resume token's format."""

from __future__ import annotations

import pytest

from bot.live.cursor import BadToken, GapCursor, Token


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_ids_in_order_move_the_position(clock) -> None:
    cursor = GapCursor(10, grace=5, clock=clock)
    assert cursor.accept([11, 12, 13]) == [11, 12, 13]
    assert cursor.position == 13 and not cursor.pending
    assert cursor.accept([]) == []
    assert cursor.accept([12, 13]) == []  # read again: not delivered twice


def test_an_id_committed_late_is_delivered_and_the_position_waits_for_it(clock) -> None:
    cursor = GapCursor(10, grace=5, clock=clock)
    assert cursor.accept([11, 13]) == [11, 13]  # 12 is not committed yet
    assert cursor.position == 11 and cursor.pending
    clock.now += 1
    assert cursor.accept([13]) == []  # the next read, from the position: 13 again, not resent
    assert cursor.accept([12, 13, 14]) == [12, 14]
    assert cursor.position == 14 and not cursor.pending


def test_a_hole_that_never_fills_is_given_up_after_the_grace(clock) -> None:
    cursor = GapCursor(0, grace=5, clock=clock)
    cursor.accept([1, 3, 4])
    clock.now += 4.9
    assert cursor.accept([3, 4]) == [] and cursor.position == 1
    clock.now += 0.2
    assert cursor.accept([3, 4, 5]) == [5]
    assert cursor.position == 5 and not cursor.pending
    assert cursor.accept([2]) == []  # too late: given up (a rolled-back insert never comes)


def test_ids_at_or_below_the_position_are_ignored(clock) -> None:
    cursor = GapCursor(50, grace=5, clock=clock)
    assert cursor.accept([49, 50, 51]) == [51]


def test_a_huge_gap_does_not_keep_a_hole_per_id(clock) -> None:
    cursor = GapCursor(0, grace=5, clock=clock)
    assert cursor.accept([1_000_000]) == [1_000_000]
    assert len(cursor.holes) <= 5001
    clock.now += 6
    cursor.accept([])
    assert cursor.position == 1_000_000 and not cursor.pending


def test_token_round_trip_and_order() -> None:
    token = Token({"t": 456, "h": 12, "n": 3})
    assert str(token) == "h12.n3.t456"
    assert Token.parse(str(token), "hnft") == token
    assert token["f"] == 0
    assert str(token.max(Token({"h": 20, "f": 1}))) == "f1.h20.n3.t456"
    assert token.ahead_of(Token({"h": 11, "n": 3, "t": 456}))
    assert not token.ahead_of(Token({"h": 12, "n": 3, "t": 500}))


@pytest.mark.parametrize(
    "text", ["", "h", "12", "h1.h2", "z1", "H1", "h-1", "h1..n2", "h" + "9" * 20, "h1 n2"]
)
def test_a_token_this_server_did_not_make_is_refused(text) -> None:
    with pytest.raises(BadToken):
        Token.parse(text, "hnft")
