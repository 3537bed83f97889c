"""Reading Rasa's tracker store without Rasa: the rows as Rasa's own store writes them, as the
agent's transcript lines and as the customer's chat messages."""

from __future__ import annotations

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
