"""Choosing the answering thresholds on the development set (eval/dev.yml), never on the test set.

``python -m bot tune`` parses every dev question with the running model (``/model/parse``), scores
retrieval in-process over data/kb, then searches the thresholds that answer the most covered
questions correctly while answering at most ``max_uncovered_wrong`` of the uncovered ones.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests

from bot.evaluation import load_set
from bot.kb.answering import Outcome, Thresholds, decide, understanding_of
from bot.kb.embeddings import default_encoder
from bot.kb.retrieval import KnowledgeIndex, entries_from_articles
from bot.kb.scope import mentions_other_service
from bot.kb.sources import load_sources
from bot.kb.text import fold
from bot.settings import get_settings, rasa_token


def parse_all(url: str, token: str, texts: List[str]) -> List[Dict[str, Any]]:
    parsed = []
    for text in texts:
        reply = requests.post(
            f"{url}/model/parse", params={"token": token}, json={"text": text}, timeout=60
        )
        reply.raise_for_status()
        parsed.append(reply.json())
    return parsed


def score(
    items: List[Tuple[Any, Dict[str, Dict[str, float]], Optional[List[str]], int]],
    thresholds: Thresholds,
    allowed: List[str],
) -> Dict[str, float]:
    covered = [i for i in items if i[2] is not None]
    uncovered = [i for i in items if i[2] is None]
    right = wrong_unc = sugg_unc = wrong_cov = 0
    for understanding, retrieval, expected, words in items:
        decision = decide(understanding, retrieval, thresholds, allowed=allowed, words=words)
        if expected is not None:
            if decision.outcome is Outcome.ANSWER:
                if decision.article_id in expected:
                    right += 1
                else:
                    wrong_cov += 1
        else:
            wrong_unc += decision.outcome is Outcome.ANSWER
            sugg_unc += decision.outcome is Outcome.SUGGEST
    return {
        "top1": right / max(len(covered), 1),
        "covered_wrong": wrong_cov / max(len(covered), 1),
        "uncovered_wrong": wrong_unc / max(len(uncovered), 1),
        "uncovered_suggested": sugg_unc / max(len(uncovered), 1),
    }


def collect(url: str, token: str, set_path: Path, kb_dir: Path) -> Dict[str, Any]:
    """Parses and retrieval scores for every question of the set."""
    question_set = load_set(set_path)
    sources = [s for s in load_sources(kb_dir)[0] if s.language == "en" and s.status == "published"]
    index = KnowledgeIndex(entries_from_articles(sources), encoder=default_encoder())
    rows = [(q["text"], q["expected"]) for q in question_set["covered"]]
    rows += [(q["text"], None) for q in question_set["uncovered"]]
    parsed = parse_all(url, token, [text for text, _ in rows])
    return {
        "allowed": index.article_ids,
        "items": [
            {"text": text, "expected": expected, "parse": parse, "signals": index.signals(text)}
            for (text, expected), parse in zip(rows, parsed, strict=False)
        ],
    }


def search(
    data: Dict[str, Any], max_uncovered_wrong: float
) -> List[Tuple[Dict[str, float], Thresholds]]:
    """Every setting of the grid that keeps uncovered wrong answers within the bound, best first."""
    items = [
        (
            understanding_of(i["parse"], other_service=mentions_other_service(i["text"])),
            i["signals"],
            i["expected"],
            len(fold(i["text"]).split()),
        )
        for i in data["items"]
    ]
    results = []
    weights = [
        (sem, lex, round(1 - sem - lex, 2))
        for sem in (0.3, 0.4, 0.5, 0.6, 0.7)
        for lex in (0.1, 0.2, 0.25, 0.3, 0.4)
        if sem + lex < 1
    ]
    grid = itertools.product(
        weights,
        [0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7],  # answer
        [0.0, 0.02, 0.04, 0.06, 0.08, 0.1],  # margin
        [0.0, 0.2, 0.4, 0.6, 1.0],  # out-of-scope penalty
        [0.0, 0.05, 0.1, 0.15],  # margin for one- and two-word messages
    )
    for (semantic, lexical, model), answer, margin, penalty, short in grid:
        thresholds = Thresholds(
            answer=answer,
            suggest=round(answer - 0.1, 2),
            margin=margin,
            model_weight=model,
            semantic_weight=semantic,
            lexical_weight=lexical,
            out_of_scope_penalty=penalty,
            short_margin=max(short, margin),
        )
        metrics = score(items, thresholds, data["allowed"])
        if metrics["uncovered_wrong"] <= max_uncovered_wrong:
            results.append((metrics, thresholds))
    # A wrong answer costs as much as a right one gains: the bot must not guess.
    results.sort(
        key=lambda r: (-(r[0]["top1"] - r[0]["covered_wrong"]), r[0]["uncovered_suggested"])
    )
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tuning")
    parser.add_argument("--set", default="eval/dev.yml")
    parser.add_argument("--url", default=get_settings().rasa_url)
    parser.add_argument("--cache", default="results/tuning.json")
    parser.add_argument("--max-uncovered-wrong", type=float, default=0.02)
    args = parser.parse_args(argv)
    cache = Path(args.cache)
    if cache.exists():
        data = json.loads(cache.read_text())
    else:
        data = collect(args.url, rasa_token(get_settings()), Path(args.set), get_settings().kb_dir)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(data))
    for metrics, thresholds in search(data, args.max_uncovered_wrong)[:10]:
        print({k: round(v, 3) for k, v in metrics.items()}, thresholds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
