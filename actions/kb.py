"""Answering from the knowledge base: answer, offer candidates, or say honestly "I don't know"."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.common import (
    ConversationAction,
    in_session,
    language_of,
    latest_text,
    live_index,
    off_loop,
    settings,
)
from actions.handoff import hand_over
from bot.errors import ArticleNotFound
from bot.handoff.config import get_config
from bot.handoff.detect import asks_for_person
from bot.kb import repository
from bot.kb.answering import Decision, Outcome, Thresholds
from bot.kb.deciding import decide_message, miss_hands_off, thresholds_for, trigger_in
from bot.kb.retrieval import KnowledgeIndex
from bot.kb.text import unwrap

logger = logging.getLogger(__name__)

MISSES_BEFORE_OFFERING_A_PERSON = 2


def thresholds() -> Thresholds:
    """The tuned thresholds, with the operator's overrides (BOT_ANSWER_THRESHOLD, ...)."""
    return thresholds_for(settings())


def _article_payload(article_id: str) -> str:
    return "/choose_article" + json.dumps({"article_id": article_id}, separators=(",", ":"))


async def utter_article(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    article_id: str,
    confidence: float,
    *,
    chosen: bool = False,
) -> List[EventType]:
    """Send the article's current answer from the database, then ask "Did this help?"."""
    language = language_of(tracker)

    def load(session):
        answer = repository.answer_of(session, article_id, language)
        if answer is None:
            raise ArticleNotFound(f"no article {article_id} in {language}")
        if answer.status != "published" or answer.audience != "public":
            raise ArticleNotFound(f"{article_id} is not published")
        return answer.body, answer.version

    body, version = await in_session(load)
    answer = {
        "article_id": article_id,
        "version": version,
        "language": language,
        "confidence": round(float(confidence), 4),
    }
    if chosen:
        answer["chosen"] = True
    dispatcher.utter_message(text=unwrap(body))
    dispatcher.utter_message(json_message={"kb_answer": answer})
    dispatcher.utter_message(response="utter_kb_ask_helpful")
    logger.info("conversation %s answered with %s v%s", tracker.sender_id, article_id, version)
    return [SlotSet("last_answer", answer), SlotSet("kb_misses", 0.0)]


def utter_miss(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Admit not knowing. After the configured misses in a row (handoff.yml, not_understood) a
    person takes over; with that trigger off, the second miss offers one."""
    misses = int(tracker.get_slot("kb_misses") or 0) + 1
    if miss_hands_off(misses):
        dispatcher.utter_message(response="utter_kb_not_found_handing_over")
        dispatcher.utter_message(json_message={"kb_miss": {"count": misses}})
        logger.info("conversation %s: miss %d, handing over", tracker.sender_id, misses)
        return [
            SlotSet("kb_misses", 0.0),
            SlotSet("last_answer", None),
            *hand_over("not_understood_twice"),
        ]
    if misses >= MISSES_BEFORE_OFFERING_A_PERSON:
        dispatcher.utter_message(response="utter_kb_not_found_again")
    elif (tracker.latest_message.get("intent") or {}).get("name") == "out_of_scope":
        dispatcher.utter_message(response="utter_out_of_scope")  # says so and asks to rephrase
    else:
        dispatcher.utter_message(response="utter_kb_not_found")
    dispatcher.utter_message(json_message={"kb_miss": {"count": misses}})
    logger.info("conversation %s: no answer (miss %d)", tracker.sender_id, misses)
    return [SlotSet("kb_misses", float(misses)), SlotSet("last_answer", None)]


class ActionAnswerFromKb(ConversationAction):
    """Answers the customer's latest message from the knowledge base, or admits not knowing."""

    def name(self) -> str:
        return "action_answer_from_kb"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        text = latest_text(tracker).strip()
        language = language_of(tracker)
        if not text:
            return utter_miss(dispatcher, tracker)
        if asks_for_person(text):  # the model missed a request for a person: honour it
            logger.info(
                "conversation %s: request for a person caught by the safety net", tracker.sender_id
            )
            return [FollowupAction("action_request_human")]
        trigger = trigger_in(text)
        if trigger is not None:
            logger.info("conversation %s: handoff trigger %s", tracker.sender_id, trigger)
            return hand_over(trigger)
        try:
            index: KnowledgeIndex = await off_loop(live_index().index, language)
            decision = await off_loop(
                decide_message, index, text, tracker.latest_message, thresholds()
            )
            return await self._respond(dispatcher, tracker, decision, language)
        except (SQLAlchemyError, ArticleNotFound):
            logger.exception("conversation %s: knowledge base unavailable", tracker.sender_id)
            dispatcher.utter_message(response="utter_error")
            return []

    async def _respond(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        decision: Decision,
        language: str,
    ) -> List[EventType]:
        if decision.outcome is Outcome.ANSWER:
            return await utter_article(
                dispatcher, tracker, decision.candidates[0][0], decision.confidence
            )
        if decision.outcome is Outcome.SUGGEST:
            ids = [article_id for article_id, _ in decision.candidates]
            found = await in_session(lambda session: repository.titles_of(session, ids, language))
            buttons = [
                {"title": found[a], "payload": _article_payload(a)} for a in ids if a in found
            ]
            buttons.append({"title": "None of these", "payload": "/none_of_these"})
            dispatcher.utter_message(response="utter_kb_suggest", buttons=buttons)
            dispatcher.utter_message(
                json_message={
                    "kb_suggestions": [
                        {"article_id": a, "confidence": s}
                        for a, s in decision.candidates
                        if a in found
                    ]
                }
            )
            return [SlotSet("last_answer", None)]
        return utter_miss(dispatcher, tracker)


class ActionAnswerArticle(ConversationAction):
    """Answers with the article the customer picked from the suggestions."""

    def name(self) -> str:
        return "action_answer_article"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        article_id: Optional[str] = next(tracker.get_latest_entity_values("article_id"), None)
        if not article_id:
            return utter_miss(dispatcher, tracker)
        try:
            return await utter_article(dispatcher, tracker, str(article_id), 1.0, chosen=True)
        except ArticleNotFound:
            logger.info("conversation %s chose unknown article", tracker.sender_id)
            return utter_miss(dispatcher, tracker)
        except SQLAlchemyError:
            logger.exception("conversation %s: knowledge base unavailable", tracker.sender_id)
            dispatcher.utter_message(response="utter_error")
            return []


class ActionRejectSuggestions(ConversationAction):
    """The customer said none of the suggested articles fits: a miss."""

    def name(self) -> str:
        return "action_reject_suggestions"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return utter_miss(dispatcher, tracker)


class ActionRecordFeedback(ConversationAction):
    """Records "Did this help?" for the last answer; a plain yes/no with nothing pending is fine."""

    def name(self) -> str:
        return "action_record_feedback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        pending = tracker.get_slot("last_answer")
        helpful = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        if not isinstance(pending, dict) or "article_id" not in pending:
            dispatcher.utter_message(response="utter_kb_feedback_none")
            return []

        def record(session: Session) -> int:
            repository.record_rating(
                session,
                conversation_id=tracker.sender_id,
                article_id=str(pending["article_id"]),
                language=str(pending.get("language") or language_of(tracker)),
                version=int(pending.get("version") or 0),
                helpful=helpful,
            )
            session.flush()
            return repository.unhelpful_ratings(session, tracker.sender_id)

        unhelpful = 0
        try:
            unhelpful = await in_session(record)
        except SQLAlchemyError:
            logger.exception("conversation %s: rating not stored", tracker.sender_id)
        config = get_config()
        if (
            not helpful
            and config.trigger_enabled("negative_feedback")
            and unhelpful >= config.triggers.negative_feedback.unhelpful_ratings
        ):
            dispatcher.utter_message(response="utter_kb_feedback_handing_over")
            return [SlotSet("last_answer", None), *hand_over("negative_feedback")]
        dispatcher.utter_message(
            response="utter_kb_feedback_thanks" if helpful else "utter_kb_feedback_sorry"
        )
        return [SlotSet("last_answer", None)]
