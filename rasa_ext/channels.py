"""The REST channel, hardened: bad input gets a clear 4xx, failures get an apology, not silence.

Stock Rasa's REST channel answers a JSON list or a missing field with a 500, accepts any size, and
when processing fails (an action server that is down, say) returns an empty list: the customer
meets silence. This subclass keeps the
same address (``/webhooks/rest/webhook``) and the same reply format.

While a person (the queue or an agent) owns the conversation, Rasa is paused and produces no reply:
the customer's message is recorded for the agent and acknowledged with the ``handoff`` custom
payload (``delivered: true``), never with an apology. Rasa's control commands (``/restart``,
``/back``, ``/session_start``) would undo the pause behind the agent's back: they are refused then.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as StockRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.db import get_engine, session_scope
from bot.handoff.config import get_config
from bot.handoff.follow_ups import (
    FollowUpWatch,
    chat_message,
    take_due,
    waiting_conversations,
)
from bot.handoff.queue import open_customer_state
from bot.kb.text import clean_text
from bot.settings import get_settings
from rasa_ext import speedups

logger = logging.getLogger(__name__)

# The Rasa server loads this module from credentials.yml: fix stock Rasa's costs found under load.
speedups.install()

MAX_SENDER_CHARS = 128
MAX_METADATA_CHARS = 8000
APOLOGY = (
    "Sorry, something went wrong on my side. Please try again in a moment, or ask for a person."
)


# Rasa's own intents that change the conversation's state (they would unpause it).
CONTROL_COMMANDS = re.compile(r"^\s*/(restart|back|session_start)\b", re.IGNORECASE)


async def person_owns(conversation_id: str) -> Optional[Dict[str, Any]]:
    """The customer's view of the conversation's open handoff, or None when the bot owns it.

    A database failure counts as "the bot owns it": the customer then gets the bot (or the
    apology), never silence.
    """

    def read() -> Optional[Dict[str, Any]]:
        with session_scope(get_engine(get_settings().database_url)) as session:
            return open_customer_state(session, conversation_id, get_config().queue)

    try:
        return await asyncio.to_thread(read)
    except Exception:
        logger.exception("conversation %s: handoff state not readable", conversation_id)
        return None


@functools.cache
def follow_up_watch() -> FollowUpWatch:
    """This process's watch on undelivered follow-ups (``BOT_FOLLOW_UP_POLL_SECONDS``)."""

    def read() -> Set[str]:
        with get_engine(get_settings().database_url).connect() as connection:
            return waiting_conversations(connection)

    return FollowUpWatch(read, get_settings().follow_up_poll_seconds)


async def follow_ups_for(conversation_id: str) -> List[Dict[str, Any]]:
    """Follow-ups an agent left for this customer, taken for delivery now (never twice)."""
    watch = follow_up_watch()
    if not await watch.waiting(conversation_id):
        return []

    def take() -> List[Dict[str, Any]]:
        with session_scope(get_engine(get_settings().database_url)) as session:
            return take_due(session, conversation_id)

    try:
        taken = await asyncio.to_thread(take)
    except Exception:
        logger.exception("conversation %s: follow-ups not readable", conversation_id)
        return []
    watch.delivered(conversation_id)
    return taken


def is_control_command(text: str) -> bool:
    return bool(CONTROL_COMMANDS.match(text))


class InputError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def parse_body(request: Request, max_chars: int) -> Tuple[str, str, Optional[Dict[str, Any]]]:
    """(sender, message, metadata) from the request. Raises InputError with a clear message."""
    try:
        body = request.json
    except Exception as error:  # sanic raises its own InvalidUsage
        raise InputError(400, "the body must be JSON") from error
    if not isinstance(body, dict):
        raise InputError(400, 'the body must be a JSON object: {"sender": ..., "message": ...}')
    sender = body.get("sender")
    if not isinstance(sender, str) or not clean_text(sender):
        raise InputError(400, "'sender' must be a non-empty text (the conversation id)")
    sender = clean_text(sender)
    if len(sender) > MAX_SENDER_CHARS:
        raise InputError(400, f"'sender' must be at most {MAX_SENDER_CHARS} characters")
    message = body.get("message")
    if not isinstance(message, str):
        raise InputError(400, "'message' must be a text")
    message = clean_text(message)
    if not message:
        raise InputError(400, "'message' is empty: type a question")
    if len(message) > max_chars:
        raise InputError(
            413, f"'message' is {len(message)} characters long; the limit is {max_chars}"
        )
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InputError(400, "'metadata' must be a JSON object")
        if len(str(metadata)) > MAX_METADATA_CHARS:
            raise InputError(413, f"'metadata' is larger than {MAX_METADATA_CHARS} characters")
    return sender, message, metadata


class WholeMessageCollector(CollectingOutputChannel):
    """Collects each bot message whole: Rasa's collector splits text at blank lines, which cuts a
    Markdown answer (paragraphs, lists) into several chat bubbles."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


class RestInput(StockRestInput):
    """``rest`` channel with input validation and no silent failures."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        max_chars = get_settings().max_message_chars

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata = parse_body(request, max_chars)
            except InputError as error:
                return response.json({"error": str(error)}, status=error.status)
            if is_control_command(text):
                state = await person_owns(sender)
                if state is not None:
                    return response.json(
                        [
                            {
                                "recipient_id": sender,
                                "custom": {"handoff": {**state, "refused": text}},
                            }
                        ]
                    )
            collector = WholeMessageCollector()
            try:
                await on_new_message(
                    UserMessage(
                        text, collector, sender, input_channel=self.name(), metadata=metadata
                    )
                )
            except Exception:
                logger.exception("conversation %s: message failed", sender)
                collector.messages.append(
                    {"recipient_id": sender, "text": APOLOGY, "custom": {"error": "internal"}}
                )
            if not collector.messages:
                state = await person_owns(sender)
                if state is not None:  # paused: the message waits for the person
                    return response.json(
                        [
                            {
                                "recipient_id": sender,
                                "custom": {"handoff": {**state, "delivered": True}},
                            }
                        ]
                    )
                # Rasa swallows a failed action ("Bot will continue, but the actions events are
                # lost"): the customer would get nothing. Every message of ours gets a reply.
                logger.warning("conversation %s: no reply produced", sender)
                collector.messages.append(
                    {"recipient_id": sender, "text": APOLOGY, "custom": {"error": "no_reply"}}
                )
            for item in await follow_ups_for(sender):  # promised by an agent: said on return
                collector.messages.insert(
                    0,
                    {
                        "recipient_id": sender,
                        "text": chat_message(item),
                        "custom": {"follow_up": item},
                    },
                )
            return response.json(collector.messages)

        return webhook
