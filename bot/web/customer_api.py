"""The customer's side of a handoff, for what Rasa's channels do not carry: the state of the
handoff, the conversation's messages (a REST client's only way to read what an agent wrote, and
the widget's when it comes back; the live stream is in bot/web/live.py), leaving the queue,
leaving a message with an e-mail address, typing, and the satisfaction survey.

The conversation id is the customer's key: the widget makes it random and keeps it (a socket.io
session id), so that nobody else can guess it. Nothing here returns another customer's data: a
conversation's own handoff state, nothing else. What was said is read back only with a key that
is hard to guess (``ConversationKey``: 16 to 128 letters, digits, ``-`` or ``_``; the widget's
has 32 hex digits), and only as ``bot.live.tracker.customer_message`` shows it: one reader, one
set of rules, for ``/messages``, its alias ``/history`` and the stream ``/events``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff import queue
from bot.handoff.config import get_config
from bot.handoff.context import build_context
from bot.handoff.models import Handoff, HandoffNote, Survey
from bot.handoff.ownership import InvalidTransition, Status
from bot.handoff.rasa_api import RasaClient, RasaUnavailable
from bot.live import tracker
from bot.live.cursor import MAX_ID
from bot.mail import MailError, mail_configured, send_mail
from bot.web.auth import get_session
from bot.web.conversation import give_back

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/conversations", tags=["customer"])
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,255}\.[a-z]{2,}$", re.IGNORECASE)
ConversationId = Path(..., min_length=1, max_length=128, description="the conversation's id")
ConversationKey = Path(
    ...,
    min_length=16,
    max_length=128,
    pattern=r"^[A-Za-z0-9_-]+$",
    description="the conversation's id, the customer's key to what was said: 16 to 128 letters,"
    " digits, - or _ (the widget's random session id; a REST client's sender)",
)
MAX_HISTORY = 200


class TicketRequest(BaseModel):
    email: str = Field(..., max_length=320, description="where the team will answer")
    message: Optional[str] = Field(None, max_length=4000, description="anything to add")

    @validator("email")
    def _email(cls, value: str) -> str:  # noqa: N805
        value = value.strip()
        if not EMAIL.match(value):
            raise ValueError("an e-mail address such as name@example.com")
        return value


class SurveyAnswer(BaseModel):
    score: int = Field(..., ge=1, le=5, description="1 (very bad) to 5 (very good)")
    comment: Optional[str] = Field(None, max_length=2000)


class CustomerTyping(BaseModel):
    typing: bool = True


def rasa_of(request: Request) -> RasaClient:
    return request.app.state.rasa


def state_of(session: Session, conversation_id: str) -> Dict[str, Any]:
    state = queue.open_customer_state(session, conversation_id, get_config().queue)
    return state if state is not None else {"status": "bot"}


@router.get("/{conversation_id}/handoff")
def handoff_state(
    conversation_id: str = ConversationId, session: Session = Depends(get_session)
) -> Dict[str, Any]:
    """The conversation's handoff as the customer sees it: queued (position, wait), assigned
    (the agent's name), or ``bot`` when no person owns it."""
    return state_of(session, conversation_id)


@router.get("/{conversation_id}/messages")
def messages(
    request: Request,
    conversation_id: str = ConversationKey,
    after: int = Query(0, ge=0, le=MAX_ID, description="the cursor of the last call (0: all)"),
    limit: int = Query(100, ge=1, le=500),
    last: bool = Query(False, description="the newest ``limit`` messages after the cursor"),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """What was said in the conversation after ``after``, oldest first, with the handoff state.

    Each message has its ``id``, ``time``, ``author`` (customer, bot, agent with ``name``,
    system), its ``text`` and/or ``buttons``, ``image``, ``custom`` (``handoff``, ``kb_answer``;
    nothing internal), ``message_id`` (its idempotency key, when it has one) and ``pushed``:
    true for what reached the conversation from outside a reply to the customer (an agent's
    message, a change of the handoff, the hand-back), which a REST client sees only here. Pass
    ``cursor`` as the next ``after`` (or as ``after`` of the live stream ``/events``); ``more``
    says whether to ask again at once. With ``last``, the newest ``limit`` messages instead of
    the first (a chat that comes back shows the end of the conversation).
    """
    rows = tracker.read_after(
        request.app.state.tracker_engine,
        after,
        conversation_id=conversation_id,
        said_only=True,
        limit=limit,
        newest=last,
    )
    return {
        "conversation_id": conversation_id,
        "messages": [m for m in map(tracker.customer_message, rows) if m is not None],
        "cursor": rows[-1].id if rows else after,
        "more": len(rows) == limit and not last,
        "handoff": state_of(session, conversation_id),
    }


@router.get("/{conversation_id}/history")
def history(
    request: Request,
    conversation_id: str = ConversationKey,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """An alias of ``/messages?last=true&limit=200``: the end of the conversation as its
    customer saw it, with the handoff state (kept for clients written against it; the widget
    reads ``/messages``)."""
    return messages(
        request,
        conversation_id=conversation_id,
        after=0,
        limit=MAX_HISTORY,
        last=True,
        session=session,
    )


@router.post("/{conversation_id}/leave")
def leave_queue(
    request: Request,
    conversation_id: str = ConversationId,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The customer leaves the queue (recorded as abandoned); the bot is back."""
    handoff = queue.open_handoff(session, conversation_id)
    if handoff is None or handoff.status != Status.QUEUED.value:
        raise HTTPException(status_code=409, detail="you are not waiting in the queue")
    try:
        queue.apply(session, handoff, "leave", actor_name="customer")
    except InvalidTransition as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    session.commit()
    told = give_back(
        session,
        rasa_of(request),
        handoff,
        text="You've left the queue. I'm here if you need anything.",
    )
    return {"status": "abandoned", "reference": handoff.reference, "customer_told": told}


def package_from_rasa(request: Request, conversation_id: str) -> Dict[str, Any]:
    """The handoff package from the conversation as Rasa has it (a minimal one if unreachable)."""
    try:
        tracker = rasa_of(request).tracker(conversation_id)
    except RasaUnavailable:
        tracker = {}
    slots = tracker.get("slots") or {}
    return build_context(
        tracker.get("events") or [],
        conversation_id=conversation_id,
        reason="asked_for_person",
        slots=slots,
        language=str(slots.get("language") or "en"),
    )


@router.post("/{conversation_id}/ticket")
def leave_a_message(
    body: TicketRequest,
    request: Request,
    conversation_id: str = ConversationId,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Leave a message for the team with an e-mail address: a ticket with the whole package.

    From the queue (the wait is long) the customer leaves it; when nobody is on duty the
    conversation's ticket gets the address. Refused (409) while an agent is in the chat.
    """
    settings = request.app.state.settings
    handoff = queue.open_handoff(session, conversation_id)
    if handoff is not None and handoff.status == Status.ASSIGNED.value:
        raise HTTPException(status_code=409, detail="a person is with you in the chat now")
    resumed = False
    if handoff is not None:  # queued
        try:
            queue.apply(
                session,
                handoff,
                "leave_message",
                actor_name="customer",
                note=body.message,
                customer_email=body.email,
            )
        except InvalidTransition as error:
            raise HTTPException(status_code=409, detail=str(error)) from error
        resumed = True
    else:
        context = package_from_rasa(request, conversation_id)
        config = get_config()
        team = config.route(reason="asked_for_person", language=context["language"])
        handoff, _ = queue.request_handoff(
            session,
            conversation_id=conversation_id,
            reason=context["reason"],
            language=context["language"],
            channel=context["channel"],
            last_question=context["last_question"],
            context=context,
            team=team.name,
            queue=False,
        )
        handoff.customer_email = body.email
        if body.message:
            session.add(HandoffNote(handoff_pk=handoff.pk, author="customer", text=body.message))
    session.commit()
    confirmed = notify_by_mail(settings, handoff, body)
    text = (
        f"Thank you. Our team will answer you at {body.email} (reference {handoff.reference})."
        + (" We've sent you a confirmation." if confirmed else "")
    )
    told = give_back(session, rasa_of(request), handoff, text=text) if resumed else False
    if not resumed:
        try:
            rasa_of(request).send_as_person(
                conversation_id,
                text,
                author="system",
                display_name="",
                custom={"handoff": {"status": "ticket", "reference": handoff.reference}},
            )
            told = True
        except RasaUnavailable:
            told = False
    return {
        "status": "ticket",
        "reference": handoff.reference,
        "email_confirmation": confirmed,
        "customer_told": told,
    }


def notify_by_mail(settings: Any, handoff: Handoff, body: TicketRequest) -> bool:
    """Confirm to the customer and alert the team; False when the confirmation was not sent."""
    if not mail_configured(settings):
        return False
    summary = (handoff.context or {}).get("summary") or ""
    try:
        send_mail(
            settings,
            to=body.email,
            subject=f"We've got your message ({handoff.reference})",
            body=(
                "Hello,\n\nthank you for your message to Amberline customer service. A person from"
                f" our team will answer you at this address. Your reference is {handoff.reference}."
                "\n\nAmberline customer service"
            ),
        )
    except MailError:
        logger.exception("ticket %s: confirmation not sent", handoff.reference)
        return False
    if settings.team_inbox:
        try:
            send_mail(
                settings,
                to=settings.team_inbox,
                subject=f"New ticket {handoff.reference} ({handoff.language})",
                body=f"{summary}\n\nCustomer: {body.email}\n\n{body.message or ''}",
                reply_to=body.email,
            )
        except MailError:
            logger.exception("ticket %s: team not alerted", handoff.reference)
    return True


@router.post("/{conversation_id}/typing")
def customer_typing(
    body: CustomerTyping,
    request: Request,
    conversation_id: str = ConversationId,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The customer is typing (or stopped); the agent's console shows it for a few seconds. Only
    while a person owns the conversation."""
    if queue.open_handoff(session, conversation_id) is None:
        return {"shown": False}
    shown = request.app.state.live.broker.typing(
        conversation_id, who="customer", typing=body.typing
    )
    return {"shown": shown}


@router.post("/{conversation_id}/survey")
def answer_survey(
    body: SurveyAnswer,
    conversation_id: str = ConversationId,
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The satisfaction survey after a conversation with a person (answering again updates it)."""
    handoff = session.execute(
        select(Handoff)
        .where(
            Handoff.conversation_id == conversation_id,
            Handoff.status.in_((Status.RESOLVED.value, Status.RETURNED.value)),
            Handoff.agent_id.is_not(None),
        )
        .order_by(Handoff.pk.desc())
        .limit(1)
    ).scalar_one_or_none()
    if handoff is None:
        raise HTTPException(status_code=404, detail="no conversation with a person to rate")
    survey = session.execute(
        select(Survey).where(Survey.handoff_pk == handoff.pk)
    ).scalar_one_or_none()
    if survey is None:
        survey = Survey(conversation_id=conversation_id, handoff_pk=handoff.pk, score=body.score)
        session.add(survey)
    survey.score, survey.comment = body.score, body.comment
    return {"reference": handoff.reference, "score": body.score}
