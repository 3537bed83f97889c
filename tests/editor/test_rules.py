"""Saving rules: Rasa's rule syntax (a condition, ``conversation_start`` and
``wait_for_user_input`` only when asked for), read back by Rasa's reader, refused in plain words
for what Rasa refuses at training (two customer turns, a contradiction with another rule)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.editor import saving, stories
from bot.editor.saving import RuleShape, Step
from tests.editor.test_saving import names_and_events, read_with_rasa, refused

RULES = Path("data/rules/editor.yml")


def test_the_common_rule_is_an_intent_then_actions_and_rasa_reads_it_back(
    rasa_project: Path,
) -> None:
    from rasa.shared.core.training_data.structures import RuleStep

    steps = [Step("customer", "bot_challenge"), Step("bot", "utter_iamabot")]
    result = saving.save(rasa_project, name="a bot? say so", kind="rule", steps=steps)
    assert result["file"] == "data/rules/editor.yml" and result["needs_retraining"]
    text = (rasa_project / RULES).read_text()
    assert text.startswith("# Rules saved in the story editor")
    data = yaml.safe_load(text)
    assert data["rules"] == [
        {
            "rule": "a bot? say so",
            "steps": [{"intent": "bot_challenge"}, {"action": "utter_iamabot"}],
        }
    ]  # no condition, conversation_start or wait_for_user_input: they were not asked for
    (rule,) = read_with_rasa(rasa_project / RULES)
    assert isinstance(rule, RuleStep)
    assert names_and_events(rule) == [
        ("bot", "..."),  # Rasa's mark of a rule that applies whatever came before
        ("customer", "bot_challenge", None),
        ("bot", "utter_iamabot"),
    ]

    saving.save(
        rasa_project,
        name="thanks, and the bot goes on",
        kind="rule",
        steps=[Step("customer", "thank"), Step("bot", "utter_you_are_welcome")],
    )
    assert [s.block_name for s in read_with_rasa(rasa_project / RULES)] == [
        "a bot? say so",
        "thanks, and the bot goes on",
    ]
    listed = {c["name"]: c for c in stories.search(rasa_project, kind="rule")}
    assert listed["a bot? say so"]["editable"] is True
    assert listed["greet"]["editable"] is False
    assert (listed["a bot? say so"]["conversation_start"], listed["greet"]["file"]) == (
        False,
        "data/rules/basics.yml",
    )


def test_a_condition_and_the_rule_options_are_written_only_when_asked_for(
    rasa_project: Path,
) -> None:
    steps = [
        Step("form", "order_status_form", condition=True),
        Step("customer", "bot_challenge"),
        Step("bot", "utter_iamabot"),
        Step("bot", "order_status_form"),
        Step("form", "order_status_form"),
    ]
    saving.save(
        rasa_project,
        name="a bot question in the order form",
        kind="rule",
        steps=steps,
        shape=RuleShape(wait_for_user_input=False),
    )
    saving.save(
        rasa_project,
        name="a bot question first of all",
        kind="rule",
        steps=[Step("customer", "bot_challenge"), Step("bot", "utter_iamabot")],
        shape=RuleShape(conversation_start=True),
    )
    first, second = yaml.safe_load((rasa_project / RULES).read_text())["rules"]
    assert first["condition"] == [{"active_loop": "order_status_form"}]
    assert first["wait_for_user_input"] is False and "conversation_start" not in first
    assert second["conversation_start"] is True and "wait_for_user_input" not in second
    shown = {c["name"]: c for c in stories.search(rasa_project, "a bot question", kind="rule")}
    one = shown["a bot question in the order form"]
    assert [t["condition"] for t in one["turns"]] == [True, False, False, False, False]
    assert (one["conversation_start"], one["wait_for_user_input"]) == (False, False)
    two = shown["a bot question first of all"]
    assert (two["conversation_start"], two["wait_for_user_input"]) == (True, True)


def test_a_rule_has_one_customer_turn_and_conditions_only_at_its_start(
    rasa_project: Path,
) -> None:
    problems = refused(
        rasa_project,
        name="two turns",
        kind="rule",
        steps=[
            Step("customer", "bot_challenge"),
            Step("bot", "utter_iamabot"),
            Step("customer", "thank"),
            Step("bot", "utter_you_are_welcome"),
            Step("slot", "requested_slot", value=None, condition=True),
        ],
    )
    assert problems == [
        "A rule has one customer turn (Rasa's rules are short: what the customer says, then "
        "what the bot always does). Drop the other customer turns, or save a story.",
        "Turn 5: only what the bot remembers or a running form, at the start of the rule, can "
        "be its condition.",
    ]
    assert not (rasa_project / RULES).exists()


def test_a_rule_contradicting_another_is_refused_in_plain_words(rasa_project: Path) -> None:
    problems = refused(
        rasa_project,
        name="hello answered with goodbye",
        kind="rule",
        steps=[Step("customer", "greet"), Step("bot", "utter_goodbye")],
    )
    assert problems == [
        "This rule contradicts the rule 'greet': here the bot then answers “Goodbye, and thank "
        "you for choosing Amberline!” (utter_goodbye), where the rule says otherwise. A rule "
        "always applies: choose what the bot does next so that they agree."
    ]
    assert not (rasa_project / RULES).exists()


def test_unknown_names_in_a_rule_are_refused_as_in_a_story(rasa_project: Path) -> None:
    problems = refused(
        rasa_project,
        name="x",
        kind="rule",
        steps=[Step("customer", "greetz"), Step("bot", "utter_hello")],
    )
    assert problems == [
        "Turn 1: choose what the customer meant; 'greetz' is not an intent the assistant knows.",
        "Turn 2: choose what the bot does next; 'utter_hello' is not a response or action the "
        "assistant has.",
    ]
