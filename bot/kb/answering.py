"""Deciding what to do with a customer's question: answer, offer candidates, or say "I don't know".

Three kinds of evidence are combined per article, each a score in 0..1:
- what the trained NLU model learned (Rasa's ResponseSelector ranking over ``faq/<article_id>``,
  and the intent classifier's view of whether this is a knowledge question at all);
- semantic and lexical retrieval over the live database (``bot.kb.retrieval``), which also know
  articles and question variants added since the model was trained.
One more signal says whether the question is of the kind the knowledge base answers at all: the
scope gap, how much closer in meaning the message is to the examples of questions we do not
answer (the NLU ``out_of_scope`` examples) than to the articles' own questions
(``KnowledgeIndex.scope_gap``). Above ``Thresholds.scope_gap`` the bot does not answer outright.

The bot answers only when the best article is clearly ahead; a wrong answer is worse than "I don't
know, here is a person" (PRODUCT.md, principle 4). Pure logic: no database, no Rasa.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

RETRIEVAL_INTENT = "faq"


class Outcome(str, enum.Enum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The tuned constants; ``python -m bot tune`` chooses them on eval/dev.yml."""

    answer: float = 0.45  # combined score to answer
    suggest: float = 0.35  # combined score to offer as a candidate
    margin: float = 0.02  # lead over the runner-up needed to answer outright
    model_weight: float = 0.15  # weights of the evidence in the combined score
    semantic_weight: float = 0.6
    lexical_weight: float = 0.25
    out_of_scope_penalty: float = 0.2  # subtracted when the model says "out of scope"
    # Subtracted when the message names another company's shop or service (bot.kb.scope).
    other_service_penalty: float = 0.3
    # A message of one or two words ("delivery") is vague: answer only with a clear lead.
    short_words: int = 2
    short_margin: float = 0.02
    # A message of this many words that this many articles share is a topic ("refund"): offer
    # the candidates rather than answer one.
    vague_words: int = 1
    vague_articles: int = 3
    max_suggestions: int = 3
    # A message this much closer to the out-of-scope examples than to the articles' questions is
    # not answered outright (offered as candidates at most); None: no such gate.
    scope_gap: Optional[float] = -0.08


@dataclasses.dataclass(frozen=True)
class Understanding:
    """What the NLU model made of the message (from Rasa's parse result)."""

    intent: Optional[str] = None
    intent_confidence: float = 0.0
    # article id -> ResponseSelector confidence, for the articles the model was trained on
    article_confidences: Mapping[str, float] = dataclasses.field(default_factory=dict)
    # the message names another company's shop or online service (bot.kb.scope)
    other_service: bool = False


@dataclasses.dataclass(frozen=True)
class Decision:
    outcome: Outcome
    # best first: (article id, combined score)
    candidates: Tuple[Tuple[str, float], ...] = ()

    @property
    def article_id(self) -> Optional[str]:
        return self.candidates[0][0] if self.outcome is Outcome.ANSWER else None

    @property
    def confidence(self) -> float:
        return self.candidates[0][1] if self.candidates else 0.0


TUNED = Thresholds()
Ranked = List[Tuple[str, float]]


def understanding_of(message: Mapping[str, Any], *, other_service: bool = False) -> Understanding:
    """The NLU model's view of a message, from Rasa's parse data."""
    intent = message.get("intent") or {}
    selector = (message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    prefix = f"{RETRIEVAL_INTENT}/"
    confidences = {}
    for item in selector.get("ranking") or []:
        key = item.get("intent_response_key") or ""
        if key.startswith(prefix):
            confidences[key[len(prefix) :]] = float(item.get("confidence") or 0.0)
    return Understanding(
        intent=intent.get("name"),
        intent_confidence=float(intent.get("confidence") or 0.0),
        article_confidences=confidences,
        other_service=other_service,
    )


# Intents that say "this is not a knowledge question"; their confidence lowers the model's trust.
NOT_KB_INTENTS = frozenset({"out_of_scope"})
KB_INTENTS = frozenset({"faq"})


def combine(
    understanding: Understanding,
    signals: Mapping[str, Mapping[str, float]],
    thresholds: Thresholds = TUNED,
) -> Dict[str, float]:
    """Each article's combined score in 0..1.

    ``signals`` holds retrieval scores by method (``semantic``, ``lexical``). The weights of the
    evidence that exists for an article are renormalised: an article the model has never seen
    (added since training) is scored by retrieval alone, so it is findable at once.
    """
    if understanding.intent in KB_INTENTS:
        kb_belief = understanding.intent_confidence
    elif understanding.intent in NOT_KB_INTENTS:
        kb_belief = 1.0 - understanding.intent_confidence
    else:
        kb_belief = 1.0 - understanding.intent_confidence if understanding.intent else 0.5
    kb_belief = min(max(kb_belief, 0.0), 1.0)
    penalty = (
        thresholds.out_of_scope_penalty * understanding.intent_confidence
        if understanding.intent in NOT_KB_INTENTS
        else 0.0
    )
    if understanding.other_service:
        penalty += thresholds.other_service_penalty
    weights = {"semantic": thresholds.semantic_weight, "lexical": thresholds.lexical_weight}
    methods = {name: scores for name, scores in signals.items() if weights.get(name, 0) > 0}
    known = understanding.article_confidences
    articles = set(known).union(*(set(scores) for scores in methods.values()))
    combined: Dict[str, float] = {}
    for article_id in articles:
        total = weight_sum = 0.0
        for name, scores in methods.items():
            total += weights[name] * scores.get(article_id, 0.0)
            weight_sum += weights[name]
        if article_id in known and thresholds.model_weight > 0:
            total += thresholds.model_weight * known[article_id] * kb_belief
            weight_sum += thresholds.model_weight
        combined[article_id] = max(total / weight_sum - penalty, 0.0) if weight_sum else 0.0
    return combined


def decide(
    understanding: Understanding,
    signals: Mapping[str, Mapping[str, float]],
    thresholds: Thresholds = TUNED,
    *,
    allowed: Optional[Sequence[str]] = None,
    words: Optional[int] = None,
    topic: Optional[Mapping[str, float]] = None,
    scope_gap: Optional[float] = None,
) -> Decision:
    """Answer, suggest or admit not knowing, from the combined evidence.

    ``allowed`` limits the result to articles that exist now (published, this language): the model
    may still know an article that was unpublished since training. ``words`` is the length of the
    customer's message: a very short one needs a clearer lead to be answered outright.
    ``topic`` maps the articles that use every word of it to how central the words are to each
    (``KnowledgeIndex.sharing``): a one-word topic that several articles share ("refund") is
    answered with the articles it is most central to, as candidates. ``scope_gap`` is
    ``KnowledgeIndex.scope_gap`` of the message (None when unknown).
    """
    return choose(
        rank(combine(understanding, signals, thresholds), allowed),
        thresholds,
        words=words,
        topic=topic,
        scope_gap=scope_gap,
    )


def rank(scores: Mapping[str, float], allowed: Optional[Sequence[str]] = None) -> Ranked:
    """Articles best first, limited to ``allowed`` (articles that exist now)."""
    if allowed is not None:
        allowed_set = set(allowed)
        scores = {a: s for a, s in scores.items() if a in allowed_set}
    return sorted(((a, round(s, 4)) for a, s in scores.items()), key=lambda i: (-i[1], i[0]))


def choose(
    ranked: Ranked,
    thresholds: Thresholds = TUNED,
    *,
    words: Optional[int] = None,
    topic: Optional[Mapping[str, float]] = None,
    scope_gap: Optional[float] = None,
) -> Decision:
    """The decision for articles already combined and ranked (``rank``)."""
    if not ranked or ranked[0][1] < thresholds.suggest:
        return Decision(Outcome.UNKNOWN, tuple(ranked[:1]))
    top_score = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = thresholds.margin
    if words is not None and words <= thresholds.short_words:
        margin = max(margin, thresholds.short_margin)
    if words is not None and words <= thresholds.vague_words:
        shares = dict(topic or {})
        on_topic = sorted(
            (item for item in ranked if item[0] in shares),
            key=lambda item: (-(shares[item[0]] + item[1]), item[0]),
        )
        if len(shares) >= thresholds.vague_articles and len(on_topic) >= 2:
            return Decision(Outcome.SUGGEST, tuple(on_topic[: thresholds.max_suggestions]))
    in_scope = (
        thresholds.scope_gap is None or scope_gap is None or scope_gap <= thresholds.scope_gap
    )
    if top_score >= thresholds.answer and top_score - runner_up >= margin and in_scope:
        return Decision(Outcome.ANSWER, tuple(ranked[:1]))
    suggestions = [item for item in ranked if item[1] >= thresholds.suggest]
    return Decision(Outcome.SUGGEST, tuple(suggestions[: thresholds.max_suggestions]))
