"""The turns of a story, rule or test story to save, as the editor sends them: checked against the
domain and cleaned (names on one line, messages masked and without control characters, entities
as a story keeps them, ``bot.editor.entities``), every problem in plain words (``StoryInvalid``).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.editor import entities, stories
from bot.errors import StoryInvalid
from bot.kb.text import clean_text
from bot.privacy import mask, mask_value

MAX_NAME = 200
MAX_TEXT = 2000
MAX_STEPS = 200

# Characters YAML cannot keep in a block scalar, or that would read as line breaks.
_LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n", "\x85": "\n", "\r\n": "\n", "\r": "\n"}


@dataclasses.dataclass
class Step:
    """One turn of the story to save: ``customer`` (intent, text, entities), ``bot`` (action),
    ``slot`` (name, value) or ``form`` (name, None when the form ends). In a rule, slot and form
    turns at its start can be its ``condition`` (what must be true before it applies)."""

    kind: str
    name: Optional[str] = None
    text: Optional[str] = None
    entities: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    value: Any = None
    condition: bool = False


@dataclasses.dataclass(frozen=True)
class RuleShape:
    """Where a rule applies: only at the start of a conversation or anywhere (the common case),
    and whether the bot then waits for the customer (the common case) or goes on."""

    conversation_start: bool = False
    wait_for_user_input: bool = True


ANYWHERE = RuleShape()  # the common rule: whatever came before, then the bot waits


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
    cleaned: List[Step] = []
    for number, step in enumerate(steps, start=1):
        turn, found = checked_step(step, f"Turn {number}", words, kind)
        problems += found
        if turn is not None:
            cleaned.append(turn)
    customers = sum(s.kind == "customer" for s in cleaned)
    if cleaned and not customers:
        problems.append("Keep at least one customer turn: a story starts from what they say.")
    if kind == "rule":
        problems += rule_problems(cleaned, customers)
    if problems:
        raise StoryInvalid(problems)
    return name, cleaned


def checked_step(
    step: Step, where: str, words: stories.Vocabulary, kind: str
) -> Tuple[Optional[Step], List[str]]:
    """One turn cleaned (None when it is no kind of turn), and its problems."""
    domain = words.domain
    problems: List[str] = []
    condition = step.condition and kind == "rule"
    if step.kind == "customer":
        if not step.name or step.name not in domain.intents:
            problems.append(
                f"{where}: choose what the customer meant; '{step.name or ''}' is not an "
                "intent the assistant knows."
            )
        text = clean_message(step.text) if kind == "test" else None
        if text is not None and len(text) > MAX_TEXT:
            problems.append(f"{where}: the customer's message is longer than {MAX_TEXT}.")
        for entity in step.entities:
            if str(entity.get("entity") or "") not in domain.entities:
                problems.append(
                    f"{where}: '{entity.get('entity') or ''}' is not an entity the assistant "
                    "knows."
                )
        given = [
            {"entity": str(e.get("entity") or ""), "value": e.get("value")} for e in step.entities
        ]
        if kind == "test":
            text, kept, missing = entities.marked(text, given, where)
            problems += missing
        else:
            kept = entities.listed(given)
        return Step("customer", step.name, text, kept, condition=condition), problems
    if step.kind == "bot":
        if not step.name or step.name not in words.actions:
            problems.append(
                f"{where}: choose what the bot does next; '{step.name or ''}' is not a "
                "response or action the assistant has."
            )
        return Step("bot", step.name, condition=condition), problems
    if step.kind == "slot":
        if step.name != "requested_slot" and step.name not in words.slots:
            problems.append(f"{where}: '{step.name}' is not something the bot remembers.")
        value = mask_value(step.value)
        return Step("slot", step.name, value=value, condition=condition), problems
    if step.kind == "form":
        if step.name is not None and step.name not in words.forms:
            problems.append(f"{where}: '{step.name}' is not a form the assistant has.")
        return Step("form", step.name, condition=condition), problems
    return None, [f"{where}: a turn is the customer's, the bot's, a slot or a form."]


def rule_problems(steps: Sequence[Step], customers: int) -> List[str]:
    """What Rasa refuses in a rule (``restrict_rules``: one customer turn), and conditions that
    are not at its start or not about what the bot remembers or a form."""
    problems = []
    if customers > 1:
        problems.append(
            "A rule has one customer turn (Rasa's rules are short: what the customer says, "
            "then what the bot always does). Drop the other customer turns, or save a story."
        )
    seen_other = False
    for number, step in enumerate(steps, start=1):
        if not step.condition:
            seen_other = True
        elif step.kind not in ("slot", "form") or seen_other:
            problems.append(
                f"Turn {number}: only what the bot remembers or a running form, at the start "
                "of the rule, can be its condition."
            )
    return problems
