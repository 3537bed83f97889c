"""The public benchmark sets (../shared/datasets), read and turned into Rasa NLU training data.

- BANKING77: ``train.csv`` / ``test.csv`` (``text,category``). It has no validation split: a
  stratified slice of the training split is held out for tuning (``split_validation``).
- CLINC150: ``data_full.json`` with ``train`` / ``val`` / ``test`` in scope and
  ``oos_train`` / ``oos_val`` / ``oos_test`` out of scope; out-of-scope examples get the label
  ``OOS_LABEL``.

Never imports Rasa: the NLU YAML is written by hand, and a text that Rasa would read as an entity
annotation (``[text](entity)``) is changed so that it cannot (``rasa_safe``).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

Example = Tuple[str, str]  # (text, label)

OOS_LABEL = "out_of_scope"

DATASETS_DIR = Path(
    os.environ.get(
        "BOT_BENCH_DATASETS", Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
    )
)

# Rasa's own pattern (rasa/shared/nlu/training_data/entities_parser.py): `[text](type)`,
# `[text]{...}`, `[text][...]`.
_RASA_ENTITY = re.compile(r"\[([^\]]+?)\](\([^:)]+?(?::[^)]+)?\)|\{[^}]+?\}|\[.*?\])")


def intent_name(label: str) -> str:
    """A label as a Rasa intent name: anything but letters, digits, ``_`` and ``-`` dropped.

    BANKING77 has ``reverted_card_payment?``; no two of its or CLINC150's labels collide.
    """
    return re.sub(r"[^A-Za-z0-9_\-]", "", label.strip())


def datasets_dir() -> Path:
    """Where the shared datasets are; ``BOT_BENCH_DATASETS`` overrides the default."""
    return DATASETS_DIR


def read_banking77(split: str, root: Path | None = None) -> List[Example]:
    """BANKING77's ``train`` or ``test`` split as (text, intent) pairs, in file order."""
    path = (root or datasets_dir()) / "banking77" / f"{split}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["text"].strip(), intent_name(row["category"])) for row in csv.DictReader(handle)
        ]


CLINC150_VARIANTS = {"full": "data_full.json", "oos_plus": "data_oos_plus.json"}


def read_clinc150(root: Path | None = None, variant: str = "full") -> Dict[str, List[Example]]:
    """CLINC150: ``train``, ``val``, ``test``, each with its out-of-scope examples added.

    Out-of-scope examples are labelled ``OOS_LABEL``; ``oos_train`` is part of ``train`` so that an
    out-of-scope intent can be learnt, and may be dropped by the caller (``in_scope``).
    ``variant`` ``oos_plus`` is the paper's "OOS+" setting: the same splits, but 250 out-of-scope
    training examples instead of 100.
    """
    path = (root or datasets_dir()) / "clinc150" / CLINC150_VARIANTS[variant]
    data = json.loads(path.read_text(encoding="utf-8"))
    splits: Dict[str, List[Example]] = {}
    for split in ("train", "val", "test"):
        in_scope = [(text.strip(), intent_name(label)) for text, label in data[split]]
        out_of_scope = [(text.strip(), OOS_LABEL) for text, _ in data[f"oos_{split}"]]
        splits[split] = in_scope + out_of_scope
    return splits


def in_scope(examples: Iterable[Example]) -> List[Example]:
    return [(text, label) for text, label in examples if label != OOS_LABEL]


def split_validation(
    examples: Sequence[Example], share: float = 0.1, seed: int = 0
) -> Tuple[List[Example], List[Example]]:
    """A stratified split: (rest, validation), ``share`` of every label held out (at least one).

    Deterministic for a seed; the order within each part follows the input.
    """
    if not 0 < share < 1:
        raise ValueError("share must be between 0 and 1")
    by_label: Dict[str, List[int]] = defaultdict(list)
    for index, (_, label) in enumerate(examples):
        by_label[label].append(index)
    rng = random.Random(seed)  # noqa: S311  (reproducible sampling, not security)
    held: set = set()
    for label in sorted(by_label):
        indices = list(by_label[label])
        rng.shuffle(indices)
        if len(indices) > 1:
            held.update(indices[: max(1, round(share * len(indices)))])
    rest = [e for i, e in enumerate(examples) if i not in held]
    validation = [e for i, e in enumerate(examples) if i in held]
    return rest, validation


def rasa_safe(text: str) -> str:
    """The text with anything Rasa would read as an entity annotation made plain.

    ``[text](entity)`` becomes ``(text)(entity)``; other brackets are kept. Newlines become spaces.
    """
    text = " ".join(text.split())
    return _RASA_ENTITY.sub(lambda m: f"({m.group(1)}){m.group(2)}", text)


def to_rasa_nlu_yaml(examples: Iterable[Example]) -> str:
    """Rasa 3.x NLU training data (``version: "3.1"``), one intent block per label, sorted."""
    by_label: Dict[str, List[str]] = defaultdict(list)
    for text, label in examples:
        text = rasa_safe(text)
        if text and text not in by_label[label]:
            by_label[label].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for label in sorted(by_label):
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", label):
            raise ValueError(f"intent name {label!r} is not safe for Rasa")
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in by_label[label])
    return "\n".join(lines) + "\n"


def write_rasa_nlu(examples: Iterable[Example], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_rasa_nlu_yaml(examples), encoding="utf-8")
    return path
