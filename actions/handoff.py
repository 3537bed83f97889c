"""The customer asks for a person: open a handoff with the conversation's full context.

When the team that should take it is on duty (business hours in handoff.yml, and an agent online
with the language), the conversation joins the queue: the bot pauses (Rasa's ConversationPaused, so
it stays silent while the queue or an agent owns the conversation) and the customer learns their
place and the expected wait. Otherwise the handoff is kept as a ticket with a reference, and the
customer is told honestly how and when the staff can be reached.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.common import ConversationAction, in_session, language_of
from bot.handoff.config import get_config
from bot.handoff.context import build_context
from bot.handoff.models import REASONS
from bot.handoff.queue import agents_on_duty, customer_state, request_handoff
from bot.kb.models import ArticleRating
from bot.timeutil import utcnow

logger = logging.getLogger(__name__)
DEFAULT_REASON = "asked_for_person"


def handoff_reason(tracker: Tracker) -> str:
    """Why: the reason a button carried, else the trigger that fired, else "asked for a person"."""
    reason = next(tracker.get_latest_entity_values("handoff_reason"), None)
    if reason not in REASONS:
        reason = tracker.get_slot("handoff_reason")
    return reason if reason in REASONS else DEFAULT_REASON


def hand_over(reason: str) -> List[EventType]:
    """Events that start a handoff for ``reason`` right after the current action."""
    return [SlotSet("handoff_reason", reason), FollowupAction("action_request_human")]


def wait_words(seconds: Optional[float]) -> str:
    """The expected wait as a customer reads it."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return "less than a minute"
    minutes = math.ceil(seconds / 60)
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def customer_key_of(context: Dict[str, Any]) -> Optional[str]:
    """Who the customer is across conversations: their verified e-mail, else none."""
    customer = context.get("customer") or {}
    email = customer.get("email") if customer.get("verified") else None
    return str(email).strip().lower() if email else None


def open_handoff_for(
    session: Session, tracker: Tracker, reason: str, language: str
) -> Dict[str, Any]:
    """Open (or find) the conversation's handoff; what the customer should be told about it."""
    ratings = [
        {"article_id": r.article_id, "version": r.version, "helpful": r.helpful}
        for r in session.execute(
            select(ArticleRating).where(ArticleRating.conversation_id == tracker.sender_id)
        ).scalars()
    ]
    context = build_context(
        tracker.events,
        conversation_id=tracker.sender_id,
        reason=reason,
        slots=tracker.current_slot_values(),
        language=language,
        ratings=ratings,
    )
    config = get_config()
    team = config.route(reason=reason, language=language)
    now = utcnow()
    on_duty = team.is_open(now) and bool(
        agents_on_duty(session, team=team.name, language=language, now=now)
    )
    handoff, created = request_handoff(
        session,
        conversation_id=tracker.sender_id,
        reason=reason,
        language=language,
        channel=context["channel"],
        last_question=context["last_question"],
        context=context,
        team=team.name,
        priority=config.queue.priority_for(reason),
        queue=on_duty,
        customer_key=customer_key_of(context),
    )
    session.flush()
    state = customer_state(session, handoff, config.queue)
    state["created"] = created
    return state


class ActionRequestHuman(ConversationAction):
    """Records the handoff request (once per conversation) and tells the customer how to go on."""

    def name(self) -> str:
        return "action_request_human"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reason = handoff_reason(tracker)
        language = language_of(tracker)

        try:
            state = await in_session(lambda s: open_handoff_for(s, tracker, reason, language))
        except SQLAlchemyError:
            logger.exception("conversation %s: handoff not stored", tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_offline", handoff_reference="—")
            dispatcher.utter_message(
                json_message={"handoff": {"status": "offline", "reason": reason, "reference": None}}
            )
            return []
        logger.info(
            "conversation %s: handoff %s %s (%s, %s)",
            tracker.sender_id,
            state["reference"],
            state["status"],
            state["reason"],
            "new" if state["created"] else "repeat",
        )
        payload = {k: v for k, v in state.items() if k != "created"}
        if state["status"] == "queued":
            dispatcher.utter_message(
                response="utter_handoff_queued_long"
                if state["long_wait"]
                else "utter_handoff_queued",
                handoff_position=state["position"],
                handoff_wait=wait_words(state["estimated_wait_seconds"]),
            )
        elif state["status"] == "assigned":
            dispatcher.utter_message(response="utter_handoff_assigned", agent_name=state["agent"])
        else:
            payload["status"] = "offline"
            dispatcher.utter_message(
                response="utter_handoff_offline", handoff_reference=state["reference"]
            )
        dispatcher.utter_message(json_message={"handoff": payload})
        events: List[EventType] = [
            SlotSet("handoff_reference", state["reference"]),
            SlotSet("handoff_reason", None),
        ]
        if state["status"] in ("queued", "assigned"):
            # The queue or an agent owns the conversation now: the bot stays silent.
            events.append(ConversationPaused())
        return events
