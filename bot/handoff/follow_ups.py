"""Follow-ups an agent promised: delivered by e-mail when the customer's address is known, else
as a chat message the next time the customer writes (the channels add it to the reply)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Dict, List, Optional, Set

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.handoff.models import FollowUp, Handoff
from bot.mail import MailError, mail_configured, send_mail
from bot.timeutil import utcnow

logger = logging.getLogger(__name__)


def follow_up(
    session: Session, settings: Any, handoff: Handoff, *, author: str, text: str
) -> FollowUp:
    """Record the follow-up and send it by e-mail at once when possible; otherwise it waits for
    the customer's return to the chat."""
    item = FollowUp(
        handoff_pk=handoff.pk, conversation_id=handoff.conversation_id, author=author, text=text
    )
    session.add(item)
    session.flush()
    address = handoff.customer_email or (
        handoff.customer_key if handoff.customer_key and "@" in handoff.customer_key else None
    )
    if address and mail_configured(settings):
        try:
            send_mail(
                settings,
                to=address,
                subject=f"Following up on your question ({handoff.reference})",
                body=f"{text}\n\n{author}\nAmberline customer service",
            )
            item.delivered_at, item.delivered_by = utcnow(), "email"
        except MailError:
            logger.exception("follow-up %s: e-mail not sent; it waits for the chat", item.pk)
    return item


_WAITING = (
    select(FollowUp.__table__.c.conversation_id)
    .where(FollowUp.__table__.c.delivered_at.is_(None))
    .distinct()
)


def waiting_conversations(connection: Connection) -> Set[str]:
    """The conversations with an undelivered follow-up (``ix_follow_ups_delivered_at`` finds
    them without reading the delivered ones)."""
    return set(connection.execute(_WAITING).scalars())


class FollowUpWatch:
    """Which conversations have a follow-up waiting for the customer's return, as the database
    said at most ``max_age`` seconds ago.

    The channels ask at every customer message, and almost always there is none. One look at
    all of them (``read``, run in a thread), shared by every message within ``max_age``, replaces
    a query and a thread hop per message (about 4% of the Rasa server's time under load). A
    follow-up written meanwhile reaches the customer's first message after the next look: at
    most ``max_age`` later. ``max_age`` 0 looks at every message. Only a filter: delivery itself
    (``take_due``) asks the database, exactly once per follow-up.
    """

    def __init__(
        self,
        read: Callable[[], Set[str]],
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.max_age = max_age
        self._clock = clock
        self._ids: Set[str] = set()
        self._read_at: Optional[float] = None  # when the look that gave ``_ids`` began
        self._looking: Optional[asyncio.Task] = None  # a look under way
        self._looking_since = 0.0

    async def waiting(self, conversation_id: str) -> bool:
        """Whether the conversation may have an undelivered follow-up. A failed look counts as
        none (logged), as a failed query did: the customer gets the bot's answer, and the
        follow-up waits for a later message."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self.max_age:
            look = self._looking
            if look is None or now - self._looking_since >= self.max_age:
                self._looking_since = now
                look = self._looking = asyncio.ensure_future(self._look(now))
            try:
                await asyncio.shield(look)
            except Exception:
                logger.exception("follow-ups not readable")
                return False
        return conversation_id in self._ids

    async def _look(self, started: float) -> None:
        try:
            ids = await asyncio.to_thread(self._read)
        finally:
            if self._looking is asyncio.current_task():
                self._looking = None
        if self._read_at is None or started >= self._read_at:  # never an older look's answer
            self._ids, self._read_at = ids, started

    def delivered(self, conversation_id: str) -> None:
        """This process has just taken the conversation's follow-ups."""
        self._ids.discard(conversation_id)


def take_due(session: Session, conversation_id: str) -> List[Dict[str, Any]]:
    """The conversation's undelivered follow-ups, marked delivered by chat (each exactly once,
    even when two messages arrive together)."""
    due = (
        session.execute(
            select(FollowUp)
            .where(FollowUp.conversation_id == conversation_id, FollowUp.delivered_at.is_(None))
            .order_by(FollowUp.pk)
        )
        .scalars()
        .all()
    )
    taken = []
    for item in due:
        claimed = session.execute(
            update(FollowUp)
            .where(FollowUp.pk == item.pk, FollowUp.delivered_at.is_(None))
            .values(delivered_at=utcnow(), delivered_by="chat")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            taken.append({"author": item.author, "text": item.text})
    return taken


def chat_message(item: Dict[str, Any]) -> str:
    return f"{item['author']} from our customer-service team, following up: {item['text']}"
