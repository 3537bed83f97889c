"""The editor's story files as text: each story or rule is one top-level item of the file's list
(``- story: ...`` or ``- rule: ...`` at the start of a line, as Rasa's writer writes it), so one
can be added, replaced or removed and everything else in the file (the header, comments, the
other stories as they were written) stays exactly as it was.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

import yaml


@dataclasses.dataclass
class Block:
    """Lines of the file: a story or rule (``name`` set) or anything else (``name`` None)."""

    text: str
    name: Optional[str] = None


def name_of(item: str) -> Optional[str]:
    """The story's or rule's name in ``- story: name ...``; None when it is not one."""
    try:
        parsed = yaml.safe_load(item)
    except yaml.YAMLError:
        return None
    if not isinstance(parsed, list) or len(parsed) != 1 or not isinstance(parsed[0], dict):
        return None
    name = parsed[0].get("story", parsed[0].get("rule"))
    return str(name) if name is not None else None


def blocks(text: str) -> List[Block]:
    """The file cut into blocks: an item runs from its ``- `` line to the next line that starts
    at the left margin (blank lines and comments after it stay with it)."""
    found: List[Block] = []
    lines: List[str] = []
    item = False

    def close() -> None:
        if lines:
            chunk = "".join(lines)
            found.append(Block(chunk, name_of(chunk) if item else None))

    for line in text.splitlines(keepends=True):
        at_margin = line[:1] not in ("", " ", "\t", "\n", "\r", "#")
        if at_margin:
            close()
            lines, item = [], line.startswith("- ")
        lines.append(line)
    close()
    return found


def index_of(found: List[Block], name: str) -> int:
    """The position of the story ``name`` among the file's stories (not among all blocks);
    -1 when it is not there."""
    names = [b.name for b in found if b.name is not None]
    return names.index(name) if name in names else -1


def replaced(text: str, name: str, item: Optional[str]) -> Optional[str]:
    """``text`` with the story ``name`` replaced by ``item`` (removed when ``item`` is None);
    None when there is no story of that name. The blank lines after it are kept."""
    found = blocks(text)
    for block in found:
        if block.name == name:
            if item is None:
                found.remove(block)
            else:
                spacing = block.text[len(block.text.rstrip("\n")) :]
                block.text = item.rstrip("\n") + (spacing if len(spacing) > 1 else "\n")
            return "".join(b.text for b in found).rstrip("\n") + "\n"
    return None


def has_stories(text: str) -> bool:
    return any(b.name is not None for b in blocks(text))
