"""Talking to the Rasa server on behalf of a person: their messages, the pause and the resume.

An agent's message is appended to the conversation as a bot utterance whose metadata says who
wrote it, with Rasa's ``execute_side_effects``, so that Rasa sends it to the customer through the
channel they last used (socket.io pushes it to their room) and records it in the same transcript
as the bot's. Handing back appends ``ConversationResumed``; taking over appends
``ConversationPaused``. Calls are retried a few times with backoff; a failure raises RasaUnavailable
so that the caller can tell the agent instead of pretending the message went out.

Every message appended here carries ``metadata.message_id``, a fresh random key: the socket.io
channel sends it with the message and the tracker keeps it, so that a customer's chat that
receives the same message both ways (socket.io and the live stream) shows it once.

``parse`` asks the NLU model what it makes of a text, for the editor's "Try it"; ``status`` and
``load_model`` tell which model runs and swap it (retraining from the editor).
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from typing import Any, Dict, List, Optional

import requests

from bot.errors import BotError


def new_message_id() -> str:
    """A message's idempotency key (``metadata.message_id``); see the module docstring."""
    return uuid.uuid4().hex


class RasaUnavailable(BotError):
    """The Rasa server did not accept the call (down, or refused it)."""


class RasaClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.3,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.http = requests.Session()

    def _events_url(self, conversation_id: str) -> str:
        quoted = urllib.parse.quote(conversation_id, safe="")
        return f"{self.url}/conversations/{quoted}/tracker/events"

    def append(
        self, conversation_id: str, events: List[Dict[str, Any]], *, deliver: bool = False
    ) -> Dict[str, Any]:
        """Append events to the conversation; with ``deliver``, send its bot messages out."""
        params = {"token": self.token, "include_events": "NONE"}
        if deliver:
            params.update(output_channel="latest", execute_side_effects="true")
        last_error: Optional[Exception] = None
        for attempt in range(self.attempts):
            try:
                reply = self.http.post(
                    self._events_url(conversation_id),
                    params=params,
                    json=events,
                    timeout=self.timeout,
                )
                if reply.status_code < 500:
                    if reply.status_code >= 400:
                        raise RasaUnavailable(f"Rasa refused the events: {reply.status_code}")
                    return dict(reply.json())
                last_error = RasaUnavailable(f"Rasa answered {reply.status_code}")
            except requests.RequestException as error:
                last_error = error
            time.sleep(self.backoff * (2**attempt))
        raise RasaUnavailable(f"Rasa server unavailable: {last_error}") from last_error

    def tracker(self, conversation_id: str) -> Dict[str, Any]:
        quoted = urllib.parse.quote(conversation_id, safe="")
        try:
            reply = self.http.get(
                f"{self.url}/conversations/{quoted}/tracker",
                params={"token": self.token},
                timeout=self.timeout,
            )
            reply.raise_for_status()
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa server unavailable: {error}") from error
        return dict(reply.json())

    def pause(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "pause", "timestamp": time.time()}])

    def send_as_person(
        self,
        conversation_id: str,
        text: str,
        *,
        author: str,
        display_name: str,
        custom: Optional[Dict[str, Any]] = None,
    ) -> None:
        """A person's message to the customer, delivered and recorded in the transcript."""
        data: Dict[str, Any] = {}
        if custom is not None:
            data["custom"] = custom
        event = {
            "event": "bot",
            "text": text,
            "data": data,
            "metadata": {
                "author": author,
                "display_name": display_name,
                "message_id": new_message_id(),
            },
            "timestamp": time.time(),
        }
        self.append(conversation_id, [event], deliver=True)

    def notify(self, conversation_id: str, custom: Dict[str, Any]) -> None:
        """A custom payload for the customer's side (handoff state changes), recorded too."""
        event = {
            "event": "bot",
            "text": None,
            "data": {"custom": custom},
            "metadata": {"author": "system", "message_id": new_message_id()},
            "timestamp": time.time(),
        }
        self.append(conversation_id, [event], deliver=True)

    def typing(self, conversation_id: str, *, name: str, typing: bool) -> bool:
        """Tell the customer's socket.io room that the agent is typing (best effort, no retry)."""
        try:
            reply = self.http.post(
                f"{self.url}/webhooks/socketio/typing",
                params={"token": self.token},
                json={"conversation_id": conversation_id, "name": name, "typing": typing},
                timeout=2,
            )
        except requests.RequestException:
            return False
        return reply.status_code == 200

    def resume(self, conversation_id: str, *, text: Optional[str] = None) -> None:
        """Give the conversation back to the bot, optionally telling the customer so."""
        events: List[Dict[str, Any]] = [{"event": "resume", "timestamp": time.time()}]
        if text:
            events.append(
                {
                    "event": "bot",
                    "text": text,
                    "metadata": {"author": "bot", "message_id": new_message_id()},
                    "timestamp": time.time(),
                }
            )
        # The bot's next turn must start as after any reply of its own: listening. Without it
        # the policies see the action that paused the conversation as the last one, match no
        # rule, and fall back.
        events.append({"event": "action", "name": "action_listen", "timestamp": time.time()})
        self.append(conversation_id, events, deliver=True)

    def parse(self, text: str, *, timeout: float = 5.0) -> Dict[str, Any]:
        """What the Rasa server's NLU model makes of ``text`` (``/model/parse``: intent, ranking,
        response selector), without touching any conversation. No retry: the caller degrades.
        Raises RasaUnavailable."""
        try:
            reply = self.http.post(
                f"{self.url}/model/parse",
                params={"token": self.token},
                json={"text": text},
                timeout=timeout,
            )
            reply.raise_for_status()
            return dict(reply.json())
        except (requests.RequestException, ValueError) as error:
            raise RasaUnavailable(f"Rasa server unavailable: {error}") from error

    def status(self, *, timeout: float = 10.0, fresh_connection: bool = False) -> Dict[str, Any]:
        """The server's ``/status``: ``model_file`` (the file name of the model it runs, absent
        when none is loaded). ``fresh_connection``: not on a kept-alive connection, so that with
        several Rasa processes any of them may answer. Raises RasaUnavailable."""
        try:
            reply = (requests if fresh_connection else self.http).get(
                f"{self.url}/status",
                params={"token": self.token},
                timeout=timeout,
                headers={"Connection": "close"} if fresh_connection else None,
            )
            if reply.status_code == 409:  # Rasa's answer when no model is loaded
                return {}
            reply.raise_for_status()
            return dict(reply.json())
        except (requests.RequestException, ValueError) as error:
            raise RasaUnavailable(f"Rasa server unavailable: {error}") from error

    def load_model(self, path: str, *, timeout: float = 600.0) -> None:
        """Load the model file at ``path`` (on the server's machine) in place of the running one
        (``PUT /model``): conversations go on, kept in the tracker store. Loading takes tens of
        seconds. Raises RasaUnavailable when the server refuses or does not answer."""
        try:
            reply = self.http.put(
                f"{self.url}/model",
                params={"token": self.token},
                json={"model_file": path},
                timeout=timeout,
            )
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa server unavailable: {error}") from error
        if reply.status_code != 204:
            raise RasaUnavailable(
                f"Rasa did not load the model: {reply.status_code} {reply.text[:300]}"
            )
