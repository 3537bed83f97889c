"""The agent console's API: the queue, one conversation, and what an agent does with it.

Ownership changes are made in the database first (bot.handoff.queue, race-safe), then carried to
the conversation through Rasa's HTTP API (bot.handoff.rasa_api). An agent's message that Rasa does
not accept is answered 503 ("not delivered"), never reported as sent.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import db
from bot.handoff import queue
from bot.handoff.config import get_config
from bot.handoff.follow_ups import follow_up
from bot.handoff.models import FollowUp, Handoff, HandoffNote, WrongAnswerReport
from bot.handoff.ownership import InvalidTransition, Status
from bot.handoff.rasa_api import RasaClient, RasaUnavailable
from bot.live import tracker
from bot.mail import MailError, send_mail
from bot.timeutil import utcnow
from bot.users import PRESENCES, User, find_user
from bot.web.auth import get_session, requires
from bot.web.conversation import give_back

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["agent"])
agent_only = requires("agent")

MAX_REPLY = 4000
OUTCOMES = ("solved", "not_solved", "follow_up", "spam")


class HandoffSummary(BaseModel):
    id: int
    reference: str
    conversation_id: str
    status: str
    reason: str
    language: str
    team: Optional[str]
    priority: int
    last_question: Optional[str]
    summary: str = ""
    agent: Optional[str]
    position: Optional[int]
    waiting_seconds: Optional[float]
    created_at: str
    mine: bool = False
    customer_typing: bool = False


class HandoffDetail(HandoffSummary):
    package: Dict[str, Any]
    events: List[Dict[str, Any]]
    notes: List[Dict[str, Any]] = []
    customer_email: Optional[str] = None


class TranscriptLine(BaseModel):
    id: Optional[int] = Field(None, description="its place in the conversation (live updates)")
    time: Optional[str]
    author: str
    text: str
    intent: Optional[str] = None
    name: Optional[str] = None


class Reply(BaseModel):
    text: str = Field(..., description="What the agent writes to the customer (plain text).")

    @validator("text")
    def _not_empty(cls, value: str) -> str:  # noqa: N805
        value = value.strip()
        if not value:
            raise ValueError("write something first")
        if len(value) > MAX_REPLY:
            raise ValueError(f"at most {MAX_REPLY} characters")
        return value


class Note(BaseModel):
    note: Optional[str] = Field(None, max_length=2000)


class Resolution(BaseModel):
    outcome: str = Field("solved", description=f"one of {', '.join(OUTCOMES)}")
    note: Optional[str] = Field(None, max_length=2000)

    @validator("outcome")
    def _known(cls, value: str) -> str:  # noqa: N805
        if value not in OUTCOMES:
            raise ValueError(f"one of {', '.join(OUTCOMES)}")
        return value


class Presence(BaseModel):
    presence: str = Field(..., description="online, away or offline")

    @validator("presence")
    def _known(cls, value: str) -> str:  # noqa: N805
        if value not in PRESENCES:
            raise ValueError(f"one of {', '.join(PRESENCES)}")
        return value


def rasa_of(request: Request) -> RasaClient:
    return request.app.state.rasa


def summary_of(
    session: Session, handoff: Handoff, me: User, *, typing: bool = False
) -> Dict[str, Any]:
    waiting = None
    if handoff.status == Status.QUEUED.value and handoff.queued_at is not None:
        waiting = round((utcnow() - handoff.queued_at).total_seconds(), 1)
    return {
        "id": handoff.pk,
        "reference": handoff.reference,
        "conversation_id": handoff.conversation_id,
        "status": handoff.status,
        "reason": handoff.reason,
        "language": handoff.language,
        "team": handoff.team,
        "priority": handoff.priority,
        "last_question": handoff.last_question,
        "summary": (handoff.context or {}).get("summary", ""),
        "customer_typing": typing,
        "agent": handoff.agent.display_name if handoff.agent is not None else None,
        "position": queue.queue_position(session, handoff) or None,
        "waiting_seconds": waiting,
        "created_at": handoff.created_at.isoformat(),
        "mine": handoff.agent_id == me.pk,
    }


def typing_in(request: Request, handoff: Handoff) -> bool:
    """Whether the customer of an open handoff is typing now."""
    if handoff.status not in queue.OPEN_VALUES:
        return False
    return bool(request.app.state.live.broker.is_typing(handoff.conversation_id))


def load(session: Session, pk: int) -> Handoff:
    handoff = session.get(Handoff, pk)
    if handoff is None:
        raise HTTPException(status_code=404, detail="no such handoff")
    return handoff


def must_own(handoff: Handoff, me: User) -> None:
    if handoff.status != Status.ASSIGNED.value or handoff.agent_id != me.pk:
        raise HTTPException(status_code=409, detail="this conversation is not yours now")


def conflict(error: InvalidTransition) -> HTTPException:
    return HTTPException(status_code=409, detail=str(error))


@router.get("/handoffs", response_model=List[HandoffSummary])
def list_handoffs(
    request: Request,
    view: str = Query("open", pattern="^(open|queued|mine|closed|follow_up)$"),
    every_team: bool = Query(False, description="queued: all teams, not only the agent's own"),
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> List[Dict[str, Any]]:
    """The queue (best first; the agent's own teams unless ``every_team``), the agent's own
    chats, recently closed handoffs, or the closed ones whose promised follow-up has not been
    written yet."""
    query = select(Handoff)
    if view == "queued":
        query = query.where(Handoff.status == Status.QUEUED.value)
        if me.teams and not every_team:
            query = query.where(Handoff.team.in_(list(me.teams)) | Handoff.team.is_(None))
    elif view == "mine":
        query = query.where(Handoff.status == Status.ASSIGNED.value, Handoff.agent_id == me.pk)
    elif view == "open":
        query = query.where(Handoff.status.in_(queue.OPEN_VALUES))
    elif view == "follow_up":
        written = select(FollowUp.handoff_pk)
        query = query.where(Handoff.outcome == "follow_up", Handoff.pk.notin_(written))
    else:
        query = query.where(Handoff.status.notin_(queue.OPEN_VALUES))
    if view in ("closed", "follow_up"):
        query = query.order_by(Handoff.pk.desc()).limit(100)
    else:
        query = query.order_by(Handoff.priority.desc(), Handoff.queued_at, Handoff.pk)
    handoffs = session.execute(query).scalars().all()
    return [summary_of(session, h, me, typing=typing_in(request, h)) for h in handoffs]


@router.get("/handoffs/{pk}", response_model=HandoffDetail)
def get_handoff(
    pk: int,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """One handoff with its package (versioned JSON, PRODUCT.md "Full context") and history."""
    handoff = load(session, pk)
    return {
        **summary_of(session, handoff, me, typing=typing_in(request, handoff)),
        "package": handoff.context or {},
        "notes": notes_of(session, handoff),
        "customer_email": handoff.customer_email,
        "events": [
            {
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "actor": e.actor,
                "note": e.note,
                "time": e.created_at.isoformat(),
            }
            for e in handoff.events
        ],
    }


@router.get("/handoffs/{pk}/transcript", response_model=List[TranscriptLine])
def get_transcript(
    pk: int,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> List[Dict[str, Any]]:
    """The whole conversation as it is now (the bot's, the customer's and the agents' messages),
    read from Rasa's tracker store, so also while the Rasa server restarts. Each line's ``id``
    orders it among the ``line`` events of the live stream."""
    handoff = load(session, pk)
    return tracker.transcript(request.app.state.tracker_engine, handoff.conversation_id)


def tell_customer(
    request: Request, conversation_id: str, state: Dict[str, Any], text: Optional[str]
) -> bool:
    """Best effort: the customer's side learns of a change of state. False when not delivered."""
    rasa = rasa_of(request)
    try:
        if text:
            rasa.send_as_person(
                conversation_id, text, author="system", display_name="", custom={"handoff": state}
            )
        else:
            rasa.notify(conversation_id, {"handoff": state})
        return True
    except RasaUnavailable:
        logger.warning("conversation %s: customer not told of %s", conversation_id, state)
        return False


@router.post("/handoffs/{pk}/claim")
def claim(
    pk: int,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Take a queued conversation. Of two agents claiming at once, one gets it; the other 409."""
    handoff = load(session, pk)
    try:
        queue.claim(session, handoff, me)
    except InvalidTransition as error:
        raise conflict(error) from error
    session.commit()
    told = tell_customer(
        request,
        handoff.conversation_id,
        {"status": "assigned", "agent": me.display_name, "reference": handoff.reference},
        f"{me.display_name} from our customer-service team has joined the chat.",
    )
    return {"id": handoff.pk, "status": handoff.status, "customer_told": told}


@router.post("/handoffs/{pk}/messages")
def send_message(
    pk: int,
    reply: Reply,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Write to the customer. 503 when the message could not be delivered (it is not recorded)."""
    handoff = load(session, pk)
    must_own(handoff, me)
    try:
        rasa_of(request).send_as_person(
            handoff.conversation_id, reply.text, author="agent", display_name=me.display_name
        )
    except RasaUnavailable as error:
        raise HTTPException(
            status_code=503, detail="not delivered: the conversation server is not answering"
        ) from error
    queue.note_agent_reply(session, handoff)
    return {"delivered": True}


@router.post("/handoffs/{pk}/hand-back")
def hand_back(
    pk: int,
    body: Note,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Give the conversation back to the bot; the customer is told."""
    handoff = load(session, pk)
    must_own(handoff, me)
    try:
        queue.apply(session, handoff, "hand_back", actor=me, note=body.note)
    except InvalidTransition as error:
        raise conflict(error) from error
    session.commit()
    return {"id": handoff.pk, "status": handoff.status, "customer_told": resume(request, handoff)}


@router.post("/handoffs/{pk}/resolve")
def resolve(
    pk: int,
    body: Resolution,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Close the conversation with an outcome; the bot owns it again."""
    handoff = load(session, pk)
    if handoff.status == Status.ASSIGNED.value:
        must_own(handoff, me)
    try:
        queue.apply(session, handoff, "resolve", actor=me, note=body.note, outcome=body.outcome)
    except InvalidTransition as error:
        raise conflict(error) from error
    session.commit()
    return {"id": handoff.pk, "status": handoff.status, "customer_told": resume(request, handoff)}


def resume(request: Request, handoff: Handoff) -> bool:
    survey = f"/api/conversations/{handoff.conversation_id}/survey"
    state = {"status": "bot", "reference": handoff.reference, "survey": survey}
    with db.session_scope(request.app.state.engine) as session:
        return give_back(session, rasa_of(request), handoff, state=state)


@router.post("/presence")
def set_presence(
    body: Presence, me: User = Depends(agent_only), session: Session = Depends(get_session)
) -> Dict[str, Any]:
    """The agent's presence; the console also sends it as a heartbeat while open."""
    me.presence = body.presence
    me.last_seen_at = utcnow()
    return {"presence": me.presence}


class NoteText(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


class Transfer(BaseModel):
    agent: Optional[str] = Field(None, max_length=64, description="a colleague's username")
    team: Optional[str] = Field(None, max_length=64, description="a team of handoff.yml")
    note: Optional[str] = Field(None, max_length=2000, description="what the next person needs")

    @validator("team", always=True)
    def _one_target(cls, team: Optional[str], values: Dict[str, Any]) -> Optional[str]:  # noqa: N805
        if bool(team) == bool(values.get("agent")):
            raise ValueError("name either an agent or a team")
        return team


class WrongAnswer(BaseModel):
    bot_text: str = Field(..., min_length=1, max_length=4000, description="the bot's message")
    customer_text: Optional[str] = Field(None, max_length=4000)
    article_id: Optional[str] = Field(None, max_length=100)
    comment: Optional[str] = Field(None, max_length=2000)


class EmailReply(BaseModel):
    text: str = Field(..., min_length=1, max_length=20000)


def notes_of(session: Session, handoff: Handoff) -> List[Dict[str, Any]]:
    return [
        {"author": n.author, "text": n.text, "time": n.created_at.isoformat()}
        for n in session.execute(
            select(HandoffNote).where(HandoffNote.handoff_pk == handoff.pk).order_by(HandoffNote.pk)
        ).scalars()
    ]


@router.get("/handoffs/{pk}/notes")
def list_notes(
    pk: int, me: User = Depends(agent_only), session: Session = Depends(get_session)
) -> List[Dict[str, Any]]:
    """Internal notes on the handoff (never shown to the customer)."""
    return notes_of(session, load(session, pk))


@router.post("/handoffs/{pk}/notes")
def add_note(
    pk: int,
    body: NoteText,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Add an internal note; later agents see it, also in the customer's next handoffs."""
    handoff = load(session, pk)
    session.add(
        HandoffNote(handoff_pk=handoff.pk, author_id=me.pk, author=me.display_name, text=body.text)
    )
    return {"added": True}


@router.post("/handoffs/{pk}/transfer")
def transfer(
    pk: int,
    body: Transfer,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Pass the conversation to a colleague (who must be online with a free seat) or back to
    a team's queue, with a note; the package and transcript travel with it."""
    handoff = load(session, pk)
    must_own(handoff, me)
    try:
        if body.agent:
            colleague = find_user(session, body.agent)
            if colleague is None or not colleague.active or not colleague.has_role("agent"):
                raise HTTPException(status_code=404, detail="no such agent")
            if colleague.presence != "online":
                raise HTTPException(
                    status_code=409, detail=f"{colleague.display_name} is not online"
                )
            if queue.load_of(session, [colleague.pk])[colleague.pk] >= colleague.capacity:
                raise HTTPException(
                    status_code=409, detail=f"{colleague.display_name} has no free seat"
                )
            queue.apply(
                session, handoff, "transfer", actor=me, note=body.note,
                data={"to_agent": colleague.username}, agent_id=colleague.pk,
                assigned_at=utcnow(),
            )  # fmt: skip
            text = f"{me.display_name} has passed your chat to {colleague.display_name}."
        else:
            config = get_config()
            try:
                team = config.team(str(body.team))
            except KeyError as error:
                raise HTTPException(status_code=404, detail="no such team") from error
            queue.apply(
                session, handoff, "requeue", actor=me, note=body.note,
                data={"to_team": team.name}, team=team.name, queued_at=utcnow(),
            )  # fmt: skip
            text = f"{me.display_name} has passed your chat to our {team.name} team; please wait."
    except InvalidTransition as error:
        raise conflict(error) from error
    if body.note:
        session.add(
            HandoffNote(
                handoff_pk=handoff.pk, author_id=me.pk, author=me.display_name, text=body.note
            )
        )
    session.commit()
    # As the customer's side sees it now: the new agent, or the place and the wait in the queue.
    state = queue.customer_state(session, handoff, get_config().queue)
    return {
        "id": handoff.pk,
        "status": handoff.status,
        "customer_told": tell_customer(request, handoff.conversation_id, state, text),
    }


@router.get("/handoffs/{pk}/earlier")
def earlier_conversations(
    pk: int, me: User = Depends(agent_only), session: Session = Depends(get_session)
) -> List[Dict[str, Any]]:
    """The customer's earlier handoffs (same conversation or same known customer), with notes."""
    handoff = load(session, pk)
    same = Handoff.conversation_id == handoff.conversation_id
    if handoff.customer_key:
        same = same | (Handoff.customer_key == handoff.customer_key)
    earlier = session.execute(
        select(Handoff).where(same, Handoff.pk != handoff.pk).order_by(Handoff.pk.desc()).limit(20)
    ).scalars()
    return [
        {**summary_of(session, h, me), "outcome": h.outcome, "notes": notes_of(session, h)}
        for h in earlier
    ]


@router.get("/kb/search")
def search_articles(
    request: Request,
    q: str = Query(..., min_length=1, max_length=500),
    language: str = Query("en", pattern="^(en|lt|lv|pl)$"),
    me: User = Depends(agent_only),
) -> List[Dict[str, Any]]:
    """Published articles for a query, best first, with their answer text to insert in a reply."""
    from bot.kb import repository

    index = request.app.state.kb_index.index(language)
    found = index.search(q, k=5)
    with db.session_scope(request.app.state.engine) as session:
        results = []
        for candidate in found:
            article = repository.get_article(session, candidate.article_id, language)
            results.append(
                {
                    "article_id": article.article_id,
                    "title": article.title,
                    "body": article.body,
                    "version": article.version,
                    "score": candidate.score,
                }
            )
    return results


@router.post("/handoffs/{pk}/wrong-answer")
def report_wrong_answer(
    pk: int,
    body: WrongAnswer,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Report "the bot got this wrong": recorded as work for the editors (their inbox)."""
    handoff = load(session, pk)
    report = WrongAnswerReport(
        conversation_id=handoff.conversation_id,
        handoff_pk=handoff.pk,
        reporter_id=me.pk,
        bot_text=body.bot_text,
        customer_text=body.customer_text,
        article_id=body.article_id,
        comment=body.comment,
        status="open",
    )
    session.add(report)
    session.flush()
    return {"id": report.pk, "status": "open"}


@router.post("/handoffs/{pk}/email")
def reply_by_email(
    pk: int,
    body: EmailReply,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Answer a ticket by e-mail to the address the customer left. 503 when it was not sent."""
    handoff = load(session, pk)
    if not handoff.customer_email:
        raise HTTPException(status_code=409, detail="the customer left no e-mail address")
    settings = request.app.state.settings
    try:
        send_mail(
            settings,
            to=handoff.customer_email,
            subject=f"Your question to Amberline ({handoff.reference})",
            body=f"{body.text}\n\n{me.display_name}\nAmberline customer service",
        )
    except MailError as error:
        raise HTTPException(status_code=503, detail=f"not sent: {error}") from error
    session.add(
        HandoffNote(
            handoff_pk=handoff.pk,
            author_id=me.pk,
            author=me.display_name,
            text=f"E-mail to {handoff.customer_email}:\n{body.text}",
        )
    )
    return {"sent": True}


@router.get("/teams")
def list_teams(me: User = Depends(agent_only)) -> List[Dict[str, Any]]:
    """The teams of handoff.yml, and whether each is on duty now (for transfers)."""
    now = utcnow()
    return [
        {"name": t.name, "languages": list(t.languages), "open": t.is_open(now)}
        for t in get_config().teams
    ]


@router.get("/agents")
def list_agents(
    me: User = Depends(agent_only), session: Session = Depends(get_session)
) -> List[Dict[str, Any]]:
    """Colleagues online now with their load, for a transfer."""
    online = [
        u
        for u in session.execute(select(User).where(User.presence == "online")).scalars()
        if u.active and u.has_role("agent") and u.pk != me.pk
    ]
    load = queue.load_of(session, [u.pk for u in online])
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "teams": list(u.teams or []),
            "languages": list(u.languages or []),
            "load": load[u.pk],
            "capacity": u.capacity,
        }
        for u in online
    ]


class Typing(BaseModel):
    typing: bool = True


@router.post("/handoffs/{pk}/typing")
def agent_typing(
    pk: int,
    body: Typing,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The agent is typing a reply (or stopped): the customer's chat shows it (``shown``: the
    socket.io chat; a customer on the live stream gets it too)."""
    handoff = load(session, pk)
    must_own(handoff, me)
    request.app.state.live.broker.typing(
        handoff.conversation_id, who="agent", typing=body.typing, name=me.display_name
    )
    shown = rasa_of(request).typing(
        handoff.conversation_id, name=me.display_name, typing=body.typing
    )
    return {"shown": shown}


@router.post("/handoffs/{pk}/follow-up")
def write_follow_up(
    pk: int,
    body: NoteText,
    request: Request,
    me: User = Depends(agent_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The follow-up promised when the conversation was resolved: sent by e-mail when the
    customer's address is known, else said in the chat when the customer next writes."""
    handoff = load(session, pk)
    if handoff.status in queue.OPEN_VALUES:
        raise HTTPException(
            status_code=409, detail="the conversation is still open: write in the chat"
        )
    item = follow_up(
        session, request.app.state.settings, handoff, author=me.display_name, text=body.text
    )
    return {"id": item.pk, "delivered_by": item.delivered_by or "chat on the customer's return"}
