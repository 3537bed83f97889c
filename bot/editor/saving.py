"""Saving a corrected conversation as a training story or a test story.

The editor sends the turns as corrected (an intent per customer turn, an action per bot turn,
turns dropped). They become Rasa events, and Rasa's own writer (``YAMLStoryWriter``) writes the
YAML, so the format is Rasa's. Before the file changes:

1. every intent, action, slot and form must be in the domain;
2. the new file is read back by Rasa's reader and must say exactly what the editor meant (text
   that Rasa would read differently, like ``[words](entity)`` in a test story, is refused);
3. Rasa's validation runs in this process, as ``rasa data validate`` does, on a temporary copy of
   the project's data with the story added: unknown intents and actions, utterances without a
   response, forms, and story structure conflicts. Problems of the new story are refused with
   plain words (``StoryInvalid``); problems the data had before are not the editor's.

One file per kind is the editor's (``data/stories/editor.yml``, ``tests/conversations/
editor.yml``): stories are appended to it under a lock (threads and processes) and the file is
replaced atomically, so two editors saving at once both land, in turn, and nothing is torn.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import unicodedata
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from bot.editor import stories
from bot.errors import StoryInvalid
from bot.kb.text import clean_text
from bot.privacy import mask, mask_value

logger = logging.getLogger(__name__)

MAX_NAME = 200
MAX_TEXT = 2000
MAX_STEPS = 200
HEADERS = {
    "training": "# Training stories saved in the story editor (/editor/stories). Appended by the\n"
    "# editor under a lock; edit with care, `make validate` checks the file.\n",
    "test": "# Test stories saved in the story editor (/editor/stories): `make test-stories` runs\n"
    "# them with `rasa test core`.\n",
}
# Characters YAML cannot keep in a block scalar, or that would read as line breaks.
_LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n", "\x85": "\n", "\r\n": "\n", "\r": "\n"}
_thread_lock = threading.Lock()


@dataclasses.dataclass
class Step:
    """One turn of the story to save: ``customer`` (intent, text, entities), ``bot`` (action),
    ``slot`` (name, value) or ``form`` (name, None when the form ends)."""

    kind: str
    name: Optional[str] = None
    text: Optional[str] = None
    entities: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    value: Any = None


def target_of(kind: str) -> Path:
    return stories.EDITOR_TESTS if kind == "test" else stories.EDITOR_STORIES


def is_text(value: str) -> bool:
    """False for text that UTF-8 cannot hold (a lone half of a surrogate pair)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_line(text: str) -> str:
    """One line: control characters and line breaks out, spaces collapsed, NFC."""
    text = unicodedata.normalize("NFC", text)
    for breaking in _LINE_BREAKS:
        text = text.replace(breaking, " ")
    return " ".join(clean_text(text).split())


def clean_message(text: Optional[str]) -> Optional[str]:
    """A customer's message as a test story keeps it: masked, NFC, control characters out,
    line breaks as ``\\n``, trailing spaces off each line; None when nothing is left."""
    if text is None:
        return None
    text = unicodedata.normalize("NFC", text)
    for breaking, plain in _LINE_BREAKS.items():
        text = text.replace(breaking, plain)
    lines = [line.rstrip() for line in clean_text(text).split("\n")]
    text = mask("\n".join(line for line in lines if line.strip()).strip())
    return text or None


def checked(
    name: str, steps: Sequence[Step], words: stories.Vocabulary, kind: str
) -> Tuple[str, List[Step]]:
    """The story's name and steps, cleaned, or StoryInvalid with every problem in words."""
    texts = [name, *(v for s in steps for v in (s.name, s.text) if isinstance(v, str))]
    texts += [str(e.get(k)) for s in steps for e in s.entities for k in ("entity", "value")]
    if not all(is_text(t) for t in texts):
        raise StoryInvalid(["A name or message is not valid text (half a character?)."])
    problems: List[str] = []
    name = clean_line(name or "")
    if not name:
        problems.append("Give the story a name.")
    elif len(name) > MAX_NAME:
        problems.append(f"The name is too long: at most {MAX_NAME} characters.")
    if not steps:
        problems.append("The story has no turns left: keep at least one customer turn.")
    if len(steps) > MAX_STEPS:
        problems.append(f"The story is too long: at most {MAX_STEPS} turns.")
    domain = words.domain
    cleaned: List[Step] = []
    for number, step in enumerate(steps, start=1):
        where = f"Turn {number}"
        if step.kind == "customer":
            if not step.name or step.name not in domain.intents:
                problems.append(
                    f"{where}: choose what the customer meant; '{step.name or ''}' is not an "
                    "intent the assistant knows."
                )
            text = clean_message(step.text) if kind == "test" else None
            if text is not None and len(text) > MAX_TEXT:
                problems.append(f"{where}: the customer's message is longer than {MAX_TEXT}.")
            entities = []
            for entity in step.entities:
                label = str(entity.get("entity") or "")
                if label not in domain.entities:
                    problems.append(f"{where}: '{label}' is not an entity the assistant knows.")
                entities.append({"entity": label, "value": mask_value(entity.get("value"))})
            cleaned.append(Step("customer", step.name, text, entities))
        elif step.kind == "bot":
            if not step.name or step.name not in words.actions:
                problems.append(
                    f"{where}: choose what the bot does next; '{step.name or ''}' is not a "
                    "response or action the assistant has."
                )
            cleaned.append(Step("bot", step.name))
        elif step.kind == "slot":
            if step.name != "requested_slot" and step.name not in words.slots:
                problems.append(f"{where}: '{step.name}' is not something the bot remembers.")
            cleaned.append(Step("slot", step.name, value=mask_value(step.value)))
        elif step.kind == "form":
            if step.name is not None and step.name not in words.forms:
                problems.append(f"{where}: '{step.name}' is not a form the assistant has.")
            cleaned.append(Step("form", step.name))
        else:
            problems.append(f"{where}: a turn is the customer's, the bot's, a slot or a form.")
    if cleaned and not any(s.kind == "customer" for s in cleaned):
        problems.append("Keep at least one customer turn: a story starts from what they say.")
    if problems:
        raise StoryInvalid(problems)
    return name, cleaned


def events_of(steps: Sequence[Step], kind: str) -> List[Any]:
    """The steps as Rasa events."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered

    events: List[Any] = []
    for step in steps:
        if step.kind == "customer":
            entities = [] if kind == "test" else step.entities
            events.append(UserUttered(step.text, {"name": step.name}, entities))
        elif step.kind == "bot":
            events.append(ActionExecuted(step.name))
        elif step.kind == "slot":
            events.append(SlotSet(step.name, step.value))
        else:
            events.append(ActiveLoop(step.name))
    return events


def story_yaml(name: str, steps: Sequence[Step], kind: str, *, appendable: bool) -> str:
    """The story as Rasa's writer writes it: a whole file, or the list item to append."""
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import StoryStep

    step = StoryStep(block_name=name, events=events_of(steps, kind))
    return YAMLStoryWriter().dumps([step], is_appendable=appendable, is_test_story=kind == "test")


def new_file_text(current: Optional[str], name: str, steps: Sequence[Step], kind: str) -> str:
    """The editor's file with the story appended (a new file when there is none yet)."""
    if current is None or not current.strip():
        return HEADERS[kind] + story_yaml(name, steps, kind, appendable=False)
    return current.rstrip("\n") + "\n\n" + story_yaml(name, steps, kind, appendable=True)


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


def same_as_meant(read: List[Any], before: int, name: str, steps: Sequence[Step]) -> None:
    """StoryInvalid unless the file read back has exactly one story more, ours, as meant."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered

    if len(read) != before + 1 or read[-1].block_name != name:
        raise StoryInvalid(["The editor's story file does not end as expected; ask an operator."])
    got = [e for e in read[-1].events if not isinstance(e, list)]
    problems = []
    if len(got) != len(steps):
        problems.append("Rasa reads the story with a different number of turns.")
    for number, (step, event) in enumerate(zip(steps, got, strict=False), start=1):
        if step.kind == "customer" and isinstance(event, UserUttered):
            if event.intent_name != step.name or (step.text or None) != (event.text or None):
                problems.append(
                    f"Turn {number}: Rasa would read the customer's message differently "
                    f"({(event.text or '')[:80]!r}); text like [words](name) is Rasa's entity "
                    "mark-up: change or drop the message."
                )
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


def save(project: Path, *, name: str, kind: str, steps: Sequence[Step]) -> Dict[str, Any]:
    """Append the story to the editor's file of its kind (``training`` or ``test``) once Rasa
    accepts it. Returns the file, the story's YAML and whether the model needs retraining.
    Raises StoryInvalid with the problems in plain words; the file is then unchanged."""
    from bot.editor import validation
    from bot.kb import training

    words = stories.vocabulary(project)
    name, steps = checked(name, steps, words, kind)
    target = project / target_of(kind)
    with locked(project):
        used = stories.names_in_use(project)
        used.update(validation.test_story_names(project, words.domain))
        if name.casefold() in used:
            raise StoryInvalid(
                [f"A story named '{name}' is already in {used[name.casefold()]}: choose another."]
            )
        current = target.read_text(encoding="utf-8") if target.exists() else None
        before = len(read_back(current, words.domain, str(target))) if current else 0
        text = new_file_text(current, name, steps, kind)
        read = read_back(text, words.domain, str(target))
        same_as_meant(read, before, name, steps)
        if kind == "training":
            validation.check_training(project, target, text, name, words)
        else:
            validation.check_test(read[-1], words)
        write_atomically(target, text)
    logger.info("story saved to %s", target_of(kind))
    return {
        "name": name,
        "kind": kind,
        "file": str(target_of(kind)),
        "yaml": story_yaml(name, steps, kind, appendable=True),
        "needs_retraining": training.model_is_stale(project) if kind == "training" else False,
    }


def copy_project(project: Path, into: Path) -> None:
    """What Rasa's story validation reads: the domain, the config and the stories and rules."""
    for name in ("domain.yml", "config.yml"):
        if (project / name).exists():
            shutil.copy2(project / name, into / name)
    for folder in stories.STORY_FOLDERS:
        if (project / folder).is_dir():
            shutil.copytree(project / folder, into / folder)
