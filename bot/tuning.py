"""Choosing the answering thresholds on the development set (eval/dev.yml), never on the test set.

``python -m bot tune`` parses every dev question with the running model (``/model/parse``), scores
retrieval in-process over data/kb, then searches the thresholds that answer the most covered
questions correctly while answering at most ``max_uncovered_wrong`` of the uncovered ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import requests

from bot.evaluation import load_set
from bot.kb.answering import (
    Decision,
    Outcome,
    Thresholds,
    Understanding,
    choose,
    combine,
    decide,
    rank,
    understanding_of,
)
from bot.kb.embeddings import default_encoder
from bot.kb.retrieval import KnowledgeIndex, entries_from_articles, passages_from_articles
from bot.kb.scope import mentions_other_service, out_of_scope_examples
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


@dataclasses.dataclass(frozen=True)
class Item:
    """One question of the set, as the bot sees it."""

    understanding: Understanding
    signals: Dict[str, Dict[str, float]]
    expected: Optional[List[str]]  # None: the knowledge base does not cover it
    words: int
    topic: Dict[str, float] = dataclasses.field(default_factory=dict)
    scope_gap: Optional[float] = None


def tally(items: Sequence[Item], decisions: Sequence[Decision]) -> Dict[str, float]:
    """Top-1 accuracy and wrong-answer rates of the decisions taken for ``items``."""
    covered = sum(i.expected is not None for i in items)
    uncovered = len(items) - covered
    right = wrong_unc = sugg_unc = wrong_cov = 0
    for item, decision in zip(items, decisions, strict=True):
        if item.expected is not None:
            if decision.outcome is Outcome.ANSWER:
                if decision.article_id in item.expected:
                    right += 1
                else:
                    wrong_cov += 1
        else:
            wrong_unc += decision.outcome is Outcome.ANSWER
            sugg_unc += decision.outcome is Outcome.SUGGEST
    return {
        "top1": right / max(covered, 1),
        "covered_wrong": wrong_cov / max(covered, 1),
        "uncovered_wrong": wrong_unc / max(uncovered, 1),
        "uncovered_suggested": sugg_unc / max(uncovered, 1),
    }


def score(items: Sequence[Item], thresholds: Thresholds, allowed: List[str]) -> Dict[str, float]:
    """How one setting does on the items."""
    decisions = [
        decide(
            i.understanding,
            i.signals,
            thresholds,
            allowed=allowed,
            words=i.words,
            topic=i.topic,
            scope_gap=i.scope_gap,
        )
        for i in items
    ]
    return tally(items, decisions)


def collect(url: str, token: str, set_path: Path, kb_dir: Path) -> Dict[str, Any]:
    """Parses and retrieval scores for every question of the set."""
    question_set = load_set(set_path)
    sources = [s for s in load_sources(kb_dir)[0] if s.language == "en" and s.status == "published"]
    index = KnowledgeIndex(
        entries_from_articles(sources),
        encoder=default_encoder(),
        out_of_scope=out_of_scope_examples("en"),
        passages=passages_from_articles(sources),
    )
    rows = [(q["text"], q["expected"]) for q in question_set["covered"]]
    rows += [(q["text"], None) for q in question_set["uncovered"]]
    parsed = parse_all(url, token, [text for text, _ in rows])
    return {
        "allowed": index.article_ids,
        "items": [
            {
                "text": text,
                "expected": expected,
                "parse": parse,
                "signals": index.signals(text),
                "scope_gap": index.scope_gap(text),
                "topic": index.sharing(text),
            }
            for (text, expected), parse in zip(rows, parsed, strict=False)
        ],
    }


SCOPE_GAPS = (None, -0.08, -0.06, -0.04, -0.02, 0.0)


def items_of(data: Dict[str, Any]) -> List[Item]:
    """The collected set (``collect``) as items."""
    return [
        Item(
            understanding=understanding_of(
                i["parse"], other_service=mentions_other_service(i["text"])
            ),
            signals=i["signals"],
            expected=i["expected"],
            words=len(fold(i["text"]).split()),
            topic=i.get("topic") or {},
            scope_gap=i.get("scope_gap"),
        )
        for i in data["items"]
    ]


def search(
    data: Dict[str, Any], max_uncovered_wrong: float
) -> List[Tuple[Dict[str, float], Thresholds]]:
    """Every setting of the grid that keeps uncovered wrong answers within the bound, best first.

    The articles' combined scores depend only on the weights and the out-of-scope penalty: they
    are ranked once per such pair, and the other thresholds are tried on the ranking.
    """
    items = items_of(data)
    results = []
    weights = [
        (sem, lex, round(1 - sem - lex, 2))
        for sem in (0.3, 0.4, 0.5, 0.6, 0.7)
        for lex in (0.1, 0.2, 0.25, 0.3, 0.4)
        if sem + lex < 1
    ]
    for (semantic, lexical, model), penalty in itertools.product(weights, [0.0, 0.2, 0.4, 0.6]):
        base = Thresholds(
            model_weight=model,
            semantic_weight=semantic,
            lexical_weight=lexical,
            out_of_scope_penalty=penalty,
        )
        ranked = [rank(combine(i.understanding, i.signals, base), data["allowed"]) for i in items]
        grid = itertools.product(
            [0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7],  # answer
            [0.0, 0.02, 0.04, 0.06, 0.08],  # margin
            [0.0, 0.05, 0.1, 0.15],  # margin for one- and two-word messages
            SCOPE_GAPS,
        )
        for answer, margin, short, gap in grid:
            thresholds = dataclasses.replace(
                base,
                answer=answer,
                suggest=round(answer - 0.1, 2),
                margin=margin,
                short_margin=max(short, margin),
                scope_gap=gap,
            )
            decisions = [
                choose(r, thresholds, words=i.words, topic=i.topic, scope_gap=i.scope_gap)
                for r, i in zip(ranked, items, strict=True)
            ]
            metrics = tally(items, decisions)
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
