"""Recording a customer's request for a person, at most one open request per conversation."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.handoff.models import OPEN_STATUSES, HandoffRequest


def open_request(session: Session, conversation_id: str) -> Optional[HandoffRequest]:
    """The conversation's open request, or None."""
    return session.execute(
        select(HandoffRequest).where(
            HandoffRequest.conversation_id == conversation_id,
            HandoffRequest.status.in_(OPEN_STATUSES),
        )
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
) -> Tuple[HandoffRequest, bool]:
    """Record the request; returns (request, created). A repeat returns the open request.

    Two concurrent calls for one conversation create one request: the database's unique index
    on open requests refuses the second, which then reads the first.
    """
    existing = open_request(session, conversation_id)
    if existing is not None:
        existing.context = context
        return existing, False
    request = HandoffRequest(
        conversation_id=conversation_id,
        status="requested",
        reason=reason,
        language=language,
        channel=channel,
        last_question=last_question,
        context=context,
    )
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:
        existing = open_request(session, conversation_id)
        if existing is None:
            raise
        return existing, False
    return request, True
