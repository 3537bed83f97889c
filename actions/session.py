"""Session start: the conversation's language comes from the channel's metadata."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.settings import SUPPORTED_LANGUAGES

CARRIED_OVER = ("language", "order_number", "order_email", "order_verified", "customer_name",
                "order_lookup_attempts", "handoff_reference")


class ActionSessionStart(Action):
    """Starts a session, keeping who the customer is and taking the language from metadata."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        for slot in CARRIED_OVER:
            value = tracker.get_slot(slot)
            if value is not None:
                events.append(SlotSet(slot, value))
        metadata = tracker.get_slot("session_started_metadata") or {}
        language = metadata.get("language") if isinstance(metadata, dict) else None
        if isinstance(language, str) and language.lower()[:2] in SUPPORTED_LANGUAGES:
            events.append(SlotSet("language", language.lower()[:2]))
        events.append(ActionExecuted("action_listen"))
        return events
