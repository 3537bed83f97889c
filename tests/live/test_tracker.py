"""Reading Rasa's tracker store without Rasa: the rows as Rasa's own store writes them, as the
agent's transcript lines and as the customer's chat messages (the one set of rules about what a
customer reads back of their conversation)."""

from __future__ import annotations

import json

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.live import tracker
from bot.live.tracker import TrackerEvent


def test_no_table_yet_reads_as_nothing(engine) -> None:
    assert tracker.last_id(engine) == 0
    assert tracker.read_after(engine, 0) == []
    assert tracker.transcript(engine, "c1") == []


async def test_lines_and_messages_carry_the_row_id(engine, conversations) -> None:
    await conversations.say(
        "c1",
        UserUttered("/request_human", {"name": "request_human", "confidence": 1.0}),
        ActionExecuted("action_handoff"),
        SlotSet("language", "pl"),
        BotUttered("One moment", data={"buttons": [{"title": "Leave", "payload": "/leave"}]}),
        BotUttered(
            None, data={"custom": {"handoff": {"status": "queued"}}}, metadata={"author": "system"}
        ),
        BotUttered("Ona here", metadata={"author": "agent", "display_name": "Ona"}),
    )
    await conversations.customer("c2", "someone else")
    lines = tracker.transcript(engine, "c1")
    assert [(line["author"], line["text"]) for line in lines] == [
        ("customer", "(clicked) Talk to a person"),
        ("bot", "One moment"),
        ("agent", "Ona here"),
    ]
    assert lines[0]["intent"] == "request_human" and lines[2]["name"] == "Ona"
    assert lines[0]["id"] < lines[1]["id"] < lines[2]["id"] <= tracker.last_id(engine)

    messages = tracker.customer_messages(engine, "c1")
    assert [m["author"] for m in messages] == ["customer", "bot", "system", "agent"]
    assert messages[0]["text"] == "(clicked) Talk to a person"  # never the payload
    assert messages[1]["buttons"] == [{"title": "Leave", "payload": "/leave"}]
    assert messages[1]["pushed"] is False  # the bot's reply: a REST client had it already
    assert messages[2] == {
        "id": messages[2]["id"],
        "time": messages[2]["time"],
        "author": "system",
        "pushed": True,
        "custom": {"handoff": {"status": "queued"}},
    }
    assert "intent" not in messages[0]  # what the bot understood is for agents only
    assert tracker.customer_messages(engine, "c1", after=messages[2]["id"]) == messages[3:]


def test_a_row_that_is_not_said_or_not_json_is_no_message() -> None:
    assert tracker.customer_message(TrackerEvent(1, "c", {"event": "action"})) is None
    assert tracker.customer_message(TrackerEvent(2, "c", {"event": "bot", "text": None})) is None
    broken = TrackerEvent(3, "c", {"event": "bot", "text": "x", "metadata": "not a dict"})
    assert tracker.customer_message(broken) is None
    assert tracker.transcript_line(TrackerEvent(4, "c", {})) is None


async def test_a_customer_reads_back_what_they_saw_and_nothing_internal(engine, conversations):
    await conversations.say(
        "c1",
        ActionExecuted("action_session_start"),
        UserUttered(
            "how long do I have to return something?",
            {"name": "faq", "confidence": 0.93},
            metadata={"message_id": "m-1", "language": "en"},
        ),
        BotUttered("You have **14 days**."),
        BotUttered(
            None,
            data={
                "custom": {
                    "kb_answer": {
                        "article_id": "return-policy",
                        "version": 2,
                        "language": "en",
                        "confidence": 0.87,
                    }
                }
            },
        ),
        BotUttered(
            "Did this help?",
            data={"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        ),
        UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}),
        UserUttered("/request_human", metadata={"message_id": "m-2", "shown": "Talk to a person"}),
        UserUttered("plain", metadata={"shown": "not used", "message_id": "<b>not-a-key</b>"}),
        BotUttered(None, data={"custom": {"kb_suggestions": [{"article_id": "x"}]}}),
        BotUttered(None, data={"custom": {"order_status": {"found": False}}}),
        SlotSet("customer_email", "kaja@example.com"),
        BotUttered(
            "Rita has joined.",
            data={"custom": {"handoff": {"status": "assigned", "agent": "Rita"}}},
            metadata={"author": "system", "display_name": "", "message_id": "w-1"},
        ),
        BotUttered("Hello, Rita here.", metadata={"author": "agent", "display_name": "Rita"}),
    )
    messages = tracker.customer_messages(engine, "c1")
    shown = [{k: v for k, v in m.items() if k not in ("id", "time")} for m in messages]
    assert shown == [
        {
            "author": "customer",
            "text": "how long do I have to return something?",
            "message_id": "m-1",
        },
        {"author": "bot", "pushed": False, "text": "You have **14 days**."},
        {
            "author": "bot",
            "pushed": False,
            "custom": {
                "kb_answer": {"article_id": "return-policy", "version": 2, "language": "en"}
            },
        },
        {
            "author": "bot",
            "pushed": False,
            "text": "Did this help?",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
        },
        {"author": "customer", "text": "(clicked) Yes, it helped"},  # in words, not /affirm
        {"author": "customer", "text": "Talk to a person", "message_id": "m-2"},  # as shown
        {"author": "customer", "text": "plain"},
        {
            "author": "system",
            "pushed": True,
            "text": "Rita has joined.",
            "custom": {"handoff": {"status": "assigned", "agent": "Rita"}},
            "message_id": "w-1",
        },
        {"author": "agent", "pushed": True, "name": "Rita", "text": "Hello, Rita here."},
    ]
    assert all(isinstance(m["id"], int) and m["time"].endswith("+00:00") for m in messages)
    everything = json.dumps(messages)
    for internal in ("faq", "0.93", "0.87", "kb_suggestions", "order_status", "kaja@", "action_"):
        assert internal not in everything


async def test_the_newest_rows_of_a_conversation(engine, conversations) -> None:
    for n in range(5):
        await conversations.customer("c1", f"message {n}")
    await conversations.customer("c2", "someone else")
    newest = tracker.read_after(engine, 0, conversation_id="c1", limit=2, newest=True)
    assert [row.event["text"] for row in newest] == ["message 3", "message 4"]
    assert newest[0].id < newest[1].id
