"""Rasa's validation of a new story, in this process, with its findings in plain words.

``check_training`` runs what ``rasa data validate`` runs on stories (Rasa's ``Validator``:
intents and actions in the domain, utterances with a response, forms, and the story structure
conflicts of ``verify_story_structure``) on a temporary copy of the project's data with the new
file in place, then trains Rasa's ``RulePolicy`` on it (no model is written): what it refuses at
training (a rule or story contradicting a rule, an incomplete rule) would make the next
retraining fail. Rasa reports through warnings, log lines and exceptions; they are captured
here, and only those about the new story or rule refuse it.
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from bot.editor import stories
from bot.errors import StoryInvalid

logger = logging.getLogger(__name__)

_QUOTED = re.compile(r"'([^']+)'")
# What Rasa's Validator says about a story's own intents, actions and forms (other warnings, such
# as "not used in any story" or "not found in the NLU training data", are about the rest of the
# data, which the story does not change).
STORY_FINDINGS = (
    "is used in your stories, but is not listed in the domain",
    "is not a valid utterance action",
    "is not listed in the domain file",
)


def check_training(
    project: Path, target: Path, text: str, name: str, words: stories.Vocabulary
) -> None:
    """StoryInvalid when Rasa's validation finds a problem of the story ``name`` in the project's
    data with ``target`` holding ``text``."""
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    from bot.editor.saving import copy_project

    with tempfile.TemporaryDirectory(prefix="amberline-validate-") as folder:
        copy = Path(folder)
        copy_project(project, copy)
        copied = copy / target.relative_to(project)
        copied.parent.mkdir(parents=True, exist_ok=True)
        copied.write_text(text, encoding="utf-8")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importer = TrainingDataImporter.load_from_dict(
                config_path=str(copy / "config.yml"),
                domain_path=str(copy / "domain.yml"),
                training_data_paths=[str(copy / "data")],
            )
            validator = Validator.from_importer(importer)
            validator.verify_intents_in_stories(ignore_warnings=False)
            validator.verify_utterances_in_stories(ignore_warnings=False)
            validator.verify_actions_in_stories_rules()
            validator.verify_forms_in_stories_rules()
            story = next(
                (s for s in validator.story_graph.story_steps if s.block_name == name), None
            )
            problems = conflicts_of(validator, name, words)
            problems += rule_policy_problems(importer, name, words)
        problems = rasa_warnings(caught, story) + problems
    if problems:
        raise StoryInvalid(problems)


_CONTRADICTION = re.compile(
    r"^- the prediction of the action '(?P<action>.*?)' in (?P<kind>rule|story) '(?P<name>.*)' "
    r"is contradicting with rule\(s\) '(?P<rules>.*?)'(?: which predicted action "
    r"'(?P<predicted>.*)')?\.?$"
)


def quiet_structlog() -> None:
    """Rasa's structured log (a debug line per rule prediction) at warnings only, unless the
    process configured it (Rasa's CLI does); the standard logging is left alone."""
    import structlog

    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def rule_policy_problems(importer: Any, name: str, words: stories.Vocabulary) -> List[str]:
    """What Rasa's RulePolicy, trained on the importer's data, refuses about ``name``, in words."""
    from rasa.core.policies.rule_policy import InvalidRule, RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.generator import TrainingDataGenerator

    quiet_structlog()
    configured: Dict[str, Any] = next(
        (p for p in importer.get_config().get("policies") or [] if p.get("name") == "RulePolicy"),
        {},
    )
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(
        importer.get_stories(), domain, remove_duplicates=True, augmentation_factor=0
    ).generate()
    config = {**RulePolicy.get_default_config(), **configured}
    config.pop("name", None)
    with tempfile.TemporaryDirectory(prefix="amberline-rules-") as folder:
        policy = RulePolicy(
            config,
            LocalModelStorage(Path(folder)),
            Resource("rules"),
            ExecutionContext(GraphSchema({}), "story-editor"),
        )
        try:
            policy.train(trackers, domain)
        except InvalidRule as error:
            return rule_words(error.message, name, words)
    return []


def rule_words(message: str, name: str, words: stories.Vocabulary) -> List[str]:
    """The lines of RulePolicy's refusal about ``name``, in plain words (RulePolicy names what
    the rules predict unless it is its fallback action, as when two rules disagree)."""
    ours: List[str] = []
    theirs: List[str] = []
    for line in message.splitlines():
        found = _CONTRADICTION.match(line.strip())
        if found is None:
            if f"'{name}'" in line and line.strip().startswith("- "):
                ours.append(f"Rasa would refuse this at training: {line.strip()[2:]}")
            continue
        rules = found["rules"]  # names joined by ", ", which names may hold too
        if found["name"] == name:
            others = f"'{rules}'" if rules != name else "itself"
            instead = (
                f"it {doing(found['predicted'], words)}" if found["predicted"] else "otherwise"
            )
            ours.append(
                f"This {found['kind']} contradicts the rule {others}: here the bot then "
                f"{doing(found['action'], words)}, where the rule says {instead}. A rule always "
                "applies: choose what the bot does next so that they agree."
            )
        elif name == rules or rules.startswith(f"{name}, ") or f", {name}" in rules:
            theirs.append(
                f"This rule contradicts the {found['kind']} '{found['name']}', which says the "
                f"bot then {doing(found['action'], words)}. Choose what the bot does next so "
                "that they agree."
            )
    return list(dict.fromkeys(ours or theirs))


def check_test(step: Any, words: stories.Vocabulary) -> None:
    """StoryInvalid when Rasa's checks of intents, utterances, actions and forms find a problem
    in the test story ``step`` (a test story is not training data: no structure conflicts)."""
    from rasa.shared.core.training_data.structures import StoryGraph
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from rasa.validator import Validator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator = Validator(words.domain, TrainingData(), StoryGraph([step]), None)
        validator.verify_intents_in_stories(ignore_warnings=False)
        validator.verify_utterances_in_stories(ignore_warnings=False)
        validator.verify_actions_in_stories_rules()
        validator.verify_forms_in_stories_rules()
    problems = rasa_warnings(caught, step)
    if problems:
        raise StoryInvalid(problems)


def names_in(step: Any) -> Set[str]:
    """The intents, actions and forms a story uses."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered

    names: Set[str] = set()
    for event in step.events if step is not None else []:
        for one in event if isinstance(event, list) else [event]:
            if isinstance(one, UserUttered) and one.intent_name:
                names.add(one.intent_name)
            elif isinstance(one, ActionExecuted) and one.action_name:
                names.add(one.action_name)
            elif isinstance(one, ActiveLoop) and one.name:
                names.add(one.name)
    return names


def rasa_warnings(caught: List[warnings.WarningMessage], step: Any) -> List[str]:
    """Rasa's warnings about what the story uses, in plain words. Warnings about the rest of the
    data ("not used in any story", ...) were there before and are not the editor's."""
    used = names_in(step)
    problems: List[str] = []
    for warning in caught:
        message = str(warning.message)
        quoted = _QUOTED.findall(message)
        if not quoted or quoted[0] not in used:
            continue
        if any(finding in message for finding in STORY_FINDINGS):
            problems.append(
                f"Rasa does not know '{quoted[0]}': it is not in the assistant's domain "
                "(domain.yml), so the assistant could never do it. Choose another."
            )
    return list(dict.fromkeys(problems))


def conflicts_of(validator: Any, name: str, words: stories.Vocabulary) -> List[str]:
    """Story structure conflicts (as ``verify_story_structure`` finds them) that involve the
    story ``name``, each in plain words."""
    from rasa.core.training import story_conflict
    from rasa.shared.core.generator import TrainingDataGenerator

    trackers = TrainingDataGenerator(
        validator.story_graph,
        domain=validator.domain,
        remove_duplicates=False,
        augmentation_factor=0,
    ).generate_story_trackers()
    found = story_conflict.find_story_conflicts(trackers, validator.domain, None)
    problems = []
    for conflict in found:
        by_action: Dict[str, List[str]] = dict(conflict._conflicting_actions)
        ours = [a for a, names in by_action.items() if name in names]
        if not ours:
            continue
        kind, previous = story_conflict._get_previous_event(conflict._sliced_states[-1])
        problems.append(conflict_words(name, ours[0], by_action, kind, previous, words))
    return problems


def conflict_words(
    name: str,
    ours: str,
    by_action: Dict[str, List[str]],
    kind: Optional[str],
    previous: Optional[str],
    words: stories.Vocabulary,
) -> str:
    """ "This story contradicts the story 'x' after the customer says …: one says the bot …, the
    other …"."""
    if kind == "intent" and previous:
        examples = words.intent(previous)["examples"]
        said = f"says \u201c{examples[0]}\u201d" if examples else "means"
        where = f"after the customer {said} ({previous})"
    elif kind == "action" and previous:
        where = f"after the bot {doing(previous, words)}"
    else:
        where = "at the start of the conversation"
    others = [(a, n) for a, names in by_action.items() if a != ours for n in names if n != name]
    if not others:
        return f"This story contradicts itself {where}: the bot cannot do two things there."
    action, story = others[0]
    return (
        f"This story contradicts the story '{story}' {where}: one says the bot then "
        f"{doing(ours, words)}, the other that it {doing(action, words)}. Choose what the bot "
        "does next so that they agree, or make the turns before it differ."
    )


def doing(action: str, words: stories.Vocabulary) -> str:
    """What the bot does, in words: "answers “Hi! I'm…” (utter_greet)"."""
    found = words.action(action)
    if found.get("text"):
        text = found["text"] if len(found["text"]) <= 60 else found["text"][:59] + "\u2026"
        return f"answers \u201c{text}\u201d ({action})"
    return f"{found['words']} ({action})"
