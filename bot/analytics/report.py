"""The analytics report: the product's metrics (PRODUCT.md, "Metrics") over a period.

The definitions, in editors' words and with their edge cases, are in docs/analytics.md; in short:

- a conversation counts from its start (``bot.analytics.conversations``) when the customer wrote
  something; it is *open* while its last event is less than ``SESSION_GAP`` old (with no later
  conversation of the same id) or its handoff is queued or with an agent, then *waiting* for the
  come-back window until 24 hours after its end, then *decided*;
- a decided conversation is *resolved by self-service* when the bot answered (an article or an
  order's status), there was no handoff, no "didn't help", and the same customer (the same
  conversation id, or the same verified e-mail on a handoff) did not start a conversation on one
  of its topics (the articles answered, order status) within ``COME_BACK`` after it ended;
- handoff rate: conversations with a handoff out of conversations, and handoffs by reason;
- wrong-answer rate: "didn't help" answers out of articles answered (both by their own time);
- wait: from first queued to first claimed; first response: from first queued to the agent's
  first message in the conversation (from the tracker; else the handoff's record of it);
  resolution: from the handoff to its close (resolved ones); abandonment: queued handoffs the
  customer left before an agent took them;
- CSAT: the 1-5 surveys, mean and share of 4 and 5.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy.engine import Engine

from bot import db
from bot.analytics import records
from bot.analytics.conversations import SESSION_GAP, Conversation, read_conversations
from bot.analytics.topics import group_unanswered
from bot.analytics.window import Window
from bot.handoff.context import REASON_WORDS
from bot.handoff.models import REASONS
from bot.kb.embeddings import SentenceEncoder

COME_BACK = dt.timedelta(hours=24)
OPEN_STATUSES = ("queued", "assigned")
# How far before the period conversations are read, so that one begun just before it is whole.
LEAD = dt.timedelta(days=1)


def rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def seconds(values: List[float]) -> Dict[str, Optional[float]]:
    """Median and 90th percentile (nearest rank) of durations, and how many there were."""
    if not values:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]
    return {"count": len(ordered), "median": round(statistics.median(ordered), 1), "p90": p90}


class _Customers:
    """Conversation ids joined into customers by a shared verified e-mail (union-find)."""

    def __init__(self) -> None:
        self.parent: Dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def link(
    conversations: List[Conversation],
    handoffs: List[records.HandoffRow],
    ratings: List[records.RatingRow],
    default_language: str,
) -> None:
    """Gives each conversation its handoffs, bad ratings, customer and language."""
    by_id: Dict[str, List[Conversation]] = defaultdict(list)
    for conversation in conversations:
        by_id[conversation.conversation_id].append(conversation)

    def owner(conversation_id: str, when: dt.datetime) -> Optional[Conversation]:
        """The conversation of that id going on at ``when``, if any."""
        for conversation in by_id.get(conversation_id, ()):
            if conversation.started <= when <= conversation.ended + SESSION_GAP:
                return conversation
        return None

    customers = _Customers()
    for handoff in handoffs:
        taker = owner(handoff.conversation_id, handoff.created_at)
        if taker is not None:
            taker.handoffs.append(handoff)
        if handoff.customer_key:
            customers.join("id:" + handoff.conversation_id, "key:" + handoff.customer_key)
    for rating in ratings:
        rated = owner(rating.conversation_id, rating.created_at)
        if rated is not None and not rating.helpful:
            rated.unhelpful += 1
    for conversation in conversations:
        if conversation.verified_email:
            customers.join(
                "id:" + conversation.conversation_id, "key:" + conversation.verified_email
            )
    for conversation in conversations:
        conversation.customer = customers.find("id:" + conversation.conversation_id)
        if conversation.language is None:
            known = [lang for _, _, lang in conversation.answers if lang]
            known += [h.language for h in conversation.handoffs]
            conversation.language = known[0] if known else default_language


def came_back(conversation: Conversation, others: Iterable[Conversation]) -> bool:
    """The same customer started a conversation on one of its topics within ``COME_BACK``."""
    topics = conversation.topics
    return any(
        other is not conversation
        and conversation.ended <= other.started <= conversation.ended + COME_BACK
        and topics & other.topics
        for other in others
    )


def state_of(conversation: Conversation, now: dt.datetime) -> str:
    """open, waiting (for the come-back window to close) or decided."""
    if any(h.status in OPEN_STATUSES for h in conversation.handoffs):
        return "open"
    if not conversation.followed and now - conversation.ended < SESSION_GAP:
        return "open"
    return "waiting" if now < conversation.ended + COME_BACK else "decided"


def _bucket_row(bucket: dt.date) -> Dict[str, Any]:
    return {
        "bucket": bucket.isoformat(),
        "conversations": 0,
        "decided": 0,
        "resolved": 0,
        "with_handoff": 0,
        "answers": 0,
        "unhelpful": 0,
        "surveys": 0,
        "_scores": [],
        "_waits": [],
        "_first_responses": [],
    }


def build(
    engine: Engine,
    tracker_engine: Engine,
    window: Window,
    *,
    default_language: str = "en",
    encoder: Optional[SentenceEncoder] = None,
) -> Dict[str, Any]:
    """The report for ``window``: summary, series by bucket, handoff reasons, articles and the
    top unanswered topics (grouped by meaning with ``encoder``, by character n-grams without,
    ``bot.analytics.topics``). Conversations are read from ``window.start - LEAD`` to
    ``window.end + COME_BACK + SESSION_GAP``: a bounded window."""
    read_from, read_to = window.start - LEAD, window.end + COME_BACK + SESSION_GAP
    conversations = read_conversations(tracker_engine, read_from, read_to)
    with db.session_scope(engine) as session:
        handoffs = records.handoffs(session, read_from, read_to)
        ratings = records.ratings(session, read_from, read_to)
        rating_counts = records.rating_counts(session, window.start, window.end, window.language)
        surveys = records.surveys(session, window.start, window.end)
        reports = records.wrong_answer_reports(session, window.start, window.end)
    link(conversations, handoffs, ratings, default_language)

    language = window.language
    by_customer: Dict[str, List[Conversation]] = defaultdict(list)
    for conversation in conversations:
        by_customer[conversation.customer].append(conversation)
    series = {bucket: _bucket_row(bucket) for bucket in window.buckets()}
    counted = [
        c
        for c in conversations
        if c.customer_messages
        and window.contains(c.started)
        and (not language or c.language == language)
    ]
    states: Counter = Counter()
    reasons: Counter = Counter()
    articles: Dict[tuple, Dict[str, Any]] = {}
    for conversation in counted:
        row = series[window.bucket_of(conversation.started)]
        row["conversations"] += 1
        state = state_of(conversation, window.now)
        states[state] += 1
        if conversation.handoffs:
            row["with_handoff"] += 1
        reasons.update(h.reason for h in conversation.handoffs)
        if state == "decided":
            row["decided"] += 1
            resolved = (
                conversation.answered
                and not conversation.handoffs
                and not conversation.unhelpful
                and not came_back(conversation, by_customer[conversation.customer])
            )
            if resolved:
                states["resolved"] += 1
                row["resolved"] += 1
        first_shown: Dict[tuple, dt.datetime] = {}
        for when, article_id, article_language in conversation.answers:
            first_shown.setdefault((article_id, article_language), when)
        for key, when in first_shown.items():
            entry = articles.setdefault(key, {"conversations": 0, "handoffs_after": 0})
            entry["conversations"] += 1
            if any(h.created_at >= when for h in conversation.handoffs):
                entry["handoffs_after"] += 1

    views: Counter = Counter()
    for conversation in conversations:
        for when, article_id, article_language in conversation.answers:
            if window.contains(when) and (not language or article_language == language):
                views[(article_id, article_language)] += 1
                series[window.bucket_of(when)]["answers"] += 1
    for rating in ratings:
        in_scope = not language or rating.language == language
        if window.contains(rating.created_at) and in_scope and not rating.helpful:
            series[window.bucket_of(rating.created_at)]["unhelpful"] += 1
    for survey in surveys:
        if not language or (survey.language or default_language) == language:
            row = series[window.bucket_of(survey.created_at)]
            row["surveys"] += 1
            row["_scores"].append(survey.score)
    times = _handoff_times(conversations, handoffs, window, series)
    agent_reports = sum(
        1 for _, lang in reports if not language or (lang or default_language) == language
    )
    return {
        "period": {
            "from": window.first.isoformat(),
            "to": window.last.isoformat(),
            "bucket": window.bucket,
            "timezone": window.zone_name,
            "language": language,
            "computed_at": window.now.isoformat(),
        },
        "summary": _summary(series, states, times, agent_reports),
        "series": [_finish(row) for row in series.values()],
        "handoff_reasons": _reasons(reasons, len(counted)),
        "articles": _articles(views, rating_counts, articles),
        **_unanswered(conversations, window, encoder),
    }


def _handoff_times(
    conversations: List[Conversation],
    handoffs: List[records.HandoffRow],
    window: Window,
    series: Dict[dt.date, Dict[str, Any]],
) -> Dict[str, Any]:
    """Wait, first response and resolution times, abandonment, of the period's handoffs."""
    agent_messages: Dict[int, Optional[dt.datetime]] = {}
    for conversation in conversations:
        for handoff in conversation.handoffs:
            later = [t for t in conversation.agent_messages if t >= handoff.created_at]
            if handoff.closed_at is not None:
                later = [t for t in later if t <= handoff.closed_at]
            agent_messages[handoff.pk] = min(later) if later else None
    waits: List[float] = []
    responses: List[float] = []
    resolutions: List[float] = []
    queued = abandoned = waiting = 0
    for handoff in handoffs:
        if not window.contains(handoff.created_at):
            continue
        if window.language and handoff.language != window.language:
            continue
        row = series[window.bucket_of(handoff.created_at)]
        if handoff.status == "resolved" and handoff.closed_at is not None:
            resolutions.append((handoff.closed_at - handoff.created_at).total_seconds())
        if handoff.first_queued_at is None:
            continue  # a ticket: nobody was on duty, so nobody was waited for
        queued += 1
        if handoff.first_claimed_at is not None:
            wait = (handoff.first_claimed_at - handoff.first_queued_at).total_seconds()
            waits.append(wait)
            row["_waits"].append(wait)
        elif handoff.status == "abandoned":
            abandoned += 1
        elif handoff.status == "queued":
            waiting += 1
        reply = agent_messages.get(handoff.pk) or handoff.first_agent_reply_at
        if reply is not None and reply >= handoff.first_queued_at:
            response = (reply - handoff.first_queued_at).total_seconds()
            responses.append(response)
            row["_first_responses"].append(response)
    return {
        "wait_seconds": seconds(waits),
        "first_response_seconds": seconds(responses),
        "resolution_seconds": seconds(resolutions),
        "queued": queued,
        "still_waiting": waiting,
        "abandoned": abandoned,
        "abandonment_rate": rate(abandoned, queued),
    }


def _csat(scores: List[int]) -> Dict[str, Any]:
    return {
        "surveys": len(scores),
        "csat_mean": round(statistics.fmean(scores), 2) if scores else None,
        "csat_satisfied_share": rate(sum(1 for s in scores if s >= 4), len(scores)),
    }


def _finish(row: Dict[str, Any]) -> Dict[str, Any]:
    """A bucket's counts with its rates, medians and CSAT."""
    waits, responses = row.pop("_waits"), row.pop("_first_responses")
    row.update(_csat(row.pop("_scores")))
    row["resolution_rate"] = rate(row["resolved"], row["decided"])
    row["handoff_rate"] = rate(row["with_handoff"], row["conversations"])
    row["wrong_answer_rate"] = rate(row["unhelpful"], row["answers"])
    row["wait_median_seconds"] = seconds(waits)["median"]
    row["first_response_median_seconds"] = seconds(responses)["median"]
    return row


def _summary(
    series: Dict[dt.date, Dict[str, Any]], states: Counter, times: Dict[str, Any], reports: int
) -> Dict[str, Any]:
    rows = list(series.values())
    total = {key: sum(r[key] for r in rows) for key in ("conversations", "decided", "resolved")}
    total.update({key: sum(r[key] for r in rows) for key in ("with_handoff", "answers")})
    unhelpful = sum(r["unhelpful"] for r in rows)
    return {
        **total,
        "open": states["open"],
        "waiting_for_come_back_window": states["waiting"],
        "resolution_rate": rate(total["resolved"], total["decided"]),
        "handoff_rate": rate(total["with_handoff"], total["conversations"]),
        "unhelpful": unhelpful,
        "wrong_answer_rate": rate(unhelpful, total["answers"]),
        "agent_wrong_answer_reports": reports,
        **_csat([s for r in rows for s in r["_scores"]]),
        **times,
    }


def _reasons(reasons: Counter, conversations: int) -> List[Dict[str, Any]]:
    names = list(REASONS) + sorted(set(reasons) - set(REASONS))
    return [
        {
            "reason": name,
            "words": REASON_WORDS.get(name, name.replace("_", " ")),
            "handoffs": reasons[name],
            "rate": rate(reasons[name], conversations),
        }
        for name in names
    ]


def _articles(
    views: Counter, ratings: Dict[tuple, tuple], shown: Dict[tuple, Dict[str, Any]]
) -> List[Dict[str, Any]]:
    rows = []
    for key in set(views) | set(ratings) | set(shown):
        helped, not_helped = ratings.get(key, (0, 0))
        after = shown.get(key, {"conversations": 0, "handoffs_after": 0})
        rows.append(
            {
                "article_id": key[0],
                "language": key[1],
                "views": views[key],
                "helped": helped,
                "did_not_help": not_helped,
                "helpful_share": rate(helped, helped + not_helped),
                "conversations": after["conversations"],
                "handoffs_after": after["handoffs_after"],
                "handoff_after_rate": rate(after["handoffs_after"], after["conversations"]),
            }
        )
    return sorted(rows, key=lambda r: (-r["views"], r["article_id"], r["language"]))


def _unanswered(
    conversations: List[Conversation], window: Window, encoder: Optional[SentenceEncoder]
) -> Dict[str, Any]:
    """``unanswered``: the top topics, each with its most central wording, its commonest
    wordings, messages and conversations; ``unanswered_left_out``: the messages of rarer
    wordings not grouped (``bot.analytics.topics.MAX_GROUPED``)."""
    messages = [
        (c.conversation_id, text)
        for c in conversations
        if not window.language or c.language == window.language
        for when, text in c.misses
        if window.contains(when)
    ]
    found = group_unanswered(messages, encoder=encoder)
    return {
        "unanswered": [
            {
                "topic": t.example,
                "count": t.count,
                "conversations": len(t.conversations),
                "wordings": t.commonest(),
            }
            for t in found.topics
        ],
        "unanswered_left_out": found.left_out,
    }
