"""The training stories and rules read as conversations, with Rasa's reader, on a copy of the
project's data."""

from __future__ import annotations

from pathlib import Path

from bot.editor import stories


def test_every_story_and_rule_of_the_data_is_a_conversation(rasa_project: Path) -> None:
    found = stories.conversations(rasa_project)
    names = {c["name"]: c for c in found}
    assert names["a question answered and rated"]["kind"] == "story"
    assert names["greet"]["kind"] == "rule"
    assert names["greet"]["file"] == "data/rules/basics.yml"
    rule = names["greet"]["turns"]
    assert [t["kind"] for t in rule] == ["customer", "bot"]  # Rasa's "..." is not a turn


def test_customer_turns_carry_the_intent_in_words_and_bot_turns_what_it_says(
    rasa_project: Path,
) -> None:
    story = next(c for c in stories.conversations(rasa_project) if c["name"] == "greet")
    customer, bot = story["turns"]
    (intent,) = customer["intents"]
    assert intent["name"] == "greet"
    assert intent["examples"] == ["hi", "hello"]  # the first examples of data/nlu/basics.yml
    assert bot["name"] == "utter_greet" and bot["type"] == "response"
    assert bot["text"].startswith("Hi! I'm Amberline's virtual assistant")
    faq = stories.vocabulary(rasa_project).intent("faq")
    assert faq["words"] == "asks a question that an article answers"
    kb = stories.vocabulary(rasa_project).action("action_answer_from_kb")
    assert kb == {
        "name": "action_answer_from_kb",
        "words": "answers from the knowledge base",
        "text": None,
        "type": "action",
    }


def test_forms_and_what_the_bot_remembers_are_turns_too(rasa_project: Path) -> None:
    story = next(
        c for c in stories.conversations(rasa_project) if c["name"] == "an order looked up"
    )
    kinds = [t["kind"] for t in story["turns"]]
    assert kinds[:4] == ["customer", "bot", "form", "slot"]
    assert story["turns"][1]["type"] == "form"
    assert {"kind": "slot", "name": "order_number", "value": "AM-100482", "condition": False} in (
        story["turns"]
    )


def test_search_by_name_intent_action_and_kind(rasa_project: Path) -> None:
    by_name = [c["name"] for c in stories.search(rasa_project, "unhelpful answer")]
    assert by_name == ["an unhelpful answer, then a person"]
    by_intent = stories.search(rasa_project, "request_human")
    assert by_intent and all(
        any(i["name"] == "request_human" for t in c["turns"] for i in t.get("intents", []))
        for c in by_intent
    )
    by_action = stories.search(rasa_project, "action_check_order_status", kind="story")
    assert [c["name"] for c in by_action] == ["an order looked up"]
    assert all(c["kind"] == "rule" for c in stories.search(rasa_project, kind="rule"))
    assert stories.search(rasa_project, "no such thing anywhere") == []


def test_the_vocabulary_lists_the_domain_for_choosing(rasa_project: Path) -> None:
    words = stories.vocabulary(rasa_project).as_json()
    intents = [i["name"] for i in words["intents"]]
    actions = [a["name"] for a in words["actions"]]
    assert "request_human" in intents and "nlu_fallback" not in intents
    assert "utter_greet" in actions and "action_request_human" in actions
    assert "order_status_form" in actions and "action_listen" not in actions
    assert words["forms"] == ["order_status_form"]
