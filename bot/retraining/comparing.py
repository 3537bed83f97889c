"""Whether a candidate model is not worse than the current one, and what got worse.

The rule, on the same evaluation set (``eval/dev.yml``) and the same articles:
1. top-1 accuracy on covered questions (answered with an expected article) may be lower than
   the current model's by at most ``tolerance`` (default 0.01: one percentage point, about two
   questions of the 242; retraining on new question variants moves a few borderline ones);
2. wrong answers may not be more: a covered question answered with another article, or an
   uncovered question answered at all (a wrong answer is worse than "I don't know", PRODUCT.md).
Without a current model to compare with, the candidate is not worse.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

DEFAULT_TOLERANCE = 0.01
MAX_LISTED = 50  # questions listed as worse in the job's report


def wrong_answers(measures: Mapping[str, Any]) -> int:
    """Covered questions answered with another article plus uncovered ones answered."""
    return int(measures["covered"]["wrong"]) + int(measures["uncovered"]["answered"])


def compare(
    current: Optional[Mapping[str, Any]],
    candidate: Mapping[str, Any],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Dict[str, Any]:
    """The verdict: ``not_worse``, the ``reasons`` it is worse (plain sentences), the numbers
    side by side, and the questions that got worse (``worse``: right before and not now, or a
    wrong answer now and not before)."""
    if current is None:
        return {
            "not_worse": True,
            "rule": rule_text(tolerance),
            "reasons": [],
            "note": "no current model to compare with",
            "top1": {"current": None, "candidate": candidate["covered"]["top1_accuracy"]},
            "wrong_answers": {"current": None, "candidate": wrong_answers(candidate)},
            "worse": [],
            "better": [],
        }
    top1_now = float(current["covered"]["top1_accuracy"])
    top1_new = float(candidate["covered"]["top1_accuracy"])
    wrong_now, wrong_new = wrong_answers(current), wrong_answers(candidate)
    reasons: List[str] = []
    if top1_new < top1_now - tolerance - 1e-9:
        reasons.append(
            f"top-1 accuracy fell from {top1_now:.1%} to {top1_new:.1%} "
            f"(at most {points(tolerance)} lower is allowed)"
        )
    if wrong_new > wrong_now:
        reasons.append(f"wrong answers rose from {wrong_now} to {wrong_new}")
    worse, better = changed_questions(current["results"], candidate["results"])
    return {
        "not_worse": not reasons,
        "rule": rule_text(tolerance),
        "reasons": reasons,
        "top1": {"current": top1_now, "candidate": top1_new},
        "wrong_answers": {"current": wrong_now, "candidate": wrong_new},
        "worse": worse[:MAX_LISTED],
        "worse_count": len(worse),
        "better": better[:MAX_LISTED],
        "better_count": len(better),
    }


def rule_text(tolerance: float) -> str:
    return (
        f"not worse: top-1 accuracy at most {points(tolerance)} lower than the current "
        "model's, and no more wrong answers"
    )


def points(share: float) -> str:
    """A difference of shares in percentage points: 0.01 -> "1 percentage point"."""
    value = round(share * 100, 2)
    return f"{value:g} percentage point{'' if value == 1 else 's'}"


def changed_questions(
    current: List[Mapping[str, Any]], candidate: List[Mapping[str, Any]]
) -> tuple:
    """(worse, better): the questions whose result changed for the worse or the better, each
    with what the current and the candidate model do with it. Both lists are of the same
    questions in the same order."""
    worse: List[Dict[str, Any]] = []
    better: List[Dict[str, Any]] = []
    for before, after in zip(current, candidate, strict=False):
        if before["text"] != after["text"]:
            raise ValueError("the two results are not of the same questions")
        rank_before, rank_after = grade(before), grade(after)
        if rank_after == rank_before:
            continue
        item = {
            "text": after["text"],
            "expected": list(after.get("expected") or []),
            "current": _what(before),
            "candidate": _what(after),
        }
        (worse if rank_after < rank_before else better).append(item)
    return worse, better


def grade(result: Mapping[str, Any]) -> int:
    """How good one result is: 2 right answer, 1 not answered (suggestions, "don't know",
    a person), 0 wrong answer. For an uncovered question, not answering is right."""
    answered = result["kind"] == "answer"
    if result.get("expected"):
        if answered:
            return 2 if result["article_id"] in result["expected"] else 0
        return 1
    return 0 if answered else 2


def _what(result: Mapping[str, Any]) -> str:
    kind = result["kind"]
    if kind == "answer":
        return f"answers {result['article_id']}"
    if kind == "suggest":
        return (
            "offers " + ", ".join(result.get("suggestions") or [])
            if result.get("suggestions")
            else "offers choices"
        )
    return {"unknown": "does not know", "handoff": "hands off", "other": "answers otherwise"}.get(
        kind, kind
    )
