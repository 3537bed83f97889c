"""Saving corrected conversations as training and test stories: Rasa's writer, read back by
Rasa's reader, refused with plain words by Rasa's validation, hostile text, two savers at once,
and the needs-retraining flag. Each test works on its own copy of the project's data."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List

import pytest
import yaml

from bot.editor import saving
from bot.editor.saving import Step
from bot.editor.steps import clean_line, clean_message
from bot.errors import StoryInvalid
from bot.kb import training

TRAINING = Path("data/stories/editor.yml")
TESTS = Path("tests/conversations/editor.yml")


def read_with_rasa(path: Path) -> List:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.load(str(path.parents[2] / "domain.yml"))
    return YAMLStoryReader(domain).read_from_file(path)


def names_and_events(step) -> List[tuple]:
    from rasa.shared.core.events import ActionExecuted, UserUttered

    out = []
    for event in step.events:
        if isinstance(event, UserUttered):
            out.append(("customer", event.intent_name, event.text))
        elif isinstance(event, ActionExecuted):
            out.append(("bot", event.action_name))
    return out


def refused(project: Path, **story) -> List[str]:
    with pytest.raises(StoryInvalid) as caught:
        saving.save(project, **story)
    return caught.value.problems


def test_a_training_story_is_written_by_rasas_writer_and_read_back_by_its_reader(
    rasa_project: Path,
) -> None:
    steps = [
        Step("customer", "faq"),
        Step("bot", "action_answer_from_kb"),
        Step("customer", "deny"),
        Step("bot", "action_record_feedback"),
        Step("customer", "thank"),
        Step("bot", "utter_you_are_welcome"),
    ]
    result = saving.save(
        rasa_project, name="answer did not help, thanks", kind="training", steps=steps
    )
    assert result["file"] == "data/stories/editor.yml"
    assert result["yaml"].startswith("- story: answer did not help, thanks\n  steps:\n")
    (story,) = read_with_rasa(rasa_project / TRAINING)
    assert story.block_name == "answer did not help, thanks"
    assert names_and_events(story) == [
        ("customer", "faq", None),
        ("bot", "action_answer_from_kb"),
        ("customer", "deny", None),
        ("bot", "action_record_feedback"),
        ("customer", "thank", None),
        ("bot", "utter_you_are_welcome"),
    ]
    saving.save(
        rasa_project,
        name="a bot question",
        kind="training",
        steps=[
            Step("customer", "bot_challenge"),
            Step("bot", "utter_iamabot"),
            Step("customer", "request_human"),
            Step("bot", "action_request_human"),
        ],
    )
    text = (rasa_project / TRAINING).read_text()
    assert text.startswith("# Training stories saved in the story editor")
    assert [s.block_name for s in read_with_rasa(rasa_project / TRAINING)] == [
        "answer did not help, thanks",
        "a bot question",
    ]
    assert yaml.safe_load(text)["version"] == "3.1"


def test_a_test_story_keeps_what_the_customer_wrote_masked(rasa_project: Path) -> None:
    steps = [
        Step("customer", "order_status", "where is AM-100482? mail me at ieva@example.com"),
        Step("bot", "order_status_form"),
        Step("form", "order_status_form"),
        Step("slot", "requested_slot", value="order_email"),
    ]
    result = saving.save(rasa_project, name="order asked for", kind="test", steps=steps)
    assert result == {
        "name": "order asked for",
        "kind": "test",
        "file": "tests/conversations/editor.yml",
        "yaml": result["yaml"],
        "needs_retraining": False,
    }
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    assert YAMLStoryReader.is_stories_file(rasa_project / TESTS)
    (story,) = read_with_rasa(rasa_project / TESTS)
    assert names_and_events(story) == [
        ("customer", "order_status", "where is [order number]? mail me at [email]"),
        ("bot", "order_status_form"),
    ]
    assert "ieva@example.com" not in (rasa_project / TESTS).read_text()


def test_a_contradiction_is_refused_in_plain_words_and_nothing_is_written(
    rasa_project: Path,
) -> None:
    problems = refused(
        rasa_project,
        name="greeting answered with goodbye",
        kind="training",
        steps=[Step("customer", "greet"), Step("bot", "utter_goodbye")],
    )
    assert problems == [
        "This story contradicts the story 'a question answered and rated' after the customer "
        "says “hi” (greet): one says the bot then answers “Goodbye, and thank you for choosing "
        "Amberline!” (utter_goodbye), the other that it answers “Hi! I'm Amberline's virtual "
        "assistant. Ask me about orders,…” (utter_greet). Choose what the bot does next so "
        "that they agree, or make the turns before it differ.",
        # What Rasa's RulePolicy would refuse at training: the rule 'greet' always answers.
        "This story contradicts the rule 'greet': here the bot then answers “Goodbye, and thank "
        "you for choosing Amberline!” (utter_goodbye), where the rule says it answers “Hi! I'm "
        "Amberline's virtual assistant. Ask me about orders,…” (utter_greet). A rule always "
        "applies: choose what the bot does next so that they agree.",
    ]
    assert not (rasa_project / TRAINING).exists()


def test_a_contradiction_with_a_story_the_editor_saved_before_is_found_too(
    rasa_project: Path,
) -> None:
    first = [
        Step("customer", "thank"),
        Step("bot", "utter_you_are_welcome"),
        Step("customer", "goodbye"),
        Step("bot", "utter_goodbye"),
    ]
    saving.save(rasa_project, name="thanks, bye", kind="training", steps=first)
    before = (rasa_project / TRAINING).read_text()
    problems = refused(
        rasa_project,
        name="thanks, bye, a person",
        kind="training",
        steps=[*first[:3], Step("bot", "action_request_human")],
    )
    assert len(problems) == 2
    assert problems[0].startswith(
        "This story contradicts the story 'thanks, bye' after the customer says"
    )
    assert "hands the conversation to a person (action_request_human)" in problems[0]
    assert problems[1].startswith("This story contradicts the rule 'say goodbye'")
    assert (rasa_project / TRAINING).read_text() == before


def test_a_story_that_breaks_a_rule_is_refused_as_training_would(rasa_project: Path) -> None:
    """Rasa's RulePolicy refuses, at training, a story that contradicts a rule: refused here
    already (``rasa data validate`` alone would let it through)."""
    problems = refused(
        rasa_project,
        name="out of scope answered with the canned reply",
        kind="training",
        steps=[Step("customer", "out_of_scope"), Step("bot", "utter_out_of_scope")],
    )
    assert problems == [
        "This story contradicts the rule 'out of scope, unless a new article covers it': here "
        "the bot then answers “I can only help with Amberline orders, delivery, returns, p…” "
        "(utter_out_of_scope), where the rule says otherwise. A rule always applies: choose "
        "what the bot does next so that they agree."
    ]


@pytest.mark.parametrize(
    "steps, problem",
    [
        (
            [Step("customer", "greetz"), Step("bot", "utter_greet")],
            "Turn 1: choose what the customer meant; 'greetz' is not an intent the assistant knows.",
        ),
        (
            [Step("customer", "greet"), Step("bot", "utter_hello")],
            "Turn 2: choose what the bot does next; 'utter_hello' is not a response or action the "
            "assistant has.",
        ),
        (
            [Step("customer", "greet"), Step("bot", None)],
            "Turn 2: choose what the bot does next; '' is not a response or action the assistant "
            "has.",
        ),
        (
            [Step("bot", "utter_greet")],
            "Keep at least one customer turn: a story starts from what they say.",
        ),
        ([], "The story has no turns left: keep at least one customer turn."),
        (
            [Step("customer", "inform", entities=[{"entity": "shoe_size", "value": "42"}])],
            "Turn 1: 'shoe_size' is not an entity the assistant knows.",
        ),
        (
            [Step("customer", "greet"), Step("slot", "favourite_colour", value="red")],
            "Turn 2: 'favourite_colour' is not something the bot remembers.",
        ),
        (
            [Step("customer", "greet"), Step("form", "survey_form")],
            "Turn 2: 'survey_form' is not a form the assistant has.",
        ),
        (
            [Step("customer", "greet"), Step("speech", "x")],
            "Turn 2: a turn is the customer's, the bot's, a slot or a form.",
        ),
    ],
)
def test_unknown_intents_actions_and_empty_stories_are_refused(
    rasa_project: Path, steps: List[Step], problem: str
) -> None:
    for kind in ("training", "test"):
        assert problem in refused(rasa_project, name="x", kind=kind, steps=steps)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "Give the story a name."),
        ("   \n\t ", "Give the story a name."),
        ("x" * 201, "The name is too long: at most 200 characters."),
        ("greet", "A story named 'greet' is already in data/rules/basics.yml: choose another."),
        (
            "A PERSON ASKED FOR AT ONCE",
            "A story named 'A PERSON ASKED FOR AT ONCE' is already in tests/conversations/"
            "stories.yml: choose another.",
        ),
        ("half \ud800 a character", "A name or message is not valid text (half a character?)."),
    ],
)
def test_bad_names_are_refused(rasa_project: Path, name: str, problem: str) -> None:
    steps = [Step("customer", "bot_challenge"), Step("bot", "utter_iamabot")]
    assert refused(rasa_project, name=name, kind="test", steps=steps) == [problem]


HOSTILE = [
    'he said "- intent: greet" and left',
    "- intent: greet\n- action: utter_goodbye",
    "stories:\n- story: injected\n  steps: []",
    "key: value # not a comment",
    "'single' and \"double\" quotes, back\\slash, {braces}, [brackets], &anchor *alias !tag",
    "--- \n...\n%YAML 1.1",
    "line one\r\nline two\u2028line three",
    "emoji 😀, right-to-left שלום, zero\u200bwidth, combining e\u0301",
    "<script>alert(1)</script> '; DROP TABLE events; --",
    "   leading and trailing spaces   ",
    "|\n  >-\n    block indicators",
    "tab\there and a NUL\x00 and a bell\x07",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_becomes_valid_yaml_that_rasa_reads_back_as_written(
    rasa_project: Path, text: str
) -> None:
    steps = [Step("customer", "bot_challenge", text), Step("bot", "utter_iamabot")]
    name = f"hostile: {text}"
    saved = saving.save(rasa_project, name=name, kind="test", steps=steps)
    yaml.safe_load((rasa_project / TESTS).read_text())  # valid YAML
    (story,) = read_with_rasa(rasa_project / TESTS)
    assert story.block_name == saved["name"] == clean_line(name)
    ((_, intent, written), action) = names_and_events(story)
    assert (intent, action) == ("bot_challenge", ("bot", "utter_iamabot"))
    assert written == clean_message(text)
    assert "\x00" not in written and "\u2028" not in written


def test_text_rasa_would_read_as_entity_markup_is_refused(rasa_project: Path) -> None:
    steps = [Step("customer", "inform", "my email is [x](email)"), Step("bot", "utter_greet")]
    problems = refused(rasa_project, name="markup", kind="test", steps=steps)
    assert problems == [
        "Turn 1: Rasa would read the customer's message differently ('my email is x'); text "
        "like [words](name) is Rasa's entity mark-up: change or drop the message."
    ]
    assert not (rasa_project / TESTS).exists()


def test_two_editors_saving_at_once_both_land_and_the_file_stays_valid(
    rasa_project: Path,
) -> None:
    errors: List[BaseException] = []

    def save(number: int) -> None:
        try:
            saving.save(
                rasa_project,
                name=f"parallel {number}",
                kind="training",
                steps=[
                    Step("customer", "bot_challenge"),
                    Step("bot", "utter_iamabot"),
                    Step("customer", "thank"),
                    Step("bot", "utter_you_are_welcome"),
                ],
            )
        except StoryInvalid as error:
            errors.append(error)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = sorted(s.block_name for s in read_with_rasa(rasa_project / TRAINING))
    assert names == [f"parallel {n}" for n in range(6)]
    leftovers = [p.name for p in (rasa_project / TRAINING).parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_a_training_story_needs_retraining_a_test_story_does_not(rasa_project: Path) -> None:
    models = rasa_project / "models"
    models.mkdir()
    (models / f"amberline-{training.training_fingerprint(rasa_project)}.tar.gz").write_bytes(b"")
    assert not training.model_is_stale(rasa_project)
    steps = [Step("customer", "bot_challenge"), Step("bot", "utter_iamabot")]
    assert not saving.save(rasa_project, name="a test", kind="test", steps=steps)[
        "needs_retraining"
    ]
    assert not training.model_is_stale(rasa_project)
    steps = [*steps, Step("customer", "goodbye"), Step("bot", "utter_goodbye")]
    assert saving.save(rasa_project, name="a lesson", kind="training", steps=steps)[
        "needs_retraining"
    ]
    assert training.model_is_stale(rasa_project)


SAVER = """
import sys
from pathlib import Path
from bot.editor import saving
from bot.editor.steps import clean_line, clean_message
project, tag = Path(sys.argv[1]), sys.argv[2]
for number in range(3):
    saving.save(project, name=f"{tag} {number}", kind="training", steps=[
        saving.Step("customer", "bot_challenge"), saving.Step("bot", "utter_iamabot"),
        saving.Step("customer", "goodbye"), saving.Step("bot", "utter_goodbye")])
"""


def test_two_web_processes_saving_at_once_both_land(rasa_project: Path) -> None:
    import os
    import subprocess
    import sys

    from bot.settings import PROJECT_ROOT

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(rasa_project), tag],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for tag in ("first", "second")
    ]
    for saver in savers:
        output, _ = saver.communicate(timeout=300)
        assert saver.returncode == 0, output.decode()[-2000:]
    names = sorted(s.block_name for s in read_with_rasa(rasa_project / TRAINING))
    assert names == [f"{tag} {n}" for tag in ("first", "second") for n in range(3)]
