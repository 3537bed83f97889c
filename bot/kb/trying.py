"""The editor's "Try it": what the bot would do with a customer's question, with the published
articles and with one article's draft in their place, by the bot's own rules
(``bot.kb.deciding``).

The NLU model's parse is the same for both (the model changes only by retraining); the draft
changes what retrieval finds, as publishing it would within seconds. Without a parse (the Rasa
server unreachable) the decision rests on retrieval alone, and the result says so.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from bot.kb.answering import Decision, Outcome, Ranked, Thresholds
from bot.kb.deciding import (
    ASKED_FOR_PERSON,
    KB_ROUTES,
    PERSON_ROUTES,
    handoff_first,
    miss_hands_off,
    weigh_message,
)
from bot.kb.editing import Content
from bot.kb.retrieval import Entry, KnowledgeIndex
from bot.kb.scope import out_of_scope_examples
from bot.kb.text import passages

NOT_UNDERSTOOD = "not_understood_twice"
TOP = 5  # the best-scored articles shown beside the decision


def with_draft(index: KnowledgeIndex, article_id: str, draft: Content) -> KnowledgeIndex:
    """The index as it would be with ``draft`` published for ``article_id`` (an article for
    agents only is not in it)."""
    entries = [e for e in index.entries if e.article_id != article_id]
    answer = [p for p in index.passages if p.article_id != article_id]
    if draft.audience == "public":
        entries.append(Entry(article_id, draft.title))
        entries.extend(Entry(article_id, question) for question in draft.questions)
        answer.extend(Entry(article_id, text) for text in passages(draft.body))
    return KnowledgeIndex(
        entries,
        language=index.language,
        encoder=index.encoder,
        out_of_scope=out_of_scope_examples(index.language),
        passages=answer,
    )


def route_of(text: str, parse: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Where the bot sends the message before any article is chosen: ``knowledge_base``,
    ``handoff`` (with its reason) or ``other`` (the model reads it as something else, a
    greeting or an order number, and another rule answers)."""
    intent = ((parse or {}).get("intent") or {}).get("name")
    confidence = float(((parse or {}).get("intent") or {}).get("confidence") or 0.0)
    route: Dict[str, Any] = {"intent": intent, "confidence": round(confidence, 4)}
    if parse is not None and intent in PERSON_ROUTES:
        return {**route, "to": "handoff", "reason": ASKED_FOR_PERSON}
    if parse is not None and intent not in KB_ROUTES:
        return {**route, "to": "other", "reason": None}
    reason = handoff_first(text)
    return {**route, "to": "handoff" if reason else "knowledge_base", "reason": reason}


def side(ranked: Ranked, decision: Decision, route: Mapping[str, Any]) -> Dict[str, Any]:
    """One column of the result: the decision, the articles it offers (``candidates``: the
    answer, or the suggestions), the best-scored articles (``ranking``), whether a person takes
    over now (and why), or would after one more miss."""
    unknown = route["to"] == "knowledge_base" and decision.outcome is Outcome.UNKNOWN
    handoff = route["to"] == "handoff" or (unknown and miss_hands_off(1))
    reason = route["reason"] if route["to"] == "handoff" else NOT_UNDERSTOOD if handoff else None
    return {
        "outcome": decision.outcome.value,
        "article_id": decision.article_id,
        "candidates": [{"article_id": a, "confidence": s} for a, s in decision.candidates],
        "ranking": [{"article_id": a, "confidence": s} for a, s in ranked[:TOP]],
        "handoff": handoff,
        "handoff_reason": reason,
        "handoff_on_next_miss": unknown and not handoff and miss_hands_off(2),
    }


def try_question(
    index: KnowledgeIndex,
    text: str,
    parse: Optional[Mapping[str, Any]],
    thresholds: Thresholds,
    *,
    draft: Optional[Tuple[str, Content]] = None,
) -> Dict[str, Any]:
    """What the bot would do with ``text``: ``route``, then ``published`` (the articles as
    customers get them now) and ``draft`` (with the draft in place of its article; None without
    one). ``parse`` is the model's /model/parse result, None when the Rasa server is not
    reachable. Blocking: run it off an event loop."""
    route = route_of(text, parse)
    result: Dict[str, Any] = {
        "route": route,
        "published": side(*weigh_message(index, text, parse or {}, thresholds), route),
        "draft": None,
    }
    if draft is not None:
        article_id, content = draft
        changed = with_draft(index, article_id, content)
        result["draft"] = side(*weigh_message(changed, text, parse or {}, thresholds), route)
    return result
