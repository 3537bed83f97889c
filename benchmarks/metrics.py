"""Metrics of the benchmarks, in plain Python and NumPy (tested in tests/benchmarks/).

Classification: accuracy and macro-F1 (every label's F1 weighs the same; a label never predicted
and never true does not count). Out-of-scope detection as Larson et al. (2019) define it for
CLINC150: a message is predicted out of scope when the classifier says ``out_of_scope`` or its
confidence is under the threshold; in-scope accuracy counts an in-scope message right only when it
gets its own intent; out-of-scope recall is the share of out-of-scope messages predicted so.
Latency percentiles by the nearest-rank method.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence

from benchmarks.datasets import OOS_LABEL


def accuracy(gold: Sequence[str], predicted: Sequence[Optional[str]]) -> float:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def macro_f1(gold: Sequence[str], predicted: Sequence[Optional[str]]) -> float:
    """The unweighted mean of every label's F1, over the labels that are true or predicted."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    true_positive: Counter = Counter()
    predicted_count: Counter = Counter(p for p in predicted if p is not None)
    gold_count: Counter = Counter(gold)
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            true_positive[g] += 1
    labels = set(gold_count) | set(predicted_count)
    if not labels:
        return 0.0
    scores = []
    for label in labels:
        tp = true_positive[label]
        precision = tp / predicted_count[label] if predicted_count[label] else 0.0
        recall = tp / gold_count[label] if gold_count[label] else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.95 is p95); 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def with_threshold(top: Optional[str], confidence: float, threshold: float) -> str:
    """The label a message gets when answers under ``threshold`` are refused (out of scope)."""
    if top is None or top == OOS_LABEL or confidence < threshold:
        return OOS_LABEL
    return top


def scope_scores(rows: Sequence[Dict[str, Any]], threshold: float) -> Dict[str, float]:
    """In-scope accuracy, out-of-scope recall and precision at one threshold.

    ``rows`` carry ``label`` (gold), ``top`` (the classifier's best intent) and ``confidence``.
    """
    in_right = in_total = oos_right = oos_total = oos_predicted = 0
    for row in rows:
        label = with_threshold(row["top"], float(row["confidence"]), threshold)
        if row["label"] == OOS_LABEL:
            oos_total += 1
            oos_right += label == OOS_LABEL
        else:
            in_total += 1
            in_right += label == row["label"]
        oos_predicted += label == OOS_LABEL
    return {
        "threshold": threshold,
        "in_scope_accuracy": in_right / in_total if in_total else 0.0,
        "oos_recall": oos_right / oos_total if oos_total else 0.0,
        "oos_precision": oos_right / oos_predicted if oos_predicted else 1.0,
    }


def threshold_grid(step: float = 0.01) -> List[float]:
    return [round(i * step, 4) for i in range(round(1 / step) + 1)]


def choose_threshold(
    rows: Sequence[Dict[str, Any]], min_in_scope: float = 0.95, step: float = 0.01
) -> Dict[str, float]:
    """The threshold to use, chosen on validation rows, by a rule fixed before looking at test.

    The highest out-of-scope recall among thresholds that keep in-scope accuracy at
    ``min_in_scope`` or more (ties: the lower threshold); when none does, the best sum of the two.
    """
    scored = [scope_scores(rows, t) for t in threshold_grid(step)]
    good = [s for s in scored if s["in_scope_accuracy"] >= min_in_scope]
    if good:
        return max(good, key=lambda s: (s["oos_recall"], -s["threshold"]))
    return max(scored, key=lambda s: (s["in_scope_accuracy"] + s["oos_recall"], -s["threshold"]))


def scope_curve(rows: Sequence[Dict[str, Any]], step: float = 0.01) -> List[Dict[str, float]]:
    """Scores at every threshold of the grid: the out-of-scope precision/recall curve."""
    return [scope_scores(rows, t) for t in threshold_grid(step)]


def classification_summary(rows: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    """Accuracy and macro-F1 of the classifier's top intent, and of Rasa's final intent.

    The final intent is ``nlu_fallback`` when the pipeline's FallbackClassifier refused to answer:
    ``answered`` is the share of messages not refused, ``answered_accuracy`` the share right of
    those.
    """
    gold = [r["label"] for r in rows]
    top = [r["top"] for r in rows]
    final = [r["intent"] for r in rows]
    answered = [r for r in rows if r["intent"] == r["top"]]
    seconds = [float(r["seconds"]) for r in rows]
    return {
        "messages": len(rows),
        "accuracy": accuracy(gold, top),
        "macro_f1": macro_f1(gold, top),
        "final_accuracy": accuracy(gold, final),
        "answered": len(answered) / len(rows) if rows else 0.0,
        "answered_accuracy": (
            sum(r["top"] == r["label"] for r in answered) / len(answered) if answered else 0.0
        ),
        "parse_ms_p50": 1000 * percentile(seconds, 0.5),
        "parse_ms_p95": 1000 * percentile(seconds, 0.95),
        "parse_ms_mean": 1000 * (sum(seconds) / len(seconds)) if seconds else 0.0,
    }
