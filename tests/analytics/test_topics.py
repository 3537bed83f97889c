"""The top unanswered topics: the same question however it is typed, personal data masked."""

from __future__ import annotations

from bot.analytics.topics import group_unanswered


def test_grouped_by_normalised_text_and_ranked() -> None:
    topics = group_unanswered(
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
    assert [(t.key, t.count, len(t.conversations)) for t in topics] == [
        ("do you gift wrap", 3, 2),
        ("where is order order number", 2, 2),
        ("student discount", 1, 1),
    ]
    assert topics[1].example in ("where is order [order number]", "Where is order [order number]?")


def test_the_limit_and_ties() -> None:
    topics = group_unanswered([(f"c{i}", f"question {i % 3}") for i in range(9)], limit=2)
    assert [(t.key, t.count) for t in topics] == [("question 0", 3), ("question 1", 3)]


def test_odd_unicode_and_control_characters() -> None:
    topics = group_unanswered([("c1", "Ｇｉｆｔ\x00 card\u200b?"), ("c2", "gift card")])
    assert len(topics) >= 1 and topics[0].example.isprintable()
