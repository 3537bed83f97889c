"""The socket.io channel, fixed and hardened (the widget's channel).

Differences from Rasa 3.6's ``SocketIOInput`` (rasa/core/channels/socketio.py):
- joining the session's room is awaited when python-socketio makes it a coroutine (5.10 and
  newer; RasaHQ/rasa#13027), so messages sent to a session (HTTP API, later an agent) arrive;
- custom payloads are sent as ``{"custom": {...}}``; stock Rasa passes their keys to ``emit`` as
  keyword arguments, which fails for any payload but ``data``/``room``;
- a Markdown answer is sent whole, not split at blank lines into several bubbles;
- every message says when it was said (``time``, the tracker's timestamp) and, for a person's
  message, who said it (``author``: agent or system, and the agent's ``name``) and its key
  (``message_id``, as the web app's live stream gives it: the widget shows it once);
- a message may carry an idempotency key (``metadata.message_id``): a client that resends after
  a dropped connection gets it processed once; the acknowledgement (the socket.io ack) says
  ``{"delivered": true}`` once the message is handled, or gives the error;
- bad input (no session, empty, too long, not text) gets an ``error`` event with a clear reason;
  a failure or an empty reply gets an apology: the customer never meets silence.
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, cast

import rasa.core.channels.channel
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as StockSocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.handoff.follow_ups import chat_message
from bot.settings import get_settings, rasa_token
from rasa_ext.channels import (
    APOLOGY,
    MAX_SENDER_CHARS,
    clean_text,
    follow_ups_for,
    is_control_command,
    person_owns,
)

logger = logging.getLogger(__name__)
PEOPLE = ("agent", "system")  # authors of messages a person (or the handoff service) wrote
REMEMBERED_MESSAGE_IDS = 20_000


def about(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """When a message was said, if a person wrote it by whom, and its key (from the bot event's
    metadata, which Rasa passes to the output channel as keyword arguments)."""
    extra: Dict[str, Any] = {}
    if isinstance(kwargs.get("timestamp"), (int, float)):
        extra["time"] = kwargs["timestamp"]
    if kwargs.get("author") in PEOPLE:
        extra["author"] = kwargs["author"]
        if kwargs["author"] == "agent":
            extra["name"] = str(kwargs.get("display_name") or "")[:100]
    if isinstance(kwargs.get("message_id"), str):
        extra["message_id"] = kwargs["message_id"][:100]
    return extra


class SocketIOOutput(StockSocketIOOutput):
    """Sends whole messages and custom payloads under ``custom``, with their time and author;
    counts what it sent."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip(), **about(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send_message(
            recipient_id,
            {
                "text": text.strip(),
                "quick_replies": [
                    {"content_type": "text", "title": b["title"], "payload": b["payload"]}
                    for b in buttons
                ],
                **about(kwargs),
            },
        )

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message, **about(kwargs)})


class SeenMessages:
    """The idempotency keys of recent messages, per conversation (this process's memory)."""

    def __init__(self, size: int = REMEMBERED_MESSAGE_IDS) -> None:
        self.size = size
        self._seen: OrderedDict = OrderedDict()

    def first_time(self, conversation_id: str, message_id: Any) -> bool:
        """True the first time a (conversation, key) is seen; always True without a key."""
        if not isinstance(message_id, str) or not message_id or len(message_id) > 100:
            return True
        key = (conversation_id, message_id)
        if key in self._seen:
            return False
        self._seen[key] = True
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class SocketIOInput(StockSocketIOInput):
    """``socketio`` channel; same events and options as Rasa's, plus ``cors_allowed_origins``."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> SocketIOInput:
        # Rasa's own options, built as an instance of this class.
        channel = cast(SocketIOInput, super().from_credentials(credentials))
        channel.cors_allowed_origins = (credentials or {}).get("cors_allowed_origins", [])
        return channel

    cors_allowed_origins: Any = None

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # [] leaves CORS to Rasa's --cors option, as stock Rasa does.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins or [])
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        max_chars = get_settings().max_message_chars

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/typing", methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            """The agent is typing (or stopped): the web app tells the customer's room. Needs
            the HTTP API token; nothing is recorded in the conversation."""
            if not hmac.compare_digest(
                str(request.args.get("token") or ""), rasa_token(get_settings())
            ):
                return response.json({"error": "token required"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            room = body.get("conversation_id")
            if not isinstance(room, str) or not room or len(room) > MAX_SENDER_CHARS:
                return response.json({"error": "conversation_id required"}, status=400)
            event = {
                "who": "agent",
                "name": str(body.get("name") or "")[:100],
                "typing": bool(body.get("typing")),
            }
            await sio.emit("typing", event, room=room, namespace=self.namespace)
            return response.json({"sent": True})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict]) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            payload = (
                rasa.core.channels.channel.decode_bearer_token(
                    token, self.jwt_key, self.jwt_algorithm
                )
                if token
                else None
            )
            return bool(payload)

        async def error(sid: str, message: str) -> Dict[str, Any]:
            """Tell the client what was wrong (an ``error`` event and the message's ack)."""
            await sio.emit("error", {"error": message}, room=sid, namespace=self.namespace)
            return {"delivered": False, "error": message}

        seen = SeenMessages()

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not clean_text(session_id):
                session_id = uuid.uuid4().hex
            session_id = clean_text(session_id)[:MAX_SENDER_CHARS]
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):  # python-socketio >= 5.10
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> Dict[str, Any]:
            """Handle the customer's message; the ack (what this returns) says it was handled."""
            if not isinstance(data, dict):
                return await error(sid, "a message must be an object with 'message'")
            if self.session_persistence:
                sender = data.get("session_id")
                if not isinstance(sender, str) or not clean_text(sender):
                    return await error(sid, "send 'session_request' first, then 'session_id'")
                sender = clean_text(sender)[:MAX_SENDER_CHARS]
            else:
                sender = sid
            text = data.get("message")
            if not isinstance(text, str):
                return await error(sid, "'message' must be a text")
            text = clean_text(text)
            if not text:
                return await error(sid, "'message' is empty: type a question")
            if len(text) > max_chars:
                return await error(
                    sid, f"'message' is {len(text)} characters; the limit is " f"{max_chars}"
                )
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            if not seen.first_time(sender, metadata.get("message_id")):
                logger.info("conversation %s: a resent message ignored", sender)
                return {"delivered": True, "duplicate": True}
            output = SocketIOOutput(sio, self.bot_message_evt)
            for item in await follow_ups_for(sender):  # promised by an agent: said on return
                await output.send_text_message(sender, chat_message(item))
                await output.send_custom_json(sender, {"follow_up": item})
            before = output.sent
            if is_control_command(text):
                state = await person_owns(sender)
                if state is not None:
                    await output.send_custom_json(sender, {"handoff": {**state, "refused": text}})
                    return {"delivered": False, "error": "refused while a person has the chat"}
            try:
                await on_new_message(
                    UserMessage(text, output, sender, input_channel=self.name(), metadata=metadata)
                )
            except Exception:
                logger.exception("conversation %s: message failed", sender)
                await output.send_custom_json(sender, {"error": "internal"})
                await output.send_text_message(sender, APOLOGY)
                return {"delivered": True, "error": "internal"}
            if output.sent == before:
                state = await person_owns(sender)
                if state is not None:  # paused: the message waits for the person
                    await output.send_custom_json(sender, {"handoff": {**state, "delivered": True}})
                    return {"delivered": True}
                logger.warning("conversation %s: no reply produced", sender)
                await output.send_text_message(sender, APOLOGY)
            return {"delivered": True}

        return webhook
