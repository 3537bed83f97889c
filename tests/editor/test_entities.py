"""Entities of a real conversation's customer turn kept in what is saved: marked in a test
story's message (``[AM-100000](order_number)``), listed under the intent in a training story,
personal data as an example of its kind; read back by Rasa's reader as they were meant."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.editor import entities, saving, stories
from bot.editor.saving import Step
from tests.editor.test_saving import read_with_rasa, refused

ORDER = [
    Step(
        "customer",
        "order_status",
        "where is AM-100482? mail me at ieva@example.com",
        entities=[
            {"entity": "order_number", "value": "AM-100482"},
            {"entity": "email", "value": "ieva@example.com"},
        ],
    ),
    Step("bot", "order_status_form"),
    Step("form", "order_status_form"),
]


def entities_read(path: Path) -> list:
    from rasa.shared.core.events import UserUttered

    (story,) = read_with_rasa(path)
    said = [e for e in story.events if isinstance(e, UserUttered)]
    return [(u.text, [(e["entity"], e["value"]) for e in u.entities]) for u in said]


def test_a_test_story_marks_the_entities_in_the_message(rasa_project: Path) -> None:
    result = saving.save(rasa_project, name="order, test", kind="test", steps=ORDER)
    path = rasa_project / "tests/conversations/editor.yml"
    written = yaml.safe_load(path.read_text())["stories"][0]["steps"][0]
    assert written["user"] == (
        "where is [AM-100000](order_number)? mail me at [customer@example.com](email)"
    )
    assert entities_read(path) == [
        (
            "where is AM-100000? mail me at customer@example.com",
            [("order_number", "AM-100000"), ("email", "customer@example.com")],
        )
    ]
    assert "AM-100482" not in path.read_text() and "ieva" not in path.read_text()
    assert "[AM-100000](order_number)" in result["yaml"]


def test_a_training_story_lists_the_entities_under_the_intent(rasa_project: Path) -> None:
    saving.save(rasa_project, name="order, training", kind="training", steps=ORDER)
    path = rasa_project / "data/stories/editor.yml"
    written = yaml.safe_load(path.read_text())["stories"][0]["steps"][0]
    assert written == {
        "intent": "order_status",
        "entities": [{"order_number": "AM-100000"}, {"email": "customer@example.com"}],
    }
    assert entities_read(path) == [
        (None, [("order_number", "AM-100000"), ("email", "customer@example.com")])
    ]


def test_entities_survive_reading_the_story_and_saving_it_back(rasa_project: Path) -> None:
    """What the page sends when an editor changes a saved test story (the turns as listed)."""
    saving.save(rasa_project, name="order, test", kind="test", steps=ORDER)
    (shown,) = [c for c in stories.search(rasa_project, kind="test") if c["editable"]]
    customer = shown["turns"][0]
    assert customer["entities"] == [
        {"entity": "order_number", "value": "AM-100000"},
        {"entity": "email", "value": "customer@example.com"},
    ]
    again = [Step("customer", "order_status", customer["text"], customer["entities"]), *ORDER[1:]]
    path = rasa_project / "tests/conversations/editor.yml"
    before = path.read_text()
    saving.save(rasa_project, name="order, test", kind="test", steps=again, replaces="order, test")
    assert path.read_text() == before


def test_an_entity_not_in_the_message_is_refused_in_words(rasa_project: Path) -> None:
    steps = [
        Step(
            "customer", "inform", "it is the blue one", [{"entity": "order_number", "value": "x1"}]
        )
    ]
    assert refused(rasa_project, name="x", kind="test", steps=steps) == [
        "Turn 1: the message does not contain the order_number 'x1', so a test story cannot "
        "mark it: drop that entity or the turn."
    ]


def test_a_button_payload_keeps_its_entities_in_the_payload() -> None:
    text, found, problems = entities.marked(
        '/inform{"order_number": "AM-100482"}',
        [{"entity": "order_number", "value": "AM-100482"}],
        "Turn 1",
    )
    assert text == '/inform{"order_number": "AM-100000"}'
    assert found == [{"entity": "order_number", "value": "AM-100000"}] and problems == []
