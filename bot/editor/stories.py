"""Training stories and rules as an editor reads them: conversations, not YAML.

The project's domain (``domain.yml``) gives the words: an intent is shown by a readable name and
its first examples from ``data/nlu/``, a response by its text, a custom action by what it does.
Stories and rules (and the test stories of ``tests/conversations/``) are read by Rasa's own
reader (``YAMLStoryReader``), so what the editor sees is what training and testing see.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml

from bot.errors import StoryError
from bot.kb.text import fold
from bot.settings import Settings

logger = logging.getLogger(__name__)

STORY_FOLDERS = ("data/stories", "data/rules")
TEST_FOLDER = Path("tests/conversations")
EDITOR_STORIES = Path("data/stories/editor.yml")
EDITOR_RULES = Path("data/rules/editor.yml")
EDITOR_TESTS = TEST_FOLDER / "editor.yml"
# The editor's own files: what is in them can be changed and deleted in the page; the other
# files are the developers' and read-only there.
EDITOR_FILES = (EDITOR_STORIES, EDITOR_RULES, EDITOR_TESTS)
GENERATED_NLU = "kb_questions.yml"  # the articles' questions: too many to be words
EXAMPLES_SHOWN = 2
# What our custom actions and the form do, in words (the domain has only their names).
ACTION_WORDS = {
    "action_answer_from_kb": "answers from the knowledge base",
    "action_answer_article": "answers with the article the customer chose",
    "action_reject_suggestions": "says sorry that none of the suggested articles fit",
    "action_record_feedback": "records whether the answer helped",
    "action_request_human": "hands the conversation to a person",
    "action_check_order_status": "looks up the order and tells its status",
    "order_status_form": "asks for the order number and e-mail",
    "action_restart": "starts the conversation over",
    "action_listen": "waits for the customer",
    "action_default_fallback": "says it did not understand",
}
INTENT_WORDS = {"faq": "asks a question that an article answers"}
SKIPPED_ACTIONS = ("action_listen", "action_session_start", "action_extract_slots", "...")


def readable(name: str) -> str:
    """``order_status_form`` -> ``order status form``."""
    return name.replace("_", " ").strip()


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The domain's intents and actions, each with words an editor understands."""

    intents: Dict[str, Dict[str, Any]]
    actions: Dict[str, Dict[str, Any]]
    slots: Tuple[str, ...]
    forms: Tuple[str, ...]
    domain: Any  # rasa.shared.core.domain.Domain

    def intent(self, name: str) -> Dict[str, Any]:
        return self.intents.get(name) or {"name": name, "words": readable(name), "examples": []}

    def action(self, name: str) -> Dict[str, Any]:
        unknown = {"name": name, "words": readable(name), "text": None, "type": "action"}
        return self.actions.get(name) or unknown

    def as_json(self) -> Dict[str, Any]:
        return {
            "intents": sorted(self.intents.values(), key=lambda i: i["name"]),
            "actions": sorted(self.actions.values(), key=lambda a: a["name"]),
            "slots": list(self.slots),
            "forms": list(self.forms),
        }


def project_dir(settings: Settings) -> Path:
    return Path(settings.rasa_project_dir)


def load_domain(project: Path) -> Any:
    """The project's domain, read by Rasa. Raises StoryError when it cannot be read."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.exceptions import RasaException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Domain.load(str(project / "domain.yml"))
    except (RasaException, OSError, ValueError) as error:
        raise StoryError(f"the domain cannot be read: {error}") from error


def vocabulary(project: Path) -> Vocabulary:
    """The domain's vocabulary, read again only when domain.yml or the NLU files changed."""
    stamps = tuple(
        (str(p), p.stat().st_mtime_ns) for p in [project / "domain.yml", *nlu_files(project)]
    )
    return _vocabulary(project, stamps)


def nlu_files(project: Path) -> List[Path]:
    folder = project / "data" / "nlu"
    return sorted(p for p in folder.glob("*.yml") if p.name != GENERATED_NLU)


@functools.lru_cache(maxsize=4)
def _vocabulary(project: Path, stamps: Tuple[Tuple[str, int], ...]) -> Vocabulary:
    domain = load_domain(project)
    examples = intent_examples(nlu_files(project))
    intents = {}
    for name in domain.intents:
        if name in ("nlu_fallback", "session_start", "restart", "back"):
            continue  # Rasa's own, never what a customer is understood as in our data
        words = INTENT_WORDS.get(name) or readable(name)
        intents[name] = {
            "name": name,
            "words": words,
            "examples": examples.get(name, [])[:EXAMPLES_SHOWN],
        }
    actions = {}
    for name in domain.action_names_or_texts:
        if name in SKIPPED_ACTIONS or name.startswith("validate_"):
            continue
        if (
            name.startswith("action_")
            and name not in domain.user_actions
            and name not in (ACTION_WORDS)
        ):
            continue  # Rasa's default actions our stories never use
        text = first_text(domain.responses.get(name))
        words = ACTION_WORDS.get(name) or (f"says: {text}" if text else readable(name))
        actions[name] = {"name": name, "words": words, "text": text, "type": type_of(name, domain)}
    slots = tuple(s.name for s in domain.slots if s.name != "requested_slot")
    return Vocabulary(intents, actions, slots, tuple(domain.form_names), domain)


def type_of(action: str, domain: Any) -> str:
    """``response`` (says a text of the domain), ``form`` or ``action`` (custom code)."""
    if action.startswith("utter_"):
        return "response"
    return "form" if action in domain.form_names else "action"


def first_text(variations: Optional[List[Dict[str, Any]]]) -> Optional[str]:
    for variation in variations or []:
        if variation.get("text"):
            return str(variation["text"])
    return None


def intent_examples(paths: Iterable[Path]) -> Dict[str, List[str]]:
    """Each intent's examples from the NLU files, in file order."""
    found: Dict[str, List[str]] = {}
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            logger.warning("NLU file %s cannot be read; its examples are not shown", path)
            continue
        for item in data.get("nlu") or []:
            if isinstance(item, dict) and item.get("intent") and item.get("examples"):
                lines = str(item["examples"]).splitlines()
                texts = [line[2:].strip() for line in lines if line.startswith("- ")]
                found.setdefault(str(item["intent"]), []).extend(texts)
    return found


def story_files(project: Path) -> List[Path]:
    """The training stories and rules, then the test stories."""
    files: List[Path] = []
    for folder in (*STORY_FOLDERS, str(TEST_FOLDER)):
        files.extend(sorted((project / folder).glob("*.yml")))
    return files


def kind_of(step: Any, file: Path) -> str:
    """``rule``, ``test`` (a test story) or ``story`` (a training story)."""
    from rasa.shared.core.training_data.structures import RuleStep

    if isinstance(step, RuleStep):
        return "rule"
    return "test" if file.parent == TEST_FOLDER else "story"


def read_steps(project: Path, paths: Optional[List[Path]] = None) -> List[Tuple[Path, Any]]:
    """Every story and rule (Rasa's StoryStep and RuleStep) with the file it is in."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.exceptions import RasaException

    domain = vocabulary(project).domain
    steps: List[Tuple[Path, Any]] = []
    for path in story_files(project) if paths is None else paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read = YAMLStoryReader(domain, source_name=str(path)).read_from_file(path)
        except (RasaException, OSError, ValueError) as error:
            raise StoryError(f"{path.relative_to(project)} cannot be read: {error}") from error
        steps.extend((path, step) for step in read)
    return steps


def turns_of(step: Any, words: Vocabulary) -> List[Dict[str, Any]]:
    """A story's or rule's events as turns: the customer (intents in words, entities), the bot
    (what it says or does), what it remembers (slots) and the form it runs."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered

    conditions = getattr(step, "condition_events_indices", set()) or set()
    turns: List[Dict[str, Any]] = []
    for index, event in enumerate(step.events):
        turn: Optional[Dict[str, Any]] = None
        if isinstance(event, (list, UserUttered)):
            options = event if isinstance(event, list) else [event]
            turn = {
                "kind": "customer",
                "intents": [words.intent(u.intent_name or "") for u in options if u.intent_name],
                "text": next((u.text for u in options if u.text), None),
                "entities": [
                    {"entity": e.get("entity"), "value": e.get("value")}
                    for u in options
                    for e in u.entities
                ],
            }
        elif isinstance(event, ActionExecuted):
            if event.action_name in SKIPPED_ACTIONS or not event.action_name:
                continue
            turn = {"kind": "bot", **words.action(event.action_name)}
        elif isinstance(event, SlotSet):
            turn = {"kind": "slot", "name": event.key, "value": event.value}
        elif isinstance(event, ActiveLoop):
            turn = {"kind": "form", "name": event.name}
        if turn is not None:
            turn["condition"] = index in conditions
            turns.append(turn)
    return turns


def conversations(project: Path) -> List[Dict[str, Any]]:
    """Every story and rule of the training data, then every test story, in file order, as a
    conversation; ``editable`` when it is in one of the editor's files."""
    words = vocabulary(project)
    found = []
    for path, step in read_steps(project):
        file = path.relative_to(project)
        shown = {
            "name": step.block_name,
            "kind": kind_of(step, file),
            "file": str(file),
            "editable": file in EDITOR_FILES,
            "turns": turns_of(step, words),
        }
        if shown["kind"] == "rule":
            shown.update(rule_shape(step))
        found.append(shown)
    return found


def rule_shape(step: Any) -> Dict[str, bool]:
    """Whether a rule applies only at the start of a conversation, and whether the bot waits
    for the customer after it (Rasa's ``conversation_start``, ``wait_for_user_input``)."""
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME
    from rasa.shared.core.events import ActionExecuted

    conditions = step.condition_events_indices or set()
    events = [e for i, e in enumerate(step.events) if i not in conditions]

    def snippet(event: Any) -> bool:
        return isinstance(event, ActionExecuted) and event.action_name == RULE_SNIPPET_ACTION_NAME

    return {
        "conversation_start": not (events and snippet(events[0])),
        "wait_for_user_input": not (len(events) > 1 and snippet(events[-1])),
    }


def matches(conversation: Dict[str, Any], query: str) -> bool:
    """Whether the folded words of ``query`` all occur in the conversation's name, intents,
    actions or their words."""
    haystack = [conversation["name"]]
    for turn in conversation["turns"]:
        for intent in turn.get("intents", []):
            haystack += [intent["name"], intent["words"], *intent["examples"]]
        if turn["kind"] == "bot":
            haystack += [turn["name"], turn["words"]]
        if turn["kind"] in ("form", "slot") and turn.get("name"):
            haystack.append(turn["name"])
    text = (
        fold(" ".join(str(h) for h in haystack if h))
        + " "
        + " ".join(str(h).casefold() for h in haystack if h)
    )
    return all(word in text for word in fold(query).split())


def search(
    project: Path, query: Optional[str] = None, kind: Optional[str] = None
) -> List[Dict[str, Any]]:
    """The stories and rules whose name, intents or actions match ``query`` (all when empty),
    only training stories, rules or test stories when ``kind`` (story, rule, test) says so."""
    found = conversations(project)
    if kind:
        found = [c for c in found if c["kind"] == kind]
    if query and query.strip():
        found = [c for c in found if matches(c, query)]
    return found


def names_in_use(project: Path) -> Dict[str, str]:
    """Every story's and rule's name (case-folded) -> the file it is in."""
    return {
        step.block_name.casefold(): str(path.relative_to(project))
        for path, step in read_steps(project)
    }
