"""The quality benchmark (`make eval`) measures what the running stack does."""

from __future__ import annotations

import pytest

from bot.evaluation import evaluate, report_markdown

pytestmark = pytest.mark.e2e


def test_evaluate_against_the_stack(stack) -> None:
    question_set = {
        "covered": [
            {"text": "How many days do I have to return something?", "expected": ["return-policy"]},
            {"text": "How many days do I have to return something?", "expected": ["gift-cards"]},
        ],
        "uncovered": [{"text": "What will the weather be in Riga tomorrow?"}],
    }
    report = evaluate(stack.url, question_set)
    assert report["covered"]["top1_accuracy"] == 0.5
    assert report["covered"]["wrong_answer_rate"] == 0.5
    assert report["uncovered"]["wrong_answer_rate"] == 0.0
    assert report["latency_ms"]["messages"] == 3 and report["latency_ms"]["median"] > 0
    assert report["failures"]["wrong_answers"][0]["expected"] == ["gift-cards"]
    report["model"] = {}
    assert "top-1 answer accuracy" in report_markdown(report, "tiny.yml")
