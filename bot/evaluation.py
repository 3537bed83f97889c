"""The answer-quality benchmark (``make eval``): held-out questions through the REST channel.

Each question is asked in a fresh conversation of a running stack, exactly as a customer would.
The bot's ``kb_answer`` payload says which article answered. Reported:
- covered questions: top-1 accuracy (answered with an expected article), wrong answers,
  suggestions that contained the right article, "don't know";
- uncovered questions: wrong-answer rate (answered with any article), suggestion rate;
- time per message through the REST channel (median, p95), model size and training time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests
import yaml

from bot.settings import get_settings


def load_set(path: Path) -> Dict[str, List[Dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {"covered": data.get("covered") or [], "uncovered": data.get("uncovered") or []}


def ask(url: str, text: str) -> Dict[str, Any]:
    """One question in a new conversation: what kind of reply, which article(s), how long."""
    sender = "eval-" + uuid.uuid4().hex[:12]
    start = time.perf_counter()
    reply = requests.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    seconds = time.perf_counter() - start
    reply.raise_for_status()
    result: Dict[str, Any] = {
        "kind": "other",
        "article_id": None,
        "suggestions": [],
        "seconds": seconds,
    }
    for message in reply.json():
        custom = message.get("custom") or {}
        if "kb_answer" in custom:
            result.update(
                kind="answer",
                article_id=custom["kb_answer"]["article_id"],
                confidence=custom["kb_answer"]["confidence"],
            )
        elif "kb_suggestions" in custom:
            result.update(
                kind="suggest", suggestions=[s["article_id"] for s in custom["kb_suggestions"]]
            )
        elif "kb_miss" in custom:
            result.update(kind="unknown")
        elif "handoff" in custom:
            result.update(kind="handoff")
    return result


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def evaluate(url: str, question_set: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    covered, uncovered = [], []
    for item in question_set["covered"]:
        result = ask(url, item["text"])
        result.update(text=item["text"], expected=list(item["expected"]))
        covered.append(result)
    for item in question_set["uncovered"]:
        result = ask(url, item["text"])
        result.update(text=item["text"])
        uncovered.append(result)
    return summarize(covered, uncovered)


def summarize(covered: List[Dict[str, Any]], uncovered: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The measures of the results of ``ask`` (each with ``text``, and ``expected`` for a
    covered question): shares, latency and the failures."""
    times = [r["seconds"] for r in covered + uncovered]
    n_cov, n_unc = max(len(covered), 1), max(len(uncovered), 1)
    correct = [r for r in covered if r["kind"] == "answer" and r["article_id"] in r["expected"]]
    wrong = [r for r in covered if r["kind"] == "answer" and r["article_id"] not in r["expected"]]
    suggested_right = [
        r for r in covered if r["kind"] == "suggest" and set(r["suggestions"]) & set(r["expected"])
    ]
    unc_answered = [r for r in uncovered if r["kind"] == "answer"]
    return {
        "covered": {
            "questions": len(covered),
            "top1_accuracy": len(correct) / n_cov,
            "wrong_answer_rate": len(wrong) / n_cov,
            "suggested_with_right_article": len(suggested_right) / n_cov,
            "answered_or_suggested_right": (len(correct) + len(suggested_right)) / n_cov,
            "unknown_rate": sum(r["kind"] == "unknown" for r in covered) / n_cov,
        },
        "uncovered": {
            "questions": len(uncovered),
            "wrong_answer_rate": len(unc_answered) / n_unc,
            "suggestion_rate": sum(r["kind"] == "suggest" for r in uncovered) / n_unc,
            "unknown_rate": sum(r["kind"] == "unknown" for r in uncovered) / n_unc,
        },
        "latency_ms": {
            "median": statistics.median(times) * 1000 if times else 0.0,
            "p95": percentile(times, 0.95) * 1000,
            "messages": len(times),
        },
        "failures": {
            "wrong_answers": [
                {
                    "text": r["text"],
                    "expected": r["expected"],
                    "got": r["article_id"],
                    "confidence": r.get("confidence"),
                }
                for r in wrong
            ],
            "missed": [
                {
                    "text": r["text"],
                    "expected": r["expected"],
                    "kind": r["kind"],
                    "suggestions": r["suggestions"],
                }
                for r in covered
                if r not in correct and r not in wrong
            ],
            "uncovered_answered": [
                {"text": r["text"], "got": r["article_id"], "confidence": r.get("confidence")}
                for r in unc_answered
            ],
        },
    }


def model_facts(model: Optional[Path]) -> Dict[str, Any]:
    if model is None or not model.exists():
        return {}
    facts: Dict[str, Any] = {"model": model.name, "model_mb": model.stat().st_size / 1e6}
    timing = model.with_name(model.name.replace(".tar.gz", ".train-seconds"))
    if timing.exists():
        facts["training_seconds"] = float(timing.read_text().strip())
    return facts


def report_markdown(report: Dict[str, Any], set_name: str) -> str:
    c, u, t, m = report["covered"], report["uncovered"], report["latency_ms"], report["model"]
    lines = [
        f"# Answer quality on {set_name}",
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| top-1 answer accuracy ({c['questions']} covered questions) | "
        f"{c['top1_accuracy']:.1%} | ≥ 95% |",
        f"| wrong answers on covered questions | {c['wrong_answer_rate']:.1%} | |",
        f"| right article among suggestions | {c['suggested_with_right_article']:.1%} | |",
        f"| answered or suggested right | {c['answered_or_suggested_right']:.1%} | |",
        f"| wrong-answer rate on uncovered questions ({u['questions']}) | "
        f"{u['wrong_answer_rate']:.1%} | ≤ 3% |",
        f"| uncovered: suggestions offered | {u['suggestion_rate']:.1%} | |",
        f"| median time per message (REST) | {t['median']:.0f} ms | |",
        f"| p95 time per message (REST) | {t['p95']:.0f} ms | |",
        f"| model size | {m.get('model_mb', 0):.1f} MB | |",
        f"| training time | {m.get('training_seconds', float('nan')):.0f} s | |",
        "",
    ]
    for title, key in (
        ("Wrong answers", "wrong_answers"),
        ("Missed", "missed"),
        ("Uncovered questions answered", "uncovered_answered"),
    ):
        items = report["failures"][key]
        lines += [f"## {title} ({len(items)})", ""]
        lines += [f"- {json.dumps(item, ensure_ascii=False)}" for item in items]
        lines.append("")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    from bot.serve import model_for_tests
    from bot.stack import Stack

    set_path = Path(args.set)
    question_set = load_set(set_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = model_for_tests()
    stack = None
    url = args.url or get_settings().rasa_url
    if getattr(args, "start", False):
        if model is None:
            print("no trained model: run `make train`")
            return 2
        stack = Stack(Path(tempfile.mkdtemp(prefix="eval-")), model.resolve())
        stack.setup_database()
        stack.start()
        url = stack.url
    try:
        report = evaluate(url, question_set)
    finally:
        if stack is not None:
            stack.stop()
    report["model"] = model_facts(model)
    report["set"] = str(set_path)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    markdown = report_markdown(report, set_path.name)
    (out / "report.md").write_text(markdown)
    print(markdown.split("## ")[0])
    print(f"full report: {out / 'report.md'}")
    return 0
