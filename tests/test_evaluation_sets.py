"""The held-out sets stay held out: no question of eval/dev.yml or eval/test.yml is a training
example (an article's question variant or an NLU example), and the two sets share none."""

from __future__ import annotations

from pathlib import Path
from typing import Set

import yaml

from bot.evaluation import load_set
from bot.kb.sources import load_sources
from bot.kb.text import fold
from bot.kb.training import training_examples
from bot.settings import PROJECT_ROOT


def questions(name: str) -> Set[str]:
    data = load_set(PROJECT_ROOT / "eval" / name)
    return {fold(q["text"]) for part in ("covered", "uncovered") for q in data[part]}


def training_texts() -> Set[str]:
    texts = set()
    for source in load_sources(PROJECT_ROOT / "data" / "kb")[0]:
        texts.update(fold(t) for t in training_examples(source))
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        if path.name == "kb_questions.yml":  # generated from data/kb, read above
            continue
        for item in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    texts.add(fold(line.strip()[2:]))
    return texts


def test_no_evaluation_question_is_a_training_example() -> None:
    trained = training_texts()
    assert len(trained) > 1000
    for name in ("dev.yml", "test.yml"):
        assert not questions(name) & trained, name


def test_dev_and_test_share_no_question() -> None:
    assert not questions("dev.yml") & questions("test.yml")
