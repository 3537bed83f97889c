"""Reading the benchmark sets and turning them into Rasa NLU training data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import datasets
from benchmarks.datasets import OOS_LABEL


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "train.csv").write_text(
        "text,category\n"
        "I am still waiting on my card?,card_arrival\n"
        '"Hello, where is my transfer from [country]?",balance_not_updated_after_bank_transfer\n'
        "Why was my payment reverted?,reverted_card_payment?\n",
        encoding="utf-8",
    )
    (tmp_path / "clinc150").mkdir()
    (tmp_path / "clinc150" / "data_full.json").write_text(
        '{"train": [["what is my balance", "balance"]], "val": [["balance please", "balance"]],'
        ' "test": [["how much money do I have", "balance"]],'
        ' "oos_train": [["tell me a joke", "oos"]], "oos_val": [["sing", "oos"]],'
        ' "oos_test": [["what is love", "oos"], ["dance", "oos"]]}',
        encoding="utf-8",
    )
    return tmp_path


def test_banking77_rows_and_intent_names(root: Path) -> None:
    rows = datasets.read_banking77("train", root)
    assert rows[1] == (
        "Hello, where is my transfer from [country]?",
        "balance_not_updated_after_bank_transfer",
    )
    assert rows[2][1] == "reverted_card_payment"  # "?" is not allowed in a Rasa intent name


def test_clinc150_out_of_scope_is_labelled(root: Path) -> None:
    splits = datasets.read_clinc150(root)
    assert [label for _, label in splits["test"]] == ["balance", OOS_LABEL, OOS_LABEL]
    assert splits["train"][-1] == ("tell me a joke", OOS_LABEL)
    assert datasets.in_scope(splits["test"]) == [("how much money do I have", "balance")]


def test_clinc150_oos_plus_variant(root: Path) -> None:
    (root / "clinc150" / "data_oos_plus.json").write_text(
        (root / "clinc150" / "data_full.json")
        .read_text(encoding="utf-8")
        .replace('[["tell me a joke", "oos"]]', '[["tell me a joke", "oos"], ["sing", "oos"]]'),
        encoding="utf-8",
    )
    full = datasets.read_clinc150(root)
    plus = datasets.read_clinc150(root, variant="oos_plus")
    assert plus["test"] == full["test"] and plus["val"] == full["val"]
    assert len(plus["train"]) == len(full["train"]) + 1


def test_validation_split_is_stratified_deterministic_and_disjoint() -> None:
    examples = [(f"a{i}", "a") for i in range(50)] + [(f"b{i}", "b") for i in range(10)]
    examples.append(("only one", "c"))
    rest, held = datasets.split_validation(examples, share=0.1, seed=3)
    assert Counter(label for _, label in held) == {"a": 5, "b": 1}  # a single example stays
    assert set(rest).isdisjoint(held) and len(rest) + len(held) == len(examples)
    assert datasets.split_validation(examples, share=0.1, seed=3) == (rest, held)
    assert datasets.split_validation(examples, share=0.1, seed=4)[1] != held


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("where is my transfer from [country]?", "where is my transfer from [country]?"),
        ("send [50](amount) euros", "send (50)(amount) euros"),
        ('a [b]{"entity": "x"}', 'a (b){"entity": "x"}'),
        ("two\n lines", "two lines"),
    ],
)
def test_rasa_safe(text: str, safe: str) -> None:
    assert datasets.rasa_safe(text) == safe


def test_rasa_reads_back_the_same_examples() -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    examples = [
        ("I am still waiting on my card?", "card_arrival"),
        ("where is my transfer from [country]?", "transfer_timing"),
        ("send [50](amount) euros: now # please", "transfer_timing"),
        ("'quoted' and \"double\" - dash", "card_arrival"),
        ("I am still waiting on my card?", "card_arrival"),  # a duplicate is written once
    ]
    data = RasaYAMLReader().reads(datasets.to_rasa_nlu_yaml(examples))
    read = sorted((m.get("text"), m.get("intent")) for m in data.intent_examples)
    expected = sorted({(datasets.rasa_safe(t), label) for t, label in examples})
    assert read == expected
    assert not any(m.get("entities") for m in data.intent_examples)


def test_unsafe_intent_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not safe"):
        datasets.to_rasa_nlu_yaml([("hi", "bad name")])
