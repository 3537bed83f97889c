"""The benchmark's metrics, on small cases worked out by hand."""

from __future__ import annotations

import pytest

from benchmarks import metrics
from benchmarks.datasets import OOS_LABEL


def test_accuracy() -> None:
    assert metrics.accuracy(["a", "b", "c", "d"], ["a", "b", "x", None]) == 0.5
    assert metrics.accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        metrics.accuracy(["a"], [])


def test_macro_f1_by_hand() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "b"]
    # a: precision 1, recall 0.5 -> F1 2/3; b: precision 2/3, recall 1 -> F1 0.8
    assert metrics.macro_f1(gold, predicted) == pytest.approx((2 / 3 + 0.8) / 2)


def test_macro_f1_counts_a_label_only_predicted() -> None:
    # c is never true but predicted once: its F1 is 0 and it counts.
    assert metrics.macro_f1(["a", "a"], ["a", "c"]) == pytest.approx((2 / 3 + 0) / 2)
    assert metrics.macro_f1(["a", "b"], ["a", "b"]) == 1.0


@pytest.mark.parametrize(
    ("share", "expected"), [(0.5, 5), (0.95, 10), (0.99, 10), (0.1, 1), (0.0, 1)]
)
def test_percentile_nearest_rank(share: float, expected: float) -> None:
    assert metrics.percentile(range(10, 0, -1), share) == expected


def test_percentile_of_nothing() -> None:
    assert metrics.percentile([], 0.5) == 0.0


def rows():
    return [
        {"label": "a", "top": "a", "confidence": 0.9},
        {"label": "a", "top": "a", "confidence": 0.4},
        {"label": "b", "top": "a", "confidence": 0.3},
        {"label": "b", "top": OOS_LABEL, "confidence": 0.8},
        {"label": OOS_LABEL, "top": "b", "confidence": 0.35},
        {"label": OOS_LABEL, "top": OOS_LABEL, "confidence": 0.6},
    ]


def test_scope_scores_at_a_threshold() -> None:
    scores = metrics.scope_scores(rows(), 0.38)
    # in scope: a (0.9) right, a (0.4) right, b->a wrong, b->oos wrong
    assert scores["in_scope_accuracy"] == 0.5
    # out of scope: 0.35 < 0.38 refused, the oos intent refused
    assert scores["oos_recall"] == 1.0
    # predicted out of scope: b (0.3), b (oos), oos, oos -> 2 of 4 right
    assert scores["oos_precision"] == 0.5


def test_threshold_zero_is_the_oos_intent_alone() -> None:
    scores = metrics.scope_scores(rows(), 0.0)
    assert scores["in_scope_accuracy"] == 0.5 and scores["oos_recall"] == 0.5


def test_choose_threshold_keeps_in_scope_accuracy_first() -> None:
    chosen = metrics.choose_threshold(rows(), min_in_scope=0.5)
    assert chosen["in_scope_accuracy"] >= 0.5 and chosen["oos_recall"] == 1.0
    assert chosen["threshold"] == pytest.approx(0.36)  # the lowest that refuses the 0.35


def test_choose_threshold_falls_back_to_the_best_sum() -> None:
    chosen = metrics.choose_threshold(rows(), min_in_scope=0.99)
    assert chosen["in_scope_accuracy"] + chosen["oos_recall"] == 1.5


def test_classification_summary_separates_fallback() -> None:
    predictions = [
        {"label": "a", "top": "a", "intent": "a", "confidence": 0.9, "seconds": 0.01},
        {"label": "b", "top": "b", "intent": "nlu_fallback", "confidence": 0.2, "seconds": 0.03},
        {"label": "b", "top": "a", "intent": "a", "confidence": 0.5, "seconds": 0.02},
    ]
    summary = metrics.classification_summary(predictions)
    assert summary["accuracy"] == pytest.approx(2 / 3)
    assert summary["final_accuracy"] == pytest.approx(1 / 3)
    assert summary["answered"] == pytest.approx(2 / 3)
    assert summary["answered_accuracy"] == 0.5
    assert summary["parse_ms_p50"] == pytest.approx(20)
