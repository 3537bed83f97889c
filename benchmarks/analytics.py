"""How long the analytics report takes on many synthetic conversations.

``python -m benchmarks.analytics --conversations 10000`` creates a fresh SQLite database (our
migrations, and Rasa's own ``events`` table through its SQL tracker store), writes the
conversations as Rasa writes them (about a dozen events each: the session's start, actions,
what was said, slots) over the last 30 days, with handoffs, ratings and surveys, then times
``bot.analytics.report.build`` for the 30 days (``make bench-analytics``). With ``--older N``,
N more conversations fill the 11 months before (a year of history, of which the report reads a
month); ``--without-time-index`` drops the index on the events' time to measure what it saves
(``bot.live.tracker.ensure_indexes``). Every tenth
conversation goes to a person, every tenth is rated "didn't help", every tenth is not
understood (in ``--miss-wordings`` wordings, 7 by default); the rest are answered. The unanswered
topics are grouped with the sentence encoder (``--without-encoder``: by character n-grams).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bot import db
from bot.analytics.report import build
from bot.analytics.window import make_window
from bot.handoff.models import Handoff, HandoffEvent, Survey
from bot.kb.embeddings import SentenceEncoder, default_encoder
from bot.kb.models import ArticleRating
from bot.live.tracker import EVENTS
from bot.timeutil import utcnow

ARTICLES = ("return-policy", "refund-timing", "gift-cards", "delivery-times", "warranty")
EVENT_COLUMNS = {"sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"}


def _event(sender: str, kind: str, stamp: float, **data: Any) -> Dict[str, Any]:
    event = {"event": kind, "timestamp": stamp, **data}
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": stamp,
        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
        "action_name": data.get("name") if kind == "action" else None,
        "data": json.dumps(event),
    }


def conversation_events(
    sender: str, start: float, kind: int, i: int, *, miss_wordings: int = 7
) -> List[Dict[str, Any]]:
    """One conversation's rows: ``kind`` 0 handoff, 1 "didn't help", 2 not understood (in one
    of ``miss_wordings`` wordings), else answered."""
    rows = [
        _event(sender, "action", start, name="action_session_start"),
        _event(sender, "session_started", start),
        _event(sender, "action", start, name="action_listen"),
    ]
    if kind == 2:
        text = f"do you sell gift wrapping {i % miss_wordings}"
        intent = {"name": "nlu_fallback", "confidence": 0.3}
        rows.append(_event(sender, "user", start + 1, text=text, parse_data={"intent": intent}))
        rows.append(_event(sender, "action", start + 2, name="action_answer_from_kb"))
        rows.append(_event(sender, "bot", start + 2, text="Sorry, I don't know.", data={}))
        custom = {"custom": {"kb_miss": {"count": 1}}}
        rows.append(_event(sender, "bot", start + 2, text=None, data=custom))
        rows.append(_event(sender, "slot", start + 2, name="kb_misses", value=1.0))
        return rows
    article = ARTICLES[i % len(ARTICLES)]
    intent = {"name": "faq", "confidence": 0.9}
    answer = {"article_id": article, "version": 1, "language": "en", "confidence": 0.9}
    rows += [
        _event(sender, "user", start + 1, text="a question", parse_data={"intent": intent}),
        _event(sender, "action", start + 2, name="action_answer_from_kb"),
        _event(sender, "bot", start + 2, text="The answer.", data={}),
        _event(sender, "bot", start + 2, text=None, data={"custom": {"kb_answer": answer}}),
        _event(sender, "bot", start + 2, text="Did this help?", data={}),
        _event(sender, "slot", start + 2, name="last_answer", value=answer),
        _event(sender, "slot", start + 2, name="language", value="en"),
        _event(sender, "action", start + 2, name="action_listen"),
    ]
    if kind == 0:
        meta = {"author": "agent", "display_name": "Ona"}
        rows.append(_event(sender, "bot", start + 90, text="Hello", data={}, metadata=meta))
    return rows


def write_handoff(
    session: Session,
    conversation_id: str,
    created: dt.datetime,
    *,
    reason: str = "asked_for_person",
    language: str = "en",
    status: str = "queued",
    claimed: Optional[dt.datetime] = None,
    closed: Optional[dt.datetime] = None,
) -> Handoff:
    """A handoff queued at ``created``, claimed at ``claimed``, then resolved or abandoned
    (``status``) at ``closed``: its row and its events, as ``bot.handoff.queue`` writes them."""
    handoff = Handoff(
        conversation_id=conversation_id,
        status=status,
        reason=reason,
        language=language,
        created_at=created,
        queued_at=created,
        assigned_at=claimed,
        closed_at=closed,
        updated_at=created,
        context={},
    )
    session.add(handoff)
    session.flush()
    events: List[Tuple[str, Optional[str], str, dt.datetime]] = [
        ("request", None, "queued", created)
    ]
    if claimed is not None:
        events.append(("claim", "queued", "assigned", claimed))
    if status in ("resolved", "abandoned") and closed is not None:
        events.append(
            ("resolve" if status == "resolved" else "leave", events[-1][2], status, closed)
        )
    for action, before, after, when in events:
        session.add(
            HandoffEvent(
                handoff_pk=handoff.pk,
                action=action,
                from_status=before,
                to_status=after,
                actor="synthetic",
                created_at=when,
            )
        )
    return handoff


def populate(
    database_url: str,
    conversations: int,
    *,
    since: dt.datetime,
    until: dt.datetime,
    prefix: str = "bench",
    miss_wordings: int = 7,
) -> None:
    """``conversations`` synthetic conversations spread evenly from ``since`` to ``until``, their
    ids starting with ``prefix``; the not understood ones in ``miss_wordings`` wordings."""
    from rasa_ext.tracker_store import UrlSQLTrackerStore  # Rasa creates its own table

    UrlSQLTrackerStore(url=database_url).engine.dispose()
    engine = db.make_engine(database_url)
    step = (until - since).total_seconds() / max(1, conversations)
    events: List[Dict[str, Any]] = []
    handoffs: List[Dict[str, Any]] = []
    ratings: List[Dict[str, Any]] = []
    for i in range(conversations):
        start = since + dt.timedelta(seconds=i * step)
        sender, kind = f"{prefix}-{i:06d}-conversation", i % 10
        events += conversation_events(
            sender, start.timestamp(), kind, i, miss_wordings=miss_wordings
        )
        if kind == 0:
            handoffs.append({"i": i, "sender": sender, "start": start})
        if kind == 1:
            ratings.append(
                {
                    "conversation_id": sender,
                    "article_id": ARTICLES[i % len(ARTICLES)],
                    "language": "en",
                    "version": 1,
                    "helpful": False,
                    "created_at": start + dt.timedelta(seconds=20),
                }
            )
    with engine.begin() as connection:
        for offset in range(0, len(events), 5000):
            connection.execute(insert(EVENTS), events[offset : offset + 5000])
        if ratings:
            connection.execute(insert(ArticleRating.__table__), ratings)
    with db.session_scope(engine) as session:
        for item in handoffs:
            at = item["start"] + dt.timedelta(seconds=30)
            handoff = write_handoff(
                session,
                item["sender"],
                at,
                claimed=at + dt.timedelta(seconds=45),
                closed=at + dt.timedelta(seconds=600),
                status="resolved",
            )
            session.add(
                Survey(
                    conversation_id=item["sender"],
                    handoff_pk=handoff.pk,
                    score=4 + (item["i"] // 10) % 2,
                    created_at=at + dt.timedelta(seconds=620),
                )
            )
    engine.dispose()


def measure(
    database_url: str,
    *,
    now: dt.datetime,
    repeats: int = 3,
    encoder: Optional[SentenceEncoder] = None,
) -> Dict[str, Any]:
    """The report for the 30 days up to ``now``, ``repeats`` times: the times and the report."""
    engine = db.make_engine(database_url)
    window = make_window(first=None, last=None, now=now)
    times: List[float] = []
    result: Dict[str, Any] = {}
    for _ in range(repeats):
        began = time.perf_counter()
        result = build(engine, engine, window, encoder=encoder)
        times.append(time.perf_counter() - began)
    engine.dispose()
    return {"seconds": times, "median_seconds": statistics.median(times), "report": result}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--older",
        type=int,
        default=0,
        help="conversations written in the 11 months before the period (history the report skips)",
    )
    parser.add_argument(
        "--without-time-index",
        action="store_true",
        help="drop the index on the events' time first (to measure what it saves)",
    )
    parser.add_argument(
        "--miss-wordings",
        type=int,
        default=7,
        help="distinct wordings of the not understood messages (grouped into topics)",
    )
    parser.add_argument(
        "--without-encoder",
        action="store_true",
        help="group the unanswered topics by character n-grams only",
    )
    parser.add_argument(
        "--database-url", help="an empty database to fill (PostgreSQL); default: a new SQLite file"
    )
    args = parser.parse_args(argv)
    now = utcnow()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'analytics.db'}"
        db.upgrade(url)
        began = time.perf_counter()
        window = make_window(first=None, last=None, now=now)
        # the 30 days up to an hour ago, so that every conversation has ended
        populate(
            url,
            args.conversations,
            since=window.start,
            until=now - dt.timedelta(hours=1),
            miss_wordings=max(1, args.miss_wordings),
        )
        if args.older:
            history = window.start - dt.timedelta(days=2)
            populate(
                url,
                args.older,
                since=history - dt.timedelta(days=335),
                until=history,
                prefix="older",
            )
        if args.without_time_index:
            engine = db.make_engine(url)
            with engine.begin() as connection:
                connection.execute(text("DROP INDEX IF EXISTS ix_events_timestamp"))
            engine.dispose()
        written = time.perf_counter() - began
        encoder = None if args.without_encoder else default_encoder()
        measured = measure(url, now=now, repeats=args.repeats, encoder=encoder)
    summary = measured["report"]["summary"]
    print(f"{args.conversations} conversations (+{args.older} older) written in {written:.1f} s")
    print("report: " + ", ".join(f"{s:.2f} s" for s in measured["seconds"]))
    print(
        f"conversations {summary['conversations']}, resolution {summary['resolution_rate']}, "
        f"handoff {summary['handoff_rate']}, wrong answers {summary['wrong_answer_rate']}"
    )
    report = measured["report"]
    print(
        f"unanswered topics {len(report['unanswered'])} (largest "
        f"{report['unanswered'][0]['count'] if report['unanswered'] else 0} messages), "
        f"{report['unanswered_left_out']} messages of rarer wordings not grouped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
