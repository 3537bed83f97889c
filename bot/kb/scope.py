"""What the assistant is not for: messages about other companies' shops and services, and
questions of the kinds the knowledge base does not answer.

The list of other services lives in ``data/scope.yml`` (editable without code).
``mentions_other_service`` is one of the signals of ``bot.kb.answering``: such a message needs a
much clearer match to be answered. ``out_of_scope_examples`` are the NLU examples of the
``out_of_scope`` intent (``data/nlu/out_of_scope.yml``), which retrieval compares a message with
(``KnowledgeIndex.scope_gap``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import FrozenSet, List, Optional, Tuple

import yaml

from bot.kb.text import fold
from bot.settings import PROJECT_ROOT

SCOPE_FILE = PROJECT_ROOT / "data" / "scope.yml"
OUT_OF_SCOPE_FILES = {"en": PROJECT_ROOT / "data" / "nlu" / "out_of_scope.yml"}


@functools.lru_cache(maxsize=8)
def out_of_scope_examples(language: str, path: Optional[Path] = None) -> Tuple[str, ...]:
    """The examples of questions the assistant does not answer, in ``language`` (none when the
    language has no such NLU file)."""
    path = path or OUT_OF_SCOPE_FILES.get(language)
    if path is None:
        return ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return ()
    examples: List[str] = []
    for item in data.get("nlu") or []:
        if isinstance(item, dict) and item.get("intent") == "out_of_scope":
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- ") and line[2:].strip():
                    examples.append(line[2:].strip())
    return tuple(examples)


@functools.lru_cache(maxsize=4)
def other_services(path: Path = SCOPE_FILE) -> FrozenSet[str]:
    """The folded names of other companies' shops and services."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return frozenset()
    return frozenset(fold(str(name)) for name in data.get("other_services") or [] if str(name))


@functools.lru_cache(maxsize=4)
def _pattern(names: FrozenSet[str]) -> Optional[re.Pattern[str]]:
    if not names:
        return None
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(rf"\b({alternatives})\b")


def mentions_other_service(text: str, names: Optional[FrozenSet[str]] = None) -> bool:
    """True when ``text`` names another company's shop or online service."""
    pattern = _pattern(names if names is not None else other_services())
    return bool(pattern and pattern.search(fold(text)))
