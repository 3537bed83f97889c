"""Threshold tuning: scoring a setting, and the search that keeps uncovered wrong answers bounded."""

from __future__ import annotations

from bot.kb.answering import Thresholds, Understanding
from bot.tuning import Item, score, search

COVERED = Item(Understanding("faq", 0.9, {"a": 0.9}), {"semantic": {"a": 0.9, "b": 0.2}}, ["a"], 5)
WRONG = Item(Understanding("faq", 0.9, {"b": 0.9}), {"semantic": {"a": 0.3, "b": 0.8}}, ["a"], 5)
UNCOVERED = Item(Understanding("out_of_scope", 1.0, {}), {"semantic": {"b": 0.3}}, None, 5)


def test_score_counts_right_wrong_and_uncovered() -> None:
    metrics = score([COVERED, WRONG, UNCOVERED], Thresholds(), ["a", "b"])
    assert metrics["top1"] == 0.5 and metrics["covered_wrong"] == 0.5
    assert metrics["uncovered_wrong"] == 0.0


def parse(intent: str, confidence: float, ranking: dict) -> dict:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "response_selector": {
            "faq": {
                "ranking": [
                    {"intent_response_key": f"faq/{a}", "confidence": c} for a, c in ranking.items()
                ]
            }
        },
    }


def test_search_never_returns_a_setting_over_the_bound() -> None:
    data = {
        "allowed": ["a", "b"],
        "items": [
            {
                "text": "how do refunds work",
                "expected": ["a"],
                "parse": parse("faq", 0.9, {"a": 0.8}),
                "signals": {"semantic": {"a": 0.8}, "lexical": {"a": 0.6}},
            },
            {
                "text": "what is the weather",
                "expected": None,
                "parse": parse("faq", 0.9, {"b": 0.6}),
                "signals": {"semantic": {"b": 0.55}, "lexical": {"b": 0.4}},
            },
        ],
    }
    results = search(data, max_uncovered_wrong=0.0)
    assert results, "some setting answers the covered question and not the other"
    assert all(metrics["uncovered_wrong"] == 0.0 for metrics, _ in results)
    assert results[0][0]["top1"] == 1.0


def test_the_scope_gap_keeps_a_near_topic_question_from_being_answered() -> None:
    near_topic = Item(
        Understanding("faq", 1.0, {"b": 0.9}), {"semantic": {"b": 0.8}}, None, 5, scope_gap=0.05
    )
    assert score([near_topic], Thresholds(scope_gap=None), ["b"])["uncovered_wrong"] == 1.0
    gated = score([near_topic], Thresholds(scope_gap=0.0), ["b"])
    assert gated["uncovered_wrong"] == 0.0 and gated["uncovered_suggested"] == 1.0
