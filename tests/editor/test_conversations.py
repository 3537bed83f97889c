"""Real conversations read from Rasa's tracker store (written here by Rasa's own SQL tracker
store), found by id and by text, newest first, shown as turns with personal data masked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.editor import conversations as reading
from bot.errors import ConversationNotFound


async def order_conversation(said: Any, conversation_id: str) -> None:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        SlotSet,
        UserUttered,
    )

    await said.say(
        conversation_id,
        ActionExecuted("action_session_start"),
        ActionExecuted("action_listen"),
        UserUttered(
            "where is my order AM-100482, I'm ieva@example.com",
            {"name": "faq", "confidence": 0.41},
            [{"entity": "order_number", "value": "AM-100482", "start": 18, "end": 27}],
        ),
        ActionExecuted("order_status_form"),
        ActiveLoop("order_status_form"),
        SlotSet("requested_slot", "order_email"),
        SlotSet("language", "en"),
        BotUttered("What is your e-mail address?"),
        ActionExecuted("action_listen"),
        UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}),
        ActionExecuted("action_record_feedback"),
        BotUttered("Thanks! Call +370 612 34567 if it's late."),
        BotUttered("I'm Ona from the team", metadata={"author": "agent", "display_name": "Ona"}),
    )


async def test_one_conversation_as_turns_masked(conversations: Any, engine: Engine) -> None:
    await order_conversation(conversations, "conv-order-1")
    shown = reading.conversation(engine, "conv-order-1")
    assert shown["conversation_id"] == "conv-order-1"
    turns = [{k: v for k, v in t.items() if k not in ("id", "time")} for t in shown["turns"]]
    assert turns == [
        {
            "kind": "customer",
            "text": "where is my order [order number], I'm [email]",
            "message": "where is my order [order number], I'm [email]",
            "intent": "faq",
            "confidence": 0.41,
            "entities": [{"entity": "order_number", "value": "[order number]"}],
        },
        # What the form said after it started and asked for a slot is still the form's.
        {"kind": "bot", "action": "order_status_form", "said": ["What is your e-mail address?"]},
        {"kind": "form", "name": "order_status_form"},
        {"kind": "slot", "name": "requested_slot", "value": "order_email"},
        {
            "kind": "customer",
            "text": "(clicked) Yes, it helped",
            "message": "/affirm",
            "intent": "affirm",
            "confidence": 1.0,
            "entities": [],
        },
        {
            "kind": "bot",
            "action": "action_record_feedback",
            "said": ["Thanks! Call [phone] if it's late."],
        },
        {"kind": "said", "author": "agent", "text": "I'm Ona from the team"},
    ]
    assert all(isinstance(t["id"], int) for t in shown["turns"])


async def test_found_by_text_and_by_id_newest_first(conversations: Any, engine: Engine) -> None:
    await conversations.customer("older-conv", "my parcel locker code does not work")
    await conversations.customer("newer-conv", "the parcel is late")
    await conversations.customer("other-conv", "Šiauliai delivery? mail a@b.lt")
    await conversations.customer("newer-conv", "still waiting for the PARCEL")

    everything = reading.find(engine)
    assert [c["conversation_id"] for c in everything] == ["newer-conv", "other-conv", "older-conv"]
    assert everything[0]["messages"] == 2 and everything[0]["snippet"] == "the parcel is late"

    by_text = reading.find(engine, text="Parcel")
    assert [c["conversation_id"] for c in by_text] == ["newer-conv", "older-conv"]
    assert by_text[1]["snippet"] == "my parcel locker code does not work"

    accented = reading.find(engine, text="šiauliai")
    assert [c["snippet"] for c in accented] == ["Šiauliai delivery? mail [email]"]
    assert reading.find(engine, text="a@b.lt")[0]["conversation_id"] == "other-conv"
    assert [c["conversation_id"] for c in reading.find(engine, conversation_id="older")] == [
        "older-conv"
    ]


@pytest.mark.parametrize(
    "text", ["%", "_", "\\", "' OR 1=1 --", '"inform"', "text", "<script>", "\u0000"]
)
async def test_search_text_is_only_text(conversations: Any, engine: Engine, text: str) -> None:
    await conversations.customer("plain-conv", "hello there")
    assert reading.find(engine, text=text) == []
    assert reading.find(engine, conversation_id=text) == []


def test_an_unknown_conversation_is_not_found(engine: Engine) -> None:
    assert reading.find(engine, text="anything") == []
    with pytest.raises(ConversationNotFound):
        reading.conversation(engine, "nobody")
