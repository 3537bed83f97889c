"""Changing and deleting what the editor saved: a story is replaced in its place (the rest of the
file as it was), validated like a new one, renamed without clashing; deleted; the developers'
files are never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.editor import editor_files, saving
from bot.editor.saving import Step
from bot.errors import StoryNotFound
from tests.editor.test_saving import names_and_events, read_with_rasa, refused

TRAINING = Path("data/stories/editor.yml")
TESTS = Path("tests/conversations/editor.yml")
BOT = [Step("customer", "bot_challenge"), Step("bot", "utter_iamabot")]
THANKS = [Step("customer", "thank"), Step("bot", "utter_you_are_welcome")]
BYE = [Step("customer", "goodbye"), Step("bot", "utter_goodbye")]


def three_stories(project: Path, kind: str = "training") -> None:
    for name, steps in (("first", BOT), ("second", BOT + THANKS), ("third", BOT + BYE)):
        saving.save(project, name=name, kind=kind, steps=steps)


def test_a_changed_story_replaces_the_old_one_in_its_place(rasa_project: Path) -> None:
    three_stories(rasa_project)
    path = rasa_project / TRAINING
    (path).write_text(path.read_text().replace("- story: second", "# a note\n- story: second"))
    before = path.read_text()
    saving.save(
        rasa_project,
        name="second, with goodbye",
        kind="training",
        steps=BOT + THANKS + BYE,
        replaces="second",
    )
    read = read_with_rasa(path)
    assert [s.block_name for s in read] == ["first", "second, with goodbye", "third"]
    assert names_and_events(read[1])[-1] == ("bot", "utter_goodbye")
    after = path.read_text()
    first_part = before[: before.index("- story: second")]
    assert after.startswith(first_part)  # the header, the first story and the note unchanged
    assert after.endswith(before[before.index("- story: third") :])


def test_a_story_keeps_its_name_when_changed_and_cannot_take_another_ones(
    rasa_project: Path,
) -> None:
    three_stories(rasa_project)
    saving.save(rasa_project, name="second", kind="training", steps=BOT, replaces="second")
    problems = refused(
        rasa_project, name="third", kind="training", steps=BOT + THANKS, replaces="second"
    )
    assert problems == [
        "A story named 'third' is already in data/stories/editor.yml: choose another."
    ]
    problems = refused(
        rasa_project, name="greet", kind="training", steps=BOT + THANKS, replaces="second"
    )
    assert problems == [
        "A story named 'greet' is already in data/rules/basics.yml: choose another."
    ]


def test_a_changed_story_is_validated_like_a_new_one(rasa_project: Path) -> None:
    three_stories(rasa_project)
    before = (rasa_project / TRAINING).read_text()
    problems = refused(
        rasa_project,
        name="second",
        kind="training",
        steps=[Step("customer", "greet"), Step("bot", "utter_goodbye")],
        replaces="second",
    )
    assert any(p.startswith("This story contradicts the rule 'greet'") for p in problems)
    assert (rasa_project / TRAINING).read_text() == before


def test_a_test_story_is_changed_in_its_own_file(rasa_project: Path) -> None:
    three_stories(rasa_project, kind="test")
    changed = [Step("customer", "bot_challenge", "are you a robot?"), BOT[1]]
    saving.save(rasa_project, name="second", kind="test", steps=changed, replaces="second")
    read = read_with_rasa(rasa_project / TESTS)
    assert names_and_events(read[1]) == [
        ("customer", "bot_challenge", "are you a robot?"),
        ("bot", "utter_iamabot"),
    ]
    assert not (rasa_project / TRAINING).exists()


def test_deleting_removes_the_story_and_the_file_with_the_last_one(rasa_project: Path) -> None:
    three_stories(rasa_project)
    saving.delete(rasa_project, name="second", kind="training")
    assert [s.block_name for s in read_with_rasa(rasa_project / TRAINING)] == ["first", "third"]
    saving.delete(rasa_project, name="first", kind="training")
    saving.delete(rasa_project, name="third", kind="training")
    assert not (rasa_project / TRAINING).exists()
    with pytest.raises(StoryNotFound):
        saving.delete(rasa_project, name="third", kind="training")


@pytest.mark.parametrize(
    "name, kind",
    [
        ("greet", "rule"),  # a developer's rule, in data/rules/basics.yml
        ("a question answered and rated", "training"),  # data/stories/conversations.yml
        ("a person asked for at once", "test"),  # tests/conversations/stories.yml
        ("first", "test"),  # in the editor's training stories, not its test stories
        ("nobody", "training"),
    ],
)
def test_only_the_editors_own_stories_can_be_changed_or_deleted(
    rasa_project: Path, name: str, kind: str
) -> None:
    three_stories(rasa_project)
    files = {p: p.read_text() for p in rasa_project.rglob("*.yml")}
    with pytest.raises(StoryNotFound):
        saving.delete(rasa_project, name=name, kind=kind)
    with pytest.raises(StoryNotFound):
        saving.save(rasa_project, name="x", kind=kind, steps=BOT, replaces=name)
    assert {p: p.read_text() for p in rasa_project.rglob("*.yml")} == files


def test_the_files_blocks_are_the_stories_and_the_rest() -> None:
    text = (
        "# header\n"
        'version: "3.1"\n'
        "stories:\n"
        "- story: 'a: quoted name'\n"
        "  steps:\n"
        "  - user: |\n"
        "      - story: not a story, a message\n"
        "    intent: greet\n"
        "\n"
        "# a comment\n"
        "- story: second\n"
        "  steps: []\n"
    )
    found = editor_files.blocks(text)
    assert "".join(b.text for b in found) == text
    assert [b.name for b in found if b.name] == ["a: quoted name", "second"]
    assert editor_files.index_of(found, "second") == 1
    assert editor_files.replaced(text, "nobody", None) is None
    removed = editor_files.replaced(text, "a: quoted name", None)
    assert removed == '# header\nversion: "3.1"\nstories:\n- story: second\n  steps: []\n'
    assert not editor_files.has_stories(editor_files.replaced(removed, "second", None) or "")
