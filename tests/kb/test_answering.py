"""The answer / suggest / "I don't know" decision."""

from __future__ import annotations

import pytest

from bot.kb.answering import Outcome, Thresholds, Understanding, combine, decide

T = Thresholds(
    answer=0.55,
    suggest=0.35,
    margin=0.08,
    model_weight=0.5,
    semantic_weight=0.5,
    lexical_weight=0.0,
    out_of_scope_penalty=0.1,
)


def R(**scores: float):
    return {"semantic": {k.replace("_", "-"): v for k, v in scores.items()}}


def faq(confidence: float = 0.95, **articles: float) -> Understanding:
    return Understanding("faq", confidence, {k.replace("_", "-"): v for k, v in articles.items()})


def test_clear_winner_is_answered() -> None:
    decision = decide(faq(return_policy=0.9, how_to_return=0.05), R(return_policy=0.7), T)
    assert decision.outcome is Outcome.ANSWER
    assert decision.article_id == "return-policy"
    assert 0.55 <= decision.confidence <= 1


def test_close_runner_up_gives_suggestions() -> None:
    decision = decide(
        faq(return_policy=0.5, how_to_return=0.45),
        R(return_policy=0.6, how_to_return=0.6),
        T,
    )
    assert decision.outcome is Outcome.SUGGEST
    assert [a for a, _ in decision.candidates] == ["return-policy", "how-to-return"]
    assert decision.article_id is None


def test_weak_evidence_is_unknown() -> None:
    decision = decide(Understanding("out_of_scope", 0.9, {"gift-cards": 0.3}), R(gift_cards=0.2), T)
    assert decision.outcome is Outcome.UNKNOWN


def test_no_evidence_is_unknown() -> None:
    assert decide(Understanding(), {}, T).outcome is Outcome.UNKNOWN


def test_article_unknown_to_the_model_is_scored_by_retrieval() -> None:
    scores = combine(faq(gift_cards=0.9), R(drones=0.8), T)
    assert scores["drones"] == pytest.approx(0.8)


def test_new_article_can_be_answered_before_retraining() -> None:
    decision = decide(Understanding("nlu_fallback", 0.3, {}), R(drones=0.85), T)
    assert decision.outcome is Outcome.ANSWER and decision.article_id == "drones"


def test_unpublished_article_is_never_answered() -> None:
    decision = decide(faq(old_article=0.99), R(old_article=0.9), T, allowed=["other"])
    assert decision.outcome is Outcome.UNKNOWN


def test_suggestions_are_capped() -> None:
    retrieval = {"semantic": {f"a{i}": 0.5 for i in range(6)}}
    decision = decide(Understanding("faq", 0.5, {}), retrieval, T)
    assert decision.outcome is Outcome.SUGGEST and len(decision.candidates) == 3


def test_out_of_scope_intent_lowers_the_model_share() -> None:
    sure_faq = combine(faq(0.95, gift_cards=0.9), R(gift_cards=0.3), T)["gift-cards"]
    out_of_scope = combine(
        Understanding("out_of_scope", 0.95, {"gift-cards": 0.9}), R(gift_cards=0.3), T
    )["gift-cards"]
    assert out_of_scope < sure_faq - 0.1  # less model trust, and the penalty


def test_weights_of_missing_signals_are_renormalised() -> None:
    both = {"semantic": {"a": 0.8}, "lexical": {"a": 0.4}}
    weights = Thresholds(model_weight=0.0, semantic_weight=0.5, lexical_weight=0.5)
    assert combine(Understanding(), both, weights)["a"] == pytest.approx(0.6)
    assert combine(Understanding(), {"semantic": {"a": 0.8}}, weights)["a"] == pytest.approx(0.8)


def test_a_one_word_topic_many_articles_share_gets_candidates() -> None:
    # The model is sure of one article, but "refund" alone is a topic of several.
    evidence = (faq(refund_timing=0.9, refund_method=0.05), R(refund_timing=0.8, refund_method=0.3))
    topic = {
        "refund-method": 0.6,
        "refund-not-received": 0.5,
        "refund-timing": 0.7,
        "gift-cards": 0.05,
    }
    assert decide(*evidence, T, words=1, topic={"refund-timing": 0.7}).outcome is Outcome.ANSWER
    vague = decide(*evidence, T, words=1, topic=topic)
    assert vague.outcome is Outcome.SUGGEST
    assert [a for a, _ in vague.candidates] == ["refund-timing", "refund-method"]
    # Two words are a question, not a topic.
    assert decide(*evidence, T, words=2, topic=topic).outcome is Outcome.ANSWER
