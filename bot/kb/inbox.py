"""The editors' inbox: what the bot failed at, gathered from where it is recorded and grouped by
meaning.

Four sources, each message keyed by its record (the key marks it handled, ``bot.kb.inbox_actions``):

- ``not_understood``: the action server found no answer (``actions/kb.py`` ``utter_miss`` sends a
  ``kb_miss`` custom payload, kept as a bot event in Rasa's tracker store); the message is what
  the customer typed before it. Key: the ``kb_miss`` event's id.
- ``not_helpful``: a "Did this help?" answered no (``kb_article_ratings``); the message is the
  question the rated answer replied to, read from the tracker store (the article's title when
  the conversation is gone). Key: the rating.
- ``wrong_answer``: an agent's "the bot got this wrong" (``wrong_answer_reports``, open ones);
  the message is the customer's question the agent quoted, else the bot's answer. Key: the report.
- ``handoff``: every handoff (``handoffs``); the message is its last question, else its reason
  in words. Key: the handoff.

Every text is masked (``bot.privacy.mask``) before it leaves this module.

One message, one item: a customer's message can be recorded in several places (the bot did not
understand it, then handed the conversation over with it as the last question; an answer to it was
rated "didn't help", then an agent reported the answer wrong). Records of the same conversation
that carry the same message (the same words once masked and folded, ``bot.kb.text.fold``) within
``SAME_PROBLEM`` of each other are one inbox item with all their reasons (``Item.sources``) and
all their keys: the group counts it once, each of its reasons counts it once, and acting on it
handles every record. ``SAME_PROBLEM`` is 24 hours, the product's window for "the same customer
came back on the same topic" (PRODUCT.md, self-service resolution). The customer's two messages
before a handoff for "not understood twice" are two items (two messages): the first with its
reason, the second with both reasons. The counts beyond the newest ``MAX_ITEMS`` records are the
records' counts, not merged.

Grouping: greedy leader clustering (``bot.kb.grouping``) on the sentence embeddings the
knowledge base already uses for English (``bot.kb.embeddings.default_encoder``, one copy per
process, with its vector cache), and on character n-grams for messages in other languages
(``bot.kb.grouping`` says why and how). The distinct messages, most frequent first, are taken
one by one: a message joins the group whose leader (first message) it is most similar to when
that cosine similarity is at least ``THRESHOLD``, else it leads a new group. The threshold was
chosen on examples. Between paraphrases of one question ("can I pay with bitcoin" / "pay by
bitcoin possible?" 0.83, "my tv is broken" / "the television stopped working" 0.79) similarities
are high, between different topics low (at most 0.42 on our examples of payments, delivery,
returns, repairs, people). On 5,000 real customer messages (BANKING77, 77 fine-grained banking
intents; ``make bench-inbox``) 0.55 agrees best with the intents (adjusted Rand index 0.35; 0.31
at 0.5 and 0.34 at 0.6), with 68% of messages in a group whose most common intent is theirs (57%
at 0.5, 74% at 0.6) and 295 groups (194, 456): a higher threshold splits one question into many
small groups, a lower one mixes neighbouring topics. Paraphrases below it ("do you accept crypto
currency?", 0.52 from the bitcoin question) stay in groups of their own, which the editor
handles one after the other. A group's label is its most central message (the nearest to the
mean of its members). The placeholders of masked personal data are left out of what is encoded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.handoff.context import REASON_WORDS, display_text
from bot.handoff.models import Handoff, WrongAnswerReport
from bot.kb import grouping
from bot.kb.embeddings import SentenceEncoder, default_encoder
from bot.kb.models import Article, ArticleRating, InboxHandled
from bot.kb.text import clean_text, fold
from bot.live.tracker import EVENTS, has_events_table
from bot.privacy import mask, without_placeholders

logger = logging.getLogger(__name__)

SOURCES = ("not_understood", "not_helpful", "wrong_answer", "handoff")
THRESHOLD = grouping.THRESHOLD
SAME_PROBLEM = dt.timedelta(hours=24)  # records of one message this close are one item
MAX_ITEMS = 5000  # the newest messages grouped; the count of all is given beside
ENCODE_INLINE = 200  # new messages encoded during a request (about 5 s); more: in the background
MAX_TEXT = 500
IN_CHUNK = 500  # ids per "IN (...)" (SQLite allows 999 variables)


@dataclasses.dataclass(frozen=True)
class Item:
    """One message of the inbox, its text masked, with the keys of every record of it (the
    oldest first); ``time`` is the newest record's."""

    keys: Tuple[str, ...]
    conversation_id: str
    text: str
    time: dt.datetime
    article_id: Optional[str] = None

    @property
    def key(self) -> str:
        """The item's name: its first record's key."""
        return self.keys[0]

    @property
    def sources(self) -> Tuple[str, ...]:
        """Why the message is in the inbox: each of its records' sources once."""
        found = {key.split(":", 1)[0] for key in self.keys}
        return tuple(source for source in SOURCES if source in found)


@dataclasses.dataclass
class Group:
    """Messages alike in meaning; ``label`` is the most central one."""

    label: str
    items: List[Item]

    @property
    def id(self) -> str:
        """Stable while the group has the same messages."""
        keys = "\n".join(sorted(key for item in self.items for key in item.keys))
        return hashlib.blake2b(keys.encode(), digest_size=6).hexdigest()

    @property
    def newest(self) -> dt.datetime:
        return max(item.time for item in self.items)

    def sources(self) -> Dict[str, int]:
        """How many of the group's messages are here for each reason (a message with two
        reasons counts for both)."""
        counts = {source: 0 for source in SOURCES}
        for item in self.items:
            for source in item.sources:
                counts[source] += 1
        return {source: n for source, n in counts.items() if n}

    def keys(self) -> List[str]:
        """Every record of every message of the group: what an action on it handles."""
        return [key for item in self.items for key in item.keys]


@dataclasses.dataclass
class Inbox:
    """The groups, with what was left out: ``total`` messages not handled, of which the
    newest ``MAX_ITEMS`` were read, and ``pending`` still being read by the encoder."""

    groups: List[Group]
    total: int
    read: int
    pending: int


def _text(raw: Optional[str]) -> str:
    return mask(" ".join(clean_text(str(raw or "")).split()))[:MAX_TEXT]


def _from_stamp(stamp: Optional[float]) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(stamp or 0), tz=dt.timezone.utc)


def _event_text(data: Optional[str]) -> Optional[str]:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    return event.get("text") if isinstance(event, dict) else None


def _typed(text: Optional[str]) -> bool:
    """Whether the customer typed it (not a button's payload)."""
    return bool(text and text.strip()) and not str(text).startswith("/")


def typed_question(engine: Engine, conversation_id: str, before_id: int) -> Optional[str]:
    """The last message the customer typed in the conversation before tracker row
    ``before_id`` (a clicked button is skipped), unmasked; None when there is none."""
    query = (
        select(EVENTS.c.data)
        .where(
            EVENTS.c.sender_id == conversation_id,
            EVENTS.c.type_name == "user",
            EVENTS.c.id < before_id,
        )
        .order_by(EVENTS.c.id.desc())
        .limit(10)
    )
    with engine.connect() as connection:
        for (data,) in connection.execute(query):
            text = _event_text(data)
            if _typed(text):
                return display_text(text)
    return None


def handled_keys(session: Session) -> Set[str]:
    return set(session.execute(select(InboxHandled.key)).scalars())


def _not_understood(engine: Engine, handled: Set[str], limit: int) -> Tuple[List[Item], int]:
    if not has_events_table(engine):
        return [], 0
    miss = EVENTS.alias("miss")
    user = EVENTS.alias("question")
    question_id = (
        select(func.max(user.c.id))
        .where(
            user.c.sender_id == miss.c.sender_id,
            user.c.type_name == "user",
            user.c.id < miss.c.id,
        )
        .scalar_subquery()
    )
    is_miss = (miss.c.type_name == "bot", miss.c.data.like('%"kb_miss"%'))
    seen = sum(1 for key in handled if key.startswith("not_understood:"))
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).where(*is_miss)).scalar() or 0
        rows = connection.execute(
            select(miss.c.id, miss.c.sender_id, miss.c.timestamp, question_id.label("asked"))
            .where(*is_miss)
            .order_by(miss.c.id.desc())
            .limit(limit + seen)
        ).all()
        rows = [r for r in rows if f"not_understood:{r.id}" not in handled][:limit]
        asked_ids = [r.asked for r in rows if r.asked is not None]
        texts: Dict[int, Optional[str]] = {}
        for start in range(0, len(asked_ids), IN_CHUNK):
            chunk = asked_ids[start : start + IN_CHUNK]
            found = connection.execute(
                select(EVENTS.c.id, EVENTS.c.data).where(EVENTS.c.id.in_(chunk))
            )
            texts.update((row.id, _event_text(row.data)) for row in found)
    items = []
    for row in rows:
        text = texts.get(row.asked) if row.asked is not None else None
        if not _typed(text):  # "none of these" clicked: the question was typed before
            text = typed_question(engine, row.sender_id, row.id)
        if text is None:
            continue
        items.append(
            Item(
                keys=(f"not_understood:{row.id}",),
                conversation_id=row.sender_id,
                text=_text(display_text(text)),
                time=_from_stamp(row.timestamp),
            )
        )
    return items, max(int(total) - seen, 0)


def _answered_questions(engine: Engine, ratings: Sequence[ArticleRating]) -> Dict[int, str]:
    """For each rating (by its pk), the customer's question that the rated article answered
    (unmasked): the last message they typed before the article's last ``kb_answer`` before the
    rating. Read from the tracker store a few hundred conversations per query."""
    if not ratings or not has_events_table(engine):
        return {}
    said: Dict[str, List[Tuple[int, str, float, Optional[dict]]]] = {}
    conversations = list({rating.conversation_id for rating in ratings})
    with engine.connect() as connection:
        for start in range(0, len(conversations), IN_CHUNK):
            rows = connection.execute(
                select(
                    EVENTS.c.id,
                    EVENTS.c.sender_id,
                    EVENTS.c.type_name,
                    EVENTS.c.timestamp,
                    EVENTS.c.data,
                )
                .where(
                    EVENTS.c.sender_id.in_(conversations[start : start + IN_CHUNK]),
                    EVENTS.c.type_name.in_(("user", "bot")),
                )
                .order_by(EVENTS.c.id)
            )
            for row in rows:
                if row.type_name == "bot" and '"kb_answer"' not in (row.data or ""):
                    continue  # only the answers and what the customer said matter here
                try:
                    event = json.loads(row.data or "{}")
                except ValueError:
                    continue
                said.setdefault(row.sender_id, []).append(
                    (row.id, row.type_name, float(row.timestamp or 0), event)
                )
    found: Dict[int, str] = {}
    for rating in ratings:
        events = said.get(rating.conversation_id, [])
        until = rating.created_at.timestamp() + 1
        answered = None
        for index, (_, kind, stamp, event) in enumerate(events):
            if stamp > until:
                break
            custom = ((event or {}).get("data") or {}).get("custom") or {}
            answer = custom.get("kb_answer") if isinstance(custom, dict) else None
            if (
                kind == "bot"
                and isinstance(answer, dict)
                and answer.get("article_id") == rating.article_id
            ):
                answered = index
        if answered is None:
            continue
        for _, kind, _, event in reversed(events[:answered]):
            text = (event or {}).get("text")
            if kind == "user" and _typed(text):
                found[rating.pk] = display_text(text)
                break
    return found


def _keyed(rows: Iterable, prefix: str, handled: Set[str], limit: int) -> List:
    return [row for row in rows if f"{prefix}:{row.pk}" not in handled][:limit]


def _not_helpful(
    session: Session, engine: Engine, handled: Set[str], limit: int
) -> Tuple[List[Item], int]:
    seen = sum(1 for key in handled if key.startswith("not_helpful:"))
    where = ArticleRating.helpful.is_(False)
    total = session.execute(select(func.count()).where(where)).scalar() or 0
    ratings = session.execute(
        select(ArticleRating).where(where).order_by(ArticleRating.pk.desc()).limit(limit + seen)
    ).scalars()
    titles = dict(session.execute(select(Article.article_id, Article.title)).all())
    chosen = _keyed(ratings, "not_helpful", handled, limit)
    questions = _answered_questions(engine, chosen)
    items = []
    for rating in chosen:
        question = questions.get(rating.pk)
        items.append(
            Item(
                keys=(f"not_helpful:{rating.pk}",),
                conversation_id=rating.conversation_id,
                text=_text(question or titles.get(rating.article_id, rating.article_id)),
                time=rating.created_at,
                article_id=rating.article_id,
            )
        )
    return items, max(int(total) - seen, 0)


def _wrong_answers(session: Session, handled: Set[str], limit: int) -> Tuple[List[Item], int]:
    seen = sum(1 for key in handled if key.startswith("wrong_answer:"))
    where = WrongAnswerReport.status == "open"
    total = session.execute(select(func.count()).where(where)).scalar() or 0
    reports = session.execute(
        select(WrongAnswerReport)
        .where(where)
        .order_by(WrongAnswerReport.pk.desc())
        .limit(limit + seen)
    ).scalars()
    items = [
        Item(
            keys=(f"wrong_answer:{report.pk}",),
            conversation_id=report.conversation_id,
            text=_text(report.customer_text or report.bot_text),
            time=report.created_at,
            article_id=report.article_id,
        )
        for report in _keyed(reports, "wrong_answer", handled, limit)
    ]
    return items, max(int(total) - seen, 0)


def _handoffs(session: Session, handled: Set[str], limit: int) -> Tuple[List[Item], int]:
    seen = sum(1 for key in handled if key.startswith("handoff:"))
    total = session.execute(select(func.count(Handoff.pk))).scalar() or 0
    handoffs = session.execute(
        select(Handoff).order_by(Handoff.pk.desc()).limit(limit + seen)
    ).scalars()
    items = [
        Item(
            keys=(f"handoff:{handoff.pk}",),
            conversation_id=handoff.conversation_id,
            text=_text(handoff.last_question or REASON_WORDS.get(handoff.reason, handoff.reason)),
            time=handoff.created_at,
        )
        for handoff in _keyed(handoffs, "handoff", handled, limit)
    ]
    return items, max(int(total) - seen, 0)


def merge(items: Iterable[Item], within: dt.timedelta = SAME_PROBLEM) -> List[Item]:
    """One item per message: items of the same conversation with the same words (folded)
    whose times are at most ``within`` apart one after the other become one: the oldest
    record's text, all their keys (the oldest first), the newest time and the first article
    named. Newest first."""
    alike: Dict[Tuple[str, str], List[Item]] = {}
    for item in items:
        alike.setdefault((item.conversation_id, fold(item.text) or item.text), []).append(item)
    runs: List[List[Item]] = []
    for same in alike.values():
        same.sort(key=lambda item: (item.time, item.key))
        runs.append([same[0]])
        for item in same[1:]:
            if item.time - runs[-1][-1].time <= within:
                runs[-1].append(item)
            else:
                runs.append([item])
    merged: List[Item] = []
    for run in runs:
        keys = tuple(dict.fromkeys(key for one in run for key in one.keys))
        article = next((one.article_id for one in run if one.article_id), None)
        merged.append(dataclasses.replace(run[0], keys=keys, time=run[-1].time, article_id=article))
    merged.sort(key=lambda item: (item.time, item.key), reverse=True)
    return merged


def collect(
    session: Session,
    tracker_engine: Engine,
    *,
    sources: Sequence[str] = SOURCES,
    limit: int = MAX_ITEMS,
) -> Tuple[List[Item], int]:
    """The newest ``limit`` messages not handled yet from ``sources``, newest first, each
    once with all its records (``merge``), and how many messages there are in all (records
    beyond the newest ``limit`` of each source are counted as they are)."""
    handled = handled_keys(session)
    found: List[Item] = []
    total = 0
    for source in sources:
        if source == "not_understood":
            items, count = _not_understood(tracker_engine, handled, limit)
        elif source == "not_helpful":
            items, count = _not_helpful(session, tracker_engine, handled, limit)
        elif source == "wrong_answer":
            items, count = _wrong_answers(session, handled, limit)
        else:
            items, count = _handoffs(session, handled, limit)
        found.extend(items)
        total += count
    merged = merge(found)
    return merged[:limit], max(total - (len(found) - len(merged)), len(merged))


def meaning(text: str) -> str:
    """What is encoded of a message: its words without the masks' placeholders (the same
    words in any case when nothing is left)."""
    return without_placeholders(text) or text


def group(
    items: Sequence[Item],
    encoder: Optional[SentenceEncoder],
    threshold: float = THRESHOLD,
) -> List[Group]:
    """``items`` grouped by meaning (``bot.kb.grouping``: English by the sentence encoder at
    ``threshold``, other languages, and all without an encoder, by character n-grams), the
    largest group first (the newest first among equals)."""
    by_text: Dict[str, List[Item]] = {}
    shown: Dict[str, str] = {}
    for item in items:
        key = fold(item.text) or item.text
        by_text.setdefault(key, []).append(item)
        shown.setdefault(key, item.text)
    texts = sorted(by_text, key=lambda t: (-len(by_text[t]), -by_text[t][0].time.timestamp()))
    if not texts:
        return []
    weights = [len(by_text[t]) for t in texts]
    found = grouping.clusters([meaning(shown[t]) for t in texts], weights, encoder, threshold)
    groups = []
    for indexes, central in found:
        grouped = [item for i in indexes for item in by_text[texts[i]]]
        grouped.sort(key=lambda item: (item.time, item.key), reverse=True)
        groups.append(Group(shown[texts[central]], grouped))
    groups.sort(key=lambda g: (-len(g.items), -g.newest.timestamp()))
    return groups


class Grouper:
    """Groups the inbox with the knowledge base's encoder (loaded once per process). When more
    than ``inline`` messages are new to it, they are encoded in a background thread meanwhile,
    and wait (counted as pending) until they are."""

    def __init__(
        self,
        encoder: Callable[[], Optional[SentenceEncoder]] = default_encoder,
        *,
        inline: int = ENCODE_INLINE,
    ) -> None:
        self._encoder = encoder
        self.inline = inline
        self._lock = threading.Lock()
        self._worker: Optional[threading.Thread] = None

    def _encode_later(self, encoder: SentenceEncoder, texts: List[str]) -> None:
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return

            def work() -> None:
                try:
                    encoder.encode(texts)
                    encoder.save()
                except Exception:
                    logger.exception("inbox: encoding %d messages failed", len(texts))

            self._worker = threading.Thread(target=work, name="inbox-encoder", daemon=True)
            self._worker.start()
        logger.info("inbox: encoding %d new messages in the background", len(texts))

    def wait(self, timeout: float) -> None:
        """Until the background encoding (if any) is done; for tests and benchmarks."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def inbox(
        self,
        session: Session,
        tracker_engine: Engine,
        *,
        sources: Sequence[str] = SOURCES,
        limit: int = MAX_ITEMS,
    ) -> Inbox:
        """The messages not handled yet, grouped."""
        items, total = collect(session, tracker_engine, sources=sources, limit=limit)
        encoder = self._encoder()
        pending = 0
        if encoder is not None:
            said = [meaning(item.text) for item in items]
            missing = encoder.missing([text for text in said if grouping.is_english(text)])
            if len(missing) > self.inline:
                self._encode_later(encoder, missing)
                waiting = set(missing)
                ready = [item for item in items if meaning(item.text) not in waiting]
                pending = len(items) - len(ready)
                items = ready
        return Inbox(group(items, encoder), total=total, read=len(items) + pending, pending=pending)
