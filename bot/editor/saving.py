"""Saving a corrected conversation as a training story, a rule or a test story; changing and
deleting what the editor saved.

The editor sends the turns as corrected (an intent per customer turn, an action per bot turn,
turns dropped). They become Rasa events, and Rasa's own writer (``YAMLStoryWriter``) writes the
YAML, so the format is Rasa's (a rule: its condition, ``conversation_start`` and
``wait_for_user_input`` only when the editor asked for them). Before the file changes:

1. every intent, action, slot and form must be in the domain (``bot.editor.steps``);
2. the new file is read back by Rasa's reader and must say exactly what the editor meant (text
   that Rasa would read differently, like ``[words](entity)`` in a test story, is refused);
3. Rasa's validation runs in this process, as ``rasa data validate`` does, on a temporary copy of
   the project's data with the story added: unknown intents and actions, utterances without a
   response, forms, story structure conflicts, and the contradictions and rule restrictions
   that Rasa's RulePolicy would refuse at training. Problems of the new story are refused with
   plain words (``StoryInvalid``); problems the data had before are not the editor's.

One file per kind is the editor's (``data/stories/editor.yml``, ``data/rules/editor.yml``,
``tests/conversations/editor.yml``): stories are appended to it, replaced in place or removed
(``bot.editor.editor_files``) under a lock (threads and processes) and the file is replaced
atomically, so two editors saving at once both land, in turn, and nothing is torn. Stories in
the other files are the developers' and are never changed here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from bot.editor import editor_files, entities, stories
from bot.editor.steps import ANYWHERE, RuleShape, Step, checked
from bot.errors import StoryInvalid, StoryNotFound

logger = logging.getLogger(__name__)

HEADERS = {
    "training": "# Training stories saved in the story editor (/editor/stories). Appended by the\n"
    "# editor under a lock; edit with care, `make validate` checks the file.\n",
    "test": "# Test stories saved in the story editor (/editor/stories): `make test-stories` runs\n"
    "# them with `rasa test core`.\n",
    "rule": "# Rules saved in the story editor (/editor/stories): what the bot always does after\n"
    "# what the customer says. Edit with care, `make validate` checks the file.\n",
}
_thread_lock = threading.Lock()


def target_of(kind: str) -> Path:
    """The editor's file of ``kind`` (``training``, ``rule`` or ``test``)."""
    return {"test": stories.EDITOR_TESTS, "rule": stories.EDITOR_RULES}.get(
        kind, stories.EDITOR_STORIES
    )


def events_of(
    steps: Sequence[Step], kind: str, shape: RuleShape = ANYWHERE
) -> Tuple[List[Any], Set[int]]:
    """The steps as Rasa events, and which of them are the rule's condition. A rule that can
    apply anywhere starts with Rasa's ``...`` (``RULE_SNIPPET_ACTION_NAME``); one after which
    the bot goes on without waiting ends with it."""
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered

    events: List[Any] = []
    conditions: Set[int] = set()
    snippet_added = kind != "rule" or shape.conversation_start
    for step in steps:
        if not step.condition and not snippet_added:
            events.append(ActionExecuted(RULE_SNIPPET_ACTION_NAME))
            snippet_added = True
        if step.condition:
            conditions.add(len(events))
        if step.kind == "customer":
            events.append(UserUttered(step.text, {"name": step.name}, step.entities))
        elif step.kind == "bot":
            events.append(ActionExecuted(step.name))
        elif step.kind == "slot":
            events.append(SlotSet(step.name, step.value))
        else:
            events.append(ActiveLoop(step.name))
    if kind == "rule" and not shape.wait_for_user_input:
        events.append(ActionExecuted(RULE_SNIPPET_ACTION_NAME))
    return events, conditions


def story_yaml(
    name: str, steps: Sequence[Step], kind: str, shape: RuleShape = ANYWHERE, *, appendable: bool
) -> str:
    """The story or rule as Rasa's writer writes it: a whole file, or the list item to append."""
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import RuleStep, StoryStep
    from rasa.shared.utils.io import write_yaml

    events, conditions = events_of(steps, kind, shape)
    step = (
        RuleStep(block_name=name, events=events, condition_events_indices=conditions)
        if kind == "rule"
        else StoryStep(block_name=name, events=events)
    )
    writer = YAMLStoryWriter()
    if not appendable:
        return writer.dumps([step], is_test_story=kind == "test")
    # Rasa's writer leaves the file's keys out of stories to append, not out of rules.
    written = writer.stories_to_yaml([step], is_test_story=kind == "test")
    stream = io.StringIO()
    write_yaml(written.get("rules") or written.get("stories"), stream, True)
    return stream.getvalue()


def new_file_text(
    current: Optional[str], name: str, steps: Sequence[Step], kind: str, shape: RuleShape
) -> str:
    """The editor's file with the story appended (a new file when there is none yet)."""
    if current is None or not editor_files.has_stories(current):
        return HEADERS[kind] + story_yaml(name, steps, kind, shape, appendable=False)
    return current.rstrip("\n") + "\n\n" + story_yaml(name, steps, kind, shape, appendable=True)


def read_back(text: str, domain: Any, source: str) -> List[Any]:
    """The file's stories as Rasa reads them; StoryInvalid when Rasa cannot read it."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.exceptions import RasaException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return YAMLStoryReader(domain, source_name=source).read_from_string(text)
    except (RasaException, ValueError) as error:
        raise StoryInvalid([f"Rasa cannot read the story as written ({error})."]) from error


def same_as_meant(
    read: List[Any], count: int, index: int, name: str, steps: Sequence[Step]
) -> None:
    """StoryInvalid unless the file read back has ``count`` stories and the one at ``index`` is
    ours, as meant (its turns, intents, messages, entities, actions and conditions)."""
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered

    if len(read) != count or read[index].block_name != name:
        raise StoryInvalid(["The editor's story file does not read as expected; ask an operator."])
    conditions = getattr(read[index], "condition_events_indices", set()) or set()
    got = [
        (i in conditions, e)
        for i, e in enumerate(read[index].events)
        if not isinstance(e, list)
        and not (isinstance(e, ActionExecuted) and e.action_name == RULE_SNIPPET_ACTION_NAME)
    ]
    problems = []
    if len(got) != len(steps):
        problems.append("Rasa reads the story with a different number of turns.")
    for number, (step, (condition, event)) in enumerate(zip(steps, got, strict=False), start=1):
        if step.condition != condition:
            problems.append(f"Turn {number}: Rasa reads the rule's condition differently.")
        if step.kind == "customer" and isinstance(event, UserUttered):
            if event.intent_name != step.name or (step.text or None) != (event.text or None):
                problems.append(
                    f"Turn {number}: Rasa would read the customer's message differently "
                    f"({(event.text or '')[:80]!r}); text like [words](name) is Rasa's entity "
                    "mark-up: change or drop the message."
                )
            elif entities.read_as(event.entities) != entities.read_as(step.entities):
                problems.append(f"Turn {number}: Rasa reads the entities differently.")
        elif step.kind == "bot" and isinstance(event, ActionExecuted):
            if event.action_name != step.name:
                problems.append(f"Turn {number}: Rasa reads a different action.")
        elif not isinstance(event, (SlotSet, ActiveLoop)) or step.kind not in ("slot", "form"):
            problems.append(f"Turn {number}: Rasa reads a different kind of turn.")
    if problems:
        raise StoryInvalid(problems)


@contextlib.contextmanager
def locked(project: Path) -> Iterator[None]:
    """The editor's files of ``project`` to one saver at a time: threads of this process, and
    other processes (an advisory lock on a file in the temporary folder)."""
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"amberline-stories-{digest}.lock"
    with _thread_lock, open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a reader sees the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def save(
    project: Path,
    *,
    name: str,
    kind: str,
    steps: Sequence[Step],
    shape: RuleShape = ANYWHERE,
    replaces: Optional[str] = None,
) -> Dict[str, Any]:
    """Append the story to the editor's file of its kind (``training``, ``rule`` or ``test``)
    once Rasa accepts it, or put it in the place of the story named ``replaces`` in that file.
    Returns the file, the story's YAML and whether the model needs retraining.
    Raises StoryInvalid with the problems in plain words, StoryNotFound when ``replaces`` is not
    in the editor's file; the file is then unchanged."""
    from bot.editor import validation
    from bot.kb import training

    words = stories.vocabulary(project)
    name, steps = checked(name, steps, words, kind)
    target = project / target_of(kind)
    item = story_yaml(name, steps, kind, shape, appendable=True)
    with locked(project):
        current = target.read_text(encoding="utf-8") if target.exists() else None
        before = read_back(current, words.domain, str(target)) if current else []
        used = stories.names_in_use(project)
        if replaces is not None:
            index = editor_files.index_of(editor_files.blocks(current or ""), replaces)
            if index < 0 or index >= len(before) or before[index].block_name != replaces:
                raise StoryNotFound(f"no story {replaces!r} in {target_of(kind)}")
            used.pop(replaces.casefold(), None)
            text = editor_files.replaced(current or "", replaces, item) or ""
            count = len(before)
        else:
            index, count = len(before), len(before) + 1
            text = new_file_text(current, name, steps, kind, shape)
        if name.casefold() in used:
            raise StoryInvalid(
                [f"A story named '{name}' is already in {used[name.casefold()]}: choose another."]
            )
        read = read_back(text, words.domain, str(target))
        same_as_meant(read, count, index, name, steps)
        if kind == "test":
            validation.check_test(read[index], words)
        else:
            validation.check_training(project, target, text, name, words)
        write_atomically(target, text)
    logger.info("%s %s in %s", kind, "replaced" if replaces else "saved", target_of(kind))
    return {
        "name": name,
        "kind": kind,
        "file": str(target_of(kind)),
        "yaml": item,
        "needs_retraining": training.model_is_stale(project) if kind != "test" else False,
    }


def delete(project: Path, *, name: str, kind: str) -> Dict[str, Any]:
    """Remove the story ``name`` from the editor's file of ``kind`` (the file goes when it has
    no story left). Raises StoryNotFound when it is not there."""
    from bot.kb import training

    words = stories.vocabulary(project)
    target = project / target_of(kind)
    with locked(project):
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        text = editor_files.replaced(current, name, None)
        if text is None:
            raise StoryNotFound(f"no story {name!r} in {target_of(kind)}")
        if editor_files.has_stories(text):
            before = len(read_back(current, words.domain, str(target)))
            if len(read_back(text, words.domain, str(target))) != before - 1:
                raise StoryInvalid(["The editor's story file does not read as expected."])
            write_atomically(target, text)
        else:
            target.unlink()
    logger.info("%s deleted from %s", kind, target_of(kind))
    return {
        "name": name,
        "kind": kind,
        "file": str(target_of(kind)),
        "needs_retraining": training.model_is_stale(project) if kind != "test" else False,
    }


def copy_project(project: Path, into: Path) -> None:
    """What Rasa's story validation reads: the domain, the config and the stories and rules."""
    for name in ("domain.yml", "config.yml"):
        if (project / name).exists():
            shutil.copy2(project / name, into / name)
    for folder in stories.STORY_FOLDERS:
        if (project / folder).is_dir():
            shutil.copytree(project / folder, into / folder)
