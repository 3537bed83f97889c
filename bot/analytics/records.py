"""What analytics reads from our own tables, in SQL, for a bounded period.

Handoffs come with the first time they were queued and first claimed (aggregated from
``handoff_events`` in the query); ratings, surveys and agents' wrong-answer reports as rows.
Per-article ratings are counted in SQL. Everything works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from bot.handoff.models import Handoff, HandoffEvent, Survey, WrongAnswerReport
from bot.kb.models import ArticleRating
from bot.timeutil import UTCDateTime


@dataclass
class HandoffRow:
    pk: int
    conversation_id: str
    reason: str
    language: str
    status: str
    customer_key: Optional[str]
    created_at: dt.datetime
    closed_at: Optional[dt.datetime]
    first_agent_reply_at: Optional[dt.datetime]
    first_queued_at: Optional[dt.datetime]
    first_claimed_at: Optional[dt.datetime]


@dataclass
class RatingRow:
    conversation_id: str
    article_id: str
    language: str
    helpful: bool
    created_at: dt.datetime


@dataclass
class SurveyRow:
    conversation_id: str
    score: int
    language: Optional[str]
    created_at: dt.datetime


def handoffs(session: Session, since: dt.datetime, until: dt.datetime) -> List[HandoffRow]:
    """Handoffs created in the period, with their first queueing and first claim."""
    as_time = UTCDateTime()
    firsts = (
        select(
            HandoffEvent.handoff_pk.label("pk"),
            type_coerce(
                func.min(case((HandoffEvent.to_status == "queued", HandoffEvent.created_at))),
                as_time,
            ).label("queued"),
            type_coerce(
                func.min(case((HandoffEvent.action == "claim", HandoffEvent.created_at))), as_time
            ).label("claimed"),
        )
        .group_by(HandoffEvent.handoff_pk)
        .subquery()
    )
    query = (
        select(
            Handoff.pk,
            Handoff.conversation_id,
            Handoff.reason,
            Handoff.language,
            Handoff.status,
            Handoff.customer_key,
            Handoff.created_at,
            Handoff.closed_at,
            Handoff.first_agent_reply_at,
            firsts.c.queued,
            firsts.c.claimed,
        )
        .outerjoin(firsts, firsts.c.pk == Handoff.pk)
        .where(Handoff.created_at >= since, Handoff.created_at < until)
        .order_by(Handoff.created_at, Handoff.pk)
    )
    return [HandoffRow(*row) for row in session.execute(query)]


def ratings(session: Session, since: dt.datetime, until: dt.datetime) -> List[RatingRow]:
    """Customers' "Did this help?" answers given in the period."""
    query = select(
        ArticleRating.conversation_id,
        ArticleRating.article_id,
        ArticleRating.language,
        ArticleRating.helpful,
        ArticleRating.created_at,
    ).where(ArticleRating.created_at >= since, ArticleRating.created_at < until)
    return [RatingRow(*row) for row in session.execute(query)]


def rating_counts(
    session: Session, since: dt.datetime, until: dt.datetime, language: Optional[str]
) -> Dict[Tuple[str, str], Tuple[int, int]]:
    """(article id, language) -> (helped, did not help), counted in SQL."""
    query = (
        select(
            ArticleRating.article_id,
            ArticleRating.language,
            func.sum(case((ArticleRating.helpful.is_(True), 1), else_=0)),
            func.sum(case((ArticleRating.helpful.is_(False), 1), else_=0)),
        )
        .where(ArticleRating.created_at >= since, ArticleRating.created_at < until)
        .group_by(ArticleRating.article_id, ArticleRating.language)
    )
    if language:
        query = query.where(ArticleRating.language == language)
    return {(a, lang): (int(yes or 0), int(no or 0)) for a, lang, yes, no in session.execute(query)}


def surveys(session: Session, since: dt.datetime, until: dt.datetime) -> List[SurveyRow]:
    """CSAT surveys answered in the period, with the language of their handoff if any."""
    query = (
        select(Survey.conversation_id, Survey.score, Handoff.language, Survey.created_at)
        .outerjoin(Handoff, Handoff.pk == Survey.handoff_pk)
        .where(Survey.created_at >= since, Survey.created_at < until)
    )
    return [SurveyRow(*row) for row in session.execute(query)]


def wrong_answer_reports(
    session: Session, since: dt.datetime, until: dt.datetime
) -> List[Tuple[dt.datetime, Optional[str]]]:
    """Agents' "the bot got this wrong" reports of the period: (time, handoff language)."""
    query = (
        select(WrongAnswerReport.created_at, Handoff.language)
        .outerjoin(Handoff, Handoff.pk == WrongAnswerReport.handoff_pk)
        .where(WrongAnswerReport.created_at >= since, WrongAnswerReport.created_at < until)
    )
    return [(when, language) for when, language in session.execute(query)]
