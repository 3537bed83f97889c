"""Positions in append-only tables, and the token a stream's client resumes from.

``GapCursor`` follows one table by its increasing ids. Ids are handed out in order but not always
committed in order (two PostgreSQL transactions: id 11 may be visible before id 10), and an insert
that is rolled back leaves its id unused forever. The cursor delivers every id once, in the order
it is first seen, and keeps ``position``: every id at or below it has been delivered or, after
``grace`` seconds of absence, given up as never committed. Reading ``id > position`` again is
therefore always safe.

``Token`` is the set of positions (one per table) a client has everything up to; it is the
Server-Sent Events id, so a reconnecting browser sends it back as ``Last-Event-ID``.
"""

from __future__ import annotations

import re
import time
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Set

# Far enough apart that a hole this old is a rolled-back insert, not a slow commit.
DEFAULT_GRACE_SECONDS = 15.0
# A hole this far below the newest id is given up at once (keeps the bookkeeping small).
MAX_SPAN = 5000
MAX_ID = 2**63 - 1


class GapCursor:
    """Where a reader of one table is; see the module docstring."""

    def __init__(
        self,
        position: int = 0,
        *,
        grace: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.position = position
        self.grace = grace
        self.clock = clock
        self.seen: Set[int] = set()  # delivered ids above position
        self.holes: Dict[int, float] = {}  # missing id -> when first missed

    @property
    def pending(self) -> bool:
        """True while ids above the position wait for a hole below them to fill or expire."""
        return bool(self.seen or self.holes)

    def accept(self, ids: Iterable[int]) -> List[int]:
        """Take the ids read (``id > position``); the ones not delivered before, ascending."""
        now = self.clock()
        fresh = sorted({i for i in ids if i > self.position and i not in self.seen})
        self.seen.update(fresh)
        for filled in fresh:
            self.holes.pop(filled, None)
        if self.seen:
            top = max(self.seen)
            floor = max(self.position + 1, top - MAX_SPAN)
            for missing in range(self.position + 1, floor):  # too far behind: given up
                self.holes.setdefault(missing, now - self.grace)
            for missing in range(floor, top):
                if missing not in self.seen:
                    self.holes.setdefault(missing, now)
        while True:
            following = self.position + 1
            if following in self.seen:
                self.seen.discard(following)
            elif following in self.holes and now - self.holes[following] >= self.grace:
                del self.holes[following]
            else:
                break
            self.position = following
        return fresh


TOKEN_PART = re.compile(r"([a-z])([0-9]{1,19})")


class BadToken(ValueError):
    """A resume token that this server did not make."""


class Token:
    """Positions by table letter, written ``h12.n3.t456``; see the module docstring."""

    def __init__(self, positions: Optional[Mapping[str, int]] = None) -> None:
        self.positions: Dict[str, int] = dict(positions or {})

    def __getitem__(self, table: str) -> int:
        return self.positions.get(table, 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and self.positions == other.positions

    def __repr__(self) -> str:
        return f"Token({self})"

    def __str__(self) -> str:
        return ".".join(f"{table}{position}" for table, position in sorted(self.positions.items()))

    def copy(self) -> Token:
        return Token(self.positions)

    def max(self, other: Token) -> Token:
        """Each table's later position of the two."""
        tables = set(self.positions) | set(other.positions)
        return Token({t: max(self[t], other[t]) for t in tables})

    def ahead_of(self, other: Token) -> bool:
        """True when some position is beyond ``other``'s (a token from another database)."""
        return any(position > other[table] for table, position in self.positions.items())

    @classmethod
    def parse(cls, text: str, tables: Iterable[str]) -> Token:
        """Read a token; raises BadToken unless it names only ``tables``, each once."""
        known = set(tables)
        positions: Dict[str, int] = {}
        for part in text.strip().split("."):
            match = TOKEN_PART.fullmatch(part)
            if match is None or match[1] not in known or match[1] in positions:
                raise BadToken("not a position this server gave")
            value = int(match[2])
            if value > MAX_ID:
                raise BadToken("position out of range")
            positions[match[1]] = value
        return cls(positions)
