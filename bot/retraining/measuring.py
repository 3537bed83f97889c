"""What the bot would answer to each question of an evaluation set with a model's parses, by the
bot's own rules (``bot.kb.trying``: the same decision as the action server and "Try it"), and the
measures ``make eval`` reports (``bot.evaluation.summarize``).

Both models are measured against the same live index (the published articles now), so only the
model differs.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Sequence

from bot.evaluation import summarize
from bot.kb.answering import Thresholds
from bot.kb.retrieval import KnowledgeIndex
from bot.kb.trying import try_question


def questions_of(question_set: Mapping[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """Every question of the set in one list: covered ones (with ``expected``) first."""
    covered = [
        {"text": str(q["text"]), "expected": list(q["expected"])} for q in question_set["covered"]
    ]
    uncovered = [{"text": str(q["text"]), "expected": []} for q in question_set["uncovered"]]
    return covered + uncovered


def result_of(
    index: KnowledgeIndex, text: str, parse: Mapping[str, Any], thresholds: Thresholds
) -> Dict[str, Any]:
    """What the bot does with ``text``: ``kind`` (answer, suggest, unknown, handoff, other), the
    ``article_id`` answered with and the ``suggestions``, as ``bot.evaluation.ask`` reads them
    from the bot's replies."""
    start = time.perf_counter()
    tried = try_question(index, text, parse, thresholds)
    route, published = tried["route"], tried["published"]
    result: Dict[str, Any] = {"kind": "other", "article_id": None, "suggestions": []}
    if route["to"] == "handoff":
        result["kind"] = "handoff"
    elif route["to"] == "knowledge_base":
        result["kind"] = published["outcome"]
        if published["outcome"] == "answer":
            result["article_id"] = published["article_id"]
            result["confidence"] = published["candidates"][0]["confidence"]
        elif published["outcome"] == "suggest":
            result["suggestions"] = [c["article_id"] for c in published["candidates"]]
    result["seconds"] = time.perf_counter() - start
    return result


def measure(
    index: KnowledgeIndex,
    questions: Sequence[Mapping[str, Any]],
    parses: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
) -> Dict[str, Any]:
    """The measures of one model (its ``parses`` of ``questions``, in order): ``make eval``'s
    shares, the counts the comparison needs, and every question's result (``results``)."""
    if len(parses) != len(questions):
        raise ValueError(f"{len(parses)} parses for {len(questions)} questions")
    results = []
    for question, parse in zip(questions, parses, strict=False):
        result = result_of(index, question["text"], parse, thresholds)
        results.append({**result, "text": question["text"], "expected": question["expected"]})
    covered = [r for r in results if r["expected"]]
    uncovered = [r for r in results if not r["expected"]]
    report = summarize(covered, uncovered)
    report["covered"]["correct"] = sum(
        r["kind"] == "answer" and r["article_id"] in r["expected"] for r in covered
    )
    report["covered"]["wrong"] = len(report["failures"]["wrong_answers"])
    report["uncovered"]["answered"] = len(report["failures"]["uncovered_answered"])
    del report["failures"]  # the results say it, and the comparison lists what changed
    report["results"] = [
        {k: r[k] for k in ("text", "expected", "kind", "article_id", "suggestions")}
        for r in results
    ]
    return report
