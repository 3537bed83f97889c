"""The customer asks for a person: record the request with the conversation's full context."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from actions.common import ConversationAction, in_session, language_of
from bot.handoff.context import build_context
from bot.handoff.models import REASONS
from bot.handoff.requests import request_handoff
from bot.kb.models import ArticleRating

logger = logging.getLogger(__name__)
DEFAULT_REASON = "asked_for_person"


def handoff_reason(tracker: Tracker) -> str:
    """The reason a button carried (e.g. after two misses), else "asked for a person"."""
    reason = next(tracker.get_latest_entity_values("handoff_reason"), None)
    return reason if reason in REASONS else DEFAULT_REASON


class ActionRequestHuman(ConversationAction):
    """Records the handoff request (once per conversation) and tells the customer how to go on."""

    def name(self) -> str:
        return "action_request_human"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reason = handoff_reason(tracker)
        language = language_of(tracker)

        def record(session):
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
            request, created = request_handoff(
                session,
                conversation_id=tracker.sender_id,
                reason=reason,
                language=language,
                channel=context["channel"],
                last_question=context["last_question"],
                context=context,
            )
            session.flush()
            return request.reference, created, request.reason

        try:
            reference, created, recorded_reason = await in_session(record)
        except SQLAlchemyError:
            logger.exception("conversation %s: handoff request not stored", tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_offline", handoff_reference="—")
            dispatcher.utter_message(
                json_message={"handoff": {"status": "offline", "reason": reason, "reference": None}}
            )
            return []
        logger.info(
            "conversation %s: handoff %s (%s, %s)",
            tracker.sender_id,
            reference,
            recorded_reason,
            "new" if created else "repeat",
        )
        dispatcher.utter_message(response="utter_handoff_offline", handoff_reference=reference)
        dispatcher.utter_message(
            json_message={
                "handoff": {"status": "offline", "reason": recorded_reason, "reference": reference}
            }
        )
        return [SlotSet("handoff_reference", reference)]
