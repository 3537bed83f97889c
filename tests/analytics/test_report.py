"""Every metric of the report on hand-built conversations whose right answers were worked out by
hand (in the comments). What customers said is written by Rasa's own SQL tracker store
(``conversations`` fixture); handoffs, ratings and surveys are rows of our real tables."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

import pytest

from benchmarks.analytics import write_handoff
from bot import db
from bot.analytics.report import build
from bot.analytics.window import make_window
from bot.handoff.models import Survey, WrongAnswerReport
from bot.kb.models import ArticleRating

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


class Talk:
    """Writes conversations through Rasa's tracker store, and our rows, at chosen times."""

    def __init__(self, conversations: Any, engine: Any) -> None:
        self.conversations = conversations
        self.engine = engine

    async def session(self, cid: str, when: dt.datetime) -> None:
        from rasa.shared.core.events import SessionStarted

        await self.conversations.say(cid, SessionStarted(timestamp=when.timestamp()))

    async def says(self, cid: str, when: dt.datetime, text: str, intent: str = "faq") -> None:
        from rasa.shared.core.events import UserUttered

        parse = {"intent": {"name": intent, "confidence": 0.9}, "text": text}
        await self.conversations.say(
            cid, UserUttered(text, parse["intent"], parse_data=parse, timestamp=when.timestamp())
        )

    async def bot(
        self, cid: str, when: dt.datetime, text: Optional[str] = None, **custom: Any
    ) -> None:
        from rasa.shared.core.events import BotUttered

        data = {"custom": custom} if custom else {}
        await self.conversations.say(cid, BotUttered(text, data, timestamp=when.timestamp()))

    async def answer(self, cid: str, when: dt.datetime, article: str, language: str = "en") -> None:
        await self.bot(cid, when, "The answer.")
        answer = {"article_id": article, "version": 1, "language": language, "confidence": 0.9}
        await self.bot(cid, when, kb_answer=answer)

    async def miss(self, cid: str, when: dt.datetime, text: str) -> None:
        await self.says(cid, when, text, intent="nlu_fallback")
        await self.bot(cid, when + dt.timedelta(seconds=1), "Sorry, I don't know.")
        await self.bot(cid, when + dt.timedelta(seconds=1), kb_miss={"count": 1})

    async def agent(self, cid: str, when: dt.datetime, text: str) -> None:
        from rasa.shared.core.events import BotUttered

        meta = {"author": "agent", "display_name": "Ona"}
        await self.conversations.say(
            cid, BotUttered(text, {}, metadata=meta, timestamp=when.timestamp())
        )

    async def slot(self, cid: str, when: dt.datetime, name: str, value: Any) -> None:
        from rasa.shared.core.events import SlotSet

        await self.conversations.say(cid, SlotSet(name, value, timestamp=when.timestamp()))

    def rows(self, *rows: Any) -> None:
        with db.session_scope(self.engine) as session:
            for row in rows:
                session.add(row)
                session.flush()

    def handoff(
        self, cid: str, created: dt.datetime, *, reason: str = "asked_for_person", **times: Any
    ) -> int:
        """A queued handoff at ``created``; ``claimed``, ``closed`` and ``status`` as given."""
        with db.session_scope(self.engine) as session:
            return write_handoff(session, cid, created, reason=reason, **times).pk


def rating(cid: str, article: str, helpful: bool, when: dt.datetime) -> ArticleRating:
    return ArticleRating(
        conversation_id=cid,
        article_id=article,
        language="en",
        version=1,
        helpful=helpful,
        created_at=when,
    )


@pytest.fixture
def talk(conversations, engine) -> Talk:
    return Talk(conversations, engine)


async def write_week(talk: Talk) -> None:
    """Fourteen conversations from Monday 2 to Friday 6 November 2026 (see each comment)."""
    # A (2 Nov): answered, nothing else: resolved.
    await talk.says("conv-a-resolved-0001", at(2, 10), "how long to return?")
    await talk.answer("conv-a-resolved-0001", at(2, 10, 0, 5), "return-policy")
    # B (2 Nov): answered, rated "didn't help": not resolved; one unhelpful answer.
    await talk.says("conv-b-unhelpful-001", at(2, 11), "where is my refund")
    await talk.answer("conv-b-unhelpful-001", at(2, 11, 0, 5), "refund-timing")
    talk.rows(rating("conv-b-unhelpful-001", "refund-timing", False, at(2, 11, 1)))
    # C (3 Nov): answered, then a person: queued 09:02, claimed 09:05 (wait 180 s), the agent's
    # first message 09:06 (first response 240 s), resolved 09:20 (resolution 1080 s); CSAT 5.
    await talk.says("conv-c-handoff-0001", at(3, 9), "can i return opened headphones")
    await talk.answer("conv-c-handoff-0001", at(3, 9, 0, 5), "return-policy")
    pk = talk.handoff(
        "conv-c-handoff-0001",
        at(3, 9, 2),
        claimed=at(3, 9, 5),
        closed=at(3, 9, 20),
        status="resolved",
    )
    await talk.agent("conv-c-handoff-0001", at(3, 9, 6), "Hello, I am Ona.")
    talk.rows(
        Survey(
            conversation_id="conv-c-handoff-0001", handoff_pk=pk, score=5, created_at=at(3, 9, 25)
        )
    )
    # D (3 Nov): one visitor, two sessions 8 hours apart, both on return-policy: the first came
    # back within 24 h (not resolved), the second is resolved.
    await talk.session("visitor-d-00000001", at(3, 12))
    await talk.says("visitor-d-00000001", at(3, 12, 0, 1), "return period?")
    await talk.answer("visitor-d-00000001", at(3, 12, 0, 5), "return-policy")
    await talk.session("visitor-d-00000001", at(3, 20))
    await talk.says("visitor-d-00000001", at(3, 20, 0, 1), "return period again?")
    await talk.answer("visitor-d-00000001", at(3, 20, 0, 5), "return-policy")
    # E (4 and 5 Nov): the same topic again 25 hours later: both resolved.
    await talk.says("visitor-e-00000001", at(4, 8), "gift card")
    await talk.answer("visitor-e-00000001", at(4, 8, 0, 5), "gift-cards")
    await talk.says("visitor-e-00000001", at(5, 9, 0, 6), "gift card again")
    await talk.answer("visitor-e-00000001", at(5, 9, 0, 7), "gift-cards")
    # F (4 Nov): back within 24 h on another topic: both resolved.
    await talk.says("visitor-f-00000001", at(4, 10), "gift card")
    await talk.answer("visitor-f-00000001", at(4, 10, 0, 5), "gift-cards")
    await talk.says("visitor-f-00000001", at(4, 15), "refund?")
    await talk.answer("visitor-f-00000001", at(4, 15, 0, 5), "refund-timing")
    # G, H (5 Nov): not understood: not resolved (silence is not success); one topic twice.
    await talk.miss("conv-g-miss-0000001", at(5, 10), "Do you sell GIFT wrapping??")
    await talk.miss("conv-h-miss-0000001", at(5, 11), "do you sell gift   wrapping")
    await talk.miss("conv-h-miss-0000001", at(5, 11, 1), "call me on +370 612 34567, ann@x.lt")
    # I (6 Nov): two conversation ids, one customer (the same verified e-mail), order status
    # twice within 24 h: the first came back (not resolved), the second is resolved.
    for cid, hour in (("device-i-one-00001", 10), ("device-i-two-00001", 18)):
        await talk.says(cid, at(6, hour), "where is my order", intent="order_status")
        await talk.slot(cid, at(6, hour, 1), "order_email", "Ann@Example.com")
        await talk.slot(cid, at(6, hour, 1), "order_verified", True)
        await talk.bot(cid, at(6, hour, 1), order_status={"found": True, "number": "AM-100482"})
    # K (6 Nov): in Lithuanian, answered: resolved.
    await talk.slot("conv-k-lt-00000001", at(6, 12), "language", "lt")
    await talk.says("conv-k-lt-00000001", at(6, 12, 0, 1), "dovanų kortelė")
    await talk.answer("conv-k-lt-00000001", at(6, 12, 0, 5), "gift-cards", "lt")
    # L (4 Nov): a handoff with no recorded conversation; the customer left the queue.
    talk.handoff("conv-l-left-000001", at(4, 12), closed=at(4, 12, 3), status="abandoned")
    # A survey without a handoff (score 2), an agent's report; and outside the week, a rating.
    talk.rows(
        Survey(conversation_id="conv-x-survey-0001", score=2, created_at=at(4, 13)),
        WrongAnswerReport(
            conversation_id="conv-c-handoff-0001", bot_text="x", created_at=at(3, 9, 4)
        ),
        rating("conv-a-resolved-0001", "return-policy", False, at(9, 10)),
    )


def report(engine, *, now: dt.datetime = NOW, **options: Any) -> Dict[str, Any]:
    window = make_window(
        first=dt.date(2026, 11, 2),
        last=options.pop("last", dt.date(2026, 11, 8)),
        now=now,
        **options,
    )
    return build(engine, engine, window)


async def test_the_week_by_hand(talk, engine) -> None:
    await write_week(talk)
    result = report(engine)
    summary = result["summary"]
    # 14 conversations (A, B, C, D1, D2, E1, E2, F1, F2, G, H, I1, I2, K), all decided;
    # resolved: A, D2, E1, E2, F1, F2, I2, K = 8.
    assert summary["conversations"] == 14
    assert summary["decided"] == 14 and summary["open"] == 0
    assert summary["resolved"] == 8
    assert summary["resolution_rate"] == round(8 / 14, 4)
    # one conversation with a handoff (C; L has no conversation)
    assert summary["with_handoff"] == 1 and summary["handoff_rate"] == round(1 / 14, 4)
    # articles answered: A, B, C, D1, D2, E1, E2, F1, F2, K = 10; "didn't help": B
    assert summary["answers"] == 10 and summary["unhelpful"] == 1
    assert summary["wrong_answer_rate"] == 0.1
    assert summary["agent_wrong_answer_reports"] == 1
    # CSAT: 5 and 2
    assert summary["surveys"] == 2 and summary["csat_mean"] == 3.5
    assert summary["csat_satisfied_share"] == 0.5
    # C and L were queued; L left before anyone took it
    assert summary["queued"] == 2 and summary["abandoned"] == 1
    assert summary["abandonment_rate"] == 0.5
    assert summary["wait_seconds"] == {"count": 1, "median": 180.0, "p90": 180.0}
    assert summary["first_response_seconds"] == {"count": 1, "median": 240.0, "p90": 240.0}
    assert summary["resolution_seconds"]["median"] == 1080.0

    days = {row["bucket"]: row for row in result["series"]}
    assert list(days) == [f"2026-11-0{d}" for d in range(2, 9)]
    assert (days["2026-11-02"]["conversations"], days["2026-11-02"]["resolved"]) == (2, 1)
    assert days["2026-11-02"]["wrong_answer_rate"] == 0.5
    assert days["2026-11-03"]["conversations"] == 3  # C, D1, D2
    assert days["2026-11-03"]["resolution_rate"] == round(1 / 3, 4)
    assert days["2026-11-03"]["wait_median_seconds"] == 180.0
    assert days["2026-11-03"]["csat_mean"] == 5.0
    assert days["2026-11-05"]["resolution_rate"] == round(1 / 3, 4)  # E2 of E2, G, H
    assert days["2026-11-07"]["conversations"] == 0
    assert days["2026-11-07"]["resolution_rate"] is None

    reasons = {row["reason"]: row for row in result["handoff_reasons"]}
    assert reasons["asked_for_person"] == {
        "reason": "asked_for_person",
        "words": "the customer asked for a person",
        "handoffs": 1,
        "rate": round(1 / 14, 4),
    }
    assert reasons["frustration"]["handoffs"] == 0

    articles = {(row["article_id"], row["language"]): row for row in result["articles"]}
    assert articles[("return-policy", "en")]["views"] == 4  # A, C, D1, D2
    assert articles[("return-policy", "en")]["handoffs_after"] == 1  # C
    assert articles[("return-policy", "en")]["handoff_after_rate"] == 0.25
    assert articles[("refund-timing", "en")]["did_not_help"] == 1
    assert articles[("refund-timing", "en")]["helpful_share"] == 0.0
    assert articles[("gift-cards", "en")]["views"] == 3
    assert articles[("gift-cards", "lt")]["views"] == 1
    # the rating of 9 November is outside the week
    assert articles[("return-policy", "en")]["did_not_help"] == 0

    unanswered = result["unanswered"]
    assert unanswered[0] == {
        "topic": "Do you sell GIFT wrapping??",
        "count": 2,
        "conversations": 2,
        "wordings": ["Do you sell GIFT wrapping??", "do you sell gift wrapping"],
    }
    assert unanswered[1]["topic"] == "call me on [phone], [email]"


async def test_a_language_counts_its_own(talk, engine) -> None:
    await write_week(talk)
    summary = report(engine, language="lt")["summary"]
    assert (summary["conversations"], summary["resolved"], summary["answers"]) == (1, 1, 1)
    assert summary["surveys"] == 0 and summary["queued"] == 0


async def test_open_and_waiting_conversations_are_not_decided(talk, engine) -> None:
    now = at(8, 12)
    # answered 10 minutes ago: still open (no SESSION_GAP of silence yet)
    await talk.says("conv-open-00000001", at(8, 11, 50), "gift card")
    await talk.answer("conv-open-00000001", at(8, 11, 50, 5), "gift-cards")
    # answered 3 hours ago: ended, but within the 24 hours a come-back would count
    await talk.says("conv-waiting-000001", at(8, 9), "gift card")
    await talk.answer("conv-waiting-000001", at(8, 9, 0, 5), "gift-cards")
    # 6 days ago, with a handoff still queued: open
    await talk.says("conv-queued-000001", at(2, 9), "a person please", intent="request_human")
    talk.handoff("conv-queued-000001", at(2, 9, 1))
    # 5 days ago, answered: decided and resolved
    await talk.says("conv-done-00000001", at(3, 9), "gift card")
    await talk.answer("conv-done-00000001", at(3, 9, 0, 5), "gift-cards")
    summary = report(engine, now=now)["summary"]
    assert summary["conversations"] == 4
    assert summary["open"] == 2 and summary["waiting_for_come_back_window"] == 1
    assert (summary["decided"], summary["resolved"], summary["resolution_rate"]) == (1, 1, 1.0)
    assert summary["with_handoff"] == 1 and summary["still_waiting"] == 1


async def test_day_buckets_follow_the_time_zone(talk, engine) -> None:
    # 22:30 UTC on 2 November is 00:30 on 3 November in Vilnius (UTC+2 in winter)
    await talk.says("conv-late-0000001", at(2, 22, 30), "gift card")
    await talk.answer("conv-late-0000001", at(2, 22, 30, 5), "gift-cards")
    utc = {r["bucket"]: r["conversations"] for r in report(engine)["series"]}
    vilnius = {
        r["bucket"]: r["conversations"] for r in report(engine, zone="Europe/Vilnius")["series"]
    }
    assert utc["2026-11-02"] == 1 and utc["2026-11-03"] == 0
    assert vilnius["2026-11-02"] == 0 and vilnius["2026-11-03"] == 1


async def test_week_buckets_start_on_monday(talk, engine) -> None:
    await write_week(talk)
    weeks = report(engine, bucket="week", last=dt.date(2026, 11, 15))["series"]
    assert [w["bucket"] for w in weeks] == ["2026-11-02", "2026-11-09"]
    assert weeks[0]["conversations"] == 14 and weeks[1]["conversations"] == 0


def test_nothing_said_yet(engine) -> None:
    """A new installation: no events table yet, no rows: zeros and no rates, not errors."""
    result = report(engine)
    assert result["summary"]["conversations"] == 0
    assert result["summary"]["resolution_rate"] is None
    assert result["unanswered"] == [] and result["articles"] == []
    assert result["unanswered_left_out"] == 0
