"""The rule that loads a new model only if it is not worse, and the questions it lists."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from bot.retraining.comparing import compare, grade, wrong_answers


def result(text: str, kind: str, article: Optional[str] = None, expected=()) -> Dict[str, Any]:
    return {
        "text": text,
        "expected": list(expected),
        "kind": kind,
        "article_id": article,
        "suggestions": [article] if kind == "suggest" and article else [],
    }


def measures(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The counts measuring.measure gives, from the results."""
    covered = [r for r in results if r["expected"]]
    uncovered = [r for r in results if not r["expected"]]
    right = sum(grade(r) == 2 for r in covered)
    return {
        "covered": {
            "questions": len(covered),
            "top1_accuracy": right / len(covered),
            "wrong": sum(grade(r) == 0 for r in covered),
        },
        "uncovered": {
            "questions": len(uncovered),
            "answered": sum(grade(r) == 0 for r in uncovered),
        },
        "results": results,
    }


QUESTIONS = [(f"q{i}", f"a{i % 3}") for i in range(100)]


def covered(right: int, wrong: int = 0) -> List[Dict[str, Any]]:
    """100 covered questions: ``right`` answered right, ``wrong`` wrongly, the rest offered."""
    out = []
    for i, (text, article) in enumerate(QUESTIONS):
        if i < right:
            out.append(result(text, "answer", article, [article]))
        elif i < right + wrong:
            out.append(result(text, "answer", "other-article", [article]))
        else:
            out.append(result(text, "suggest", article, [article]))
    return out


def uncovered(answered: int) -> List[Dict[str, Any]]:
    return [
        result(f"u{i}", "answer", "a0") if i < answered else result(f"u{i}", "unknown")
        for i in range(10)
    ]


@pytest.mark.parametrize(
    ("now", "new", "not_worse", "why"),
    [
        ((90, 2, 1), (90, 2, 1), True, None),  # the same
        ((90, 2, 1), (95, 1, 0), True, None),  # better
        ((90, 2, 1), (89, 2, 1), True, None),  # one point lower: within the tolerance
        ((90, 2, 1), (88, 2, 1), False, "top-1 accuracy fell from 90.0% to 88.0%"),
        ((90, 2, 1), (90, 3, 1), False, "wrong answers rose from 3 to 4"),  # covered wrong
        ((90, 2, 1), (91, 1, 3), False, "wrong answers rose from 3 to 4"),  # uncovered answered
        ((90, 2, 1), (95, 2, 2), False, "wrong answers rose"),  # more right does not buy it
    ],
)
def test_the_rule(now, new, not_worse, why) -> None:
    current = measures(covered(now[0], now[1]) + uncovered(now[2]))
    candidate = measures(covered(new[0], new[1]) + uncovered(new[2]))
    verdict = compare(current, candidate, tolerance=0.01)
    assert verdict["not_worse"] is not_worse
    if why is None:
        assert verdict["reasons"] == []
    else:
        assert any(why in reason for reason in verdict["reasons"])
    assert verdict["wrong_answers"] == {
        "current": wrong_answers(current),
        "candidate": wrong_answers(candidate),
    }


def test_the_questions_that_got_worse_are_listed_with_what_each_model_does() -> None:
    current = measures(covered(90) + uncovered(0))
    candidate = measures(covered(85, 3) + uncovered(1))
    verdict = compare(current, candidate)
    assert not verdict["not_worse"]
    assert verdict["worse_count"] == 5 + 1  # q85-q89 lost; u0 newly answered
    first = verdict["worse"][0]
    assert first == {
        "text": "q85",
        "expected": ["a1"],
        "current": "answers a1",
        "candidate": "answers other-article",
    }
    assert {
        "text": "u0",
        "expected": [],
        "current": "does not know",
        "candidate": "answers a0",
    } in (verdict["worse"])
    assert verdict["better"] == []


def test_a_tolerance_of_zero_refuses_any_drop() -> None:
    current = measures(covered(90))
    candidate = measures(covered(89))
    assert not compare(current, candidate, tolerance=0.0)["not_worse"]
    assert compare(current, candidate, tolerance=0.01)["not_worse"]


def test_without_a_current_model_the_candidate_is_not_worse() -> None:
    verdict = compare(None, measures(covered(10, 50)))
    assert verdict["not_worse"] and verdict["note"] == "no current model to compare with"


def test_results_of_other_questions_are_not_compared() -> None:
    current = measures(covered(90))
    other = measures([dict(r, text=r["text"] + "!") for r in covered(90)])
    with pytest.raises(ValueError):
        compare(current, other)
