"""What the bot does with a customer's message: one set of rules for the action server
(``actions/kb.py``) and the editor's "Try it" (``bot/web/editor_api.py``).

In the order the bot applies them:
1. the NLU model's intent routes the message (Rasa's rules, ``data/rules/``): a knowledge
   question, a message the model is unsure of and an out-of-scope one go to the knowledge base
   (``KB_ROUTES``), a request for a person to the handoff, anything else (a greeting, an order
   number) elsewhere;
2. before the knowledge base is asked, a plain request for a person that the model missed, and
   the handoff triggers of handoff.yml (a sensitive topic, frustration), go to a person at once
   (``handoff_first``);
3. the model's parse and the live index's signals are combined by ``bot.kb.answering.decide``:
   answer, offer candidates, or admit not knowing; misses in a row bring in a person
   (``miss_hands_off``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Tuple

from bot.handoff.config import get_config
from bot.handoff.detect import asks_for_person, sensitive_topic, sounds_frustrated
from bot.kb.answering import (
    TUNED,
    Decision,
    Ranked,
    Thresholds,
    choose,
    combine,
    rank,
    understanding_of,
)
from bot.kb.embeddings import EMBEDDING_KEY, unpack
from bot.kb.retrieval import KnowledgeIndex
from bot.kb.scope import mentions_other_service
from bot.kb.text import fold
from bot.settings import Settings

# Intents whose rules run action_answer_from_kb (data/rules/knowledge.yml).
KB_ROUTES = frozenset({"faq", "nlu_fallback", "out_of_scope"})
PERSON_ROUTES = frozenset({"request_human"})  # data/rules/handoff.yml
ASKED_FOR_PERSON = "asked_for_person"


def thresholds_for(settings: Settings) -> Thresholds:
    """The tuned thresholds, with the operator's overrides (BOT_ANSWER_THRESHOLD, ...)."""
    tuned = TUNED
    answer = settings.answer_threshold if settings.answer_threshold is not None else tuned.answer
    suggest = (
        settings.suggest_threshold if settings.suggest_threshold is not None else tuned.suggest
    )
    return dataclasses.replace(tuned, answer=answer, suggest=min(suggest, answer))


def trigger_in(text: str) -> Optional[str]:
    """The handoff reason the customer's words call for at once (handoff.yml), or None."""
    config = get_config()
    if config.trigger_enabled("sensitive_topic") and sensitive_topic(
        text, config.triggers.sensitive_topic.topics
    ):
        return "sensitive_topic"
    if config.trigger_enabled("frustration") and sounds_frustrated(text):
        return "frustration"
    return None


def handoff_first(text: str) -> Optional[str]:
    """Why the message goes to a person before the knowledge base is asked, or None:
    ``asked_for_person`` (a request the model missed) or a trigger of handoff.yml."""
    if asks_for_person(text):
        return ASKED_FOR_PERSON
    return trigger_in(text)


def miss_hands_off(misses: int) -> bool:
    """Whether this many misses in a row bring in a person (handoff.yml, not_understood)."""
    config = get_config()
    return (
        config.trigger_enabled("not_understood")
        and misses >= config.triggers.not_understood.misses_in_a_row
    )


def decide_message(
    index: KnowledgeIndex,
    text: str,
    parse: Mapping[str, Any],
    thresholds: Thresholds = TUNED,
) -> Decision:
    """The knowledge base's decision on ``text``: the model's ``parse`` (Rasa's parse data: the
    tracker's latest message, or /model/parse; ``{}`` when unknown) with the index's signals.
    Blocking (retrieval computes embeddings): run it off an event loop."""
    return weigh_message(index, text, parse, thresholds)[1]


def weigh_message(
    index: KnowledgeIndex,
    text: str,
    parse: Mapping[str, Any],
    thresholds: Thresholds = TUNED,
) -> Tuple[Ranked, Decision]:
    """Every published article's combined score, best first, and the decision
    (``bot.kb.answering.decide``, step by step)."""
    understanding = understanding_of(parse, other_service=mentions_other_service(text))
    # The vector the Rasa server computed for the message, if it handed it over.
    encoder = index.encoder
    known = unpack(parse.get(EMBEDDING_KEY), encoder.dimension) if encoder is not None else None
    signals = index.signals(text, known)
    ranked = rank(combine(understanding, signals, thresholds), index.article_ids)
    decision = choose(
        ranked,
        thresholds,
        words=len(fold(text).split()),
        topic=index.sharing(text),
        scope_gap=index.scope_gap(text, known),
    )
    return ranked, decision
