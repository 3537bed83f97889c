"""What every action module shares: the database, the live knowledge index, the language."""

from __future__ import annotations

import abc
import asyncio
import functools
import logging
from typing import Any, Callable, Dict, List, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import get_engine, session_scope
from bot.kb.retrieval import LiveIndex
from bot.settings import SUPPORTED_LANGUAGES, Settings, get_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


def settings() -> Settings:
    return get_settings()


def engine() -> Engine:
    """The action server's database engine, made on first use."""
    return get_engine(settings().database_url)


@functools.lru_cache(maxsize=1)
def live_index() -> LiveIndex:
    """The shared knowledge index, made on first use."""
    return LiveIndex(engine(), refresh_seconds=settings().kb_refresh_seconds)


async def in_session(work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one unit of work, off the event loop (the server has one worker)."""

    def run() -> T:
        with session_scope(engine()) as session:
            return work(session)

    return await asyncio.to_thread(run)


async def off_loop(work: Callable[..., T], *args: Any) -> T:
    """Run a blocking call off the event loop."""
    return await asyncio.to_thread(work, *args)


def language_of(tracker: Tracker) -> str:
    """The conversation's language: its slot, else the session's metadata, else the default.

    Rasa's own action_session_start (which runs in the Rasa server, so a conversation starts even
    when the action server is down) keeps the channel's metadata in ``session_started_metadata``.
    """
    language = tracker.get_slot("language")
    if language in SUPPORTED_LANGUAGES:
        return language
    metadata = tracker.get_slot("session_started_metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("language"), str):
        code = metadata["language"].lower()[:2]
        if code in SUPPORTED_LANGUAGES:
            return code
    return settings().default_language


def latest_text(tracker: Tracker) -> str:
    """The customer's latest message, trimmed to the length we process."""
    text = tracker.latest_message.get("text") or ""
    return text[: settings().max_message_chars]


class ConversationAction(Action, abc.ABC):
    """An action that keeps the conversation's language in its ``language`` slot.

    Subclasses implement ``act``. Abstract, so the SDK does not register it as an action.
    """

    @abc.abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """What the action does; its events."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        events = await self.act(dispatcher, tracker, domain)
        language = language_of(tracker)
        if tracker.get_slot("language") != language:
            events = [*events, SlotSet("language", language)]
        return events
