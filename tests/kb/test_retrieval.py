"""Retrieval over the knowledge base: typos, ranking, live refresh without retraining."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.kb import repository
from bot.kb.retrieval import (
    Entry,
    GroupMax,
    KnowledgeIndex,
    LiveIndex,
    Similarities,
    entries_from_articles,
)
from bot.kb.sources import import_sources, load_sources
from bot.kb.text import fold


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Kaunas, Šiauliai!", "kaunas siauliai"),
        ("  Ĳ  Łódź   BLIK ", "ij łodz blik"),
        ("<script>alert(1)</script>", "script alert 1 script"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.fixture
def index() -> KnowledgeIndex:
    return KnowledgeIndex(
        [
            Entry("refund-timing", "When will I get my refund?"),
            Entry("refund-timing", "how long does a refund take"),
            Entry("delivery-poland", "How much is delivery to Poland?"),
            Entry("delivery-poland", "InPost paczkomat price"),
            Entry("reset-password", "I forgot my password"),
        ]
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("how long until i get my money back refund", "refund-timing"),
        ("refnud how lnog", "refund-timing"),  # typos
        ("paczkomat cost", "delivery-poland"),
        ("forgot pasword", "reset-password"),
    ],
)
def test_best_match(index: KnowledgeIndex, text: str, expected: str) -> None:
    assert index.search(text)[0].article_id == expected


def test_unrelated_text_scores_low(index: KnowledgeIndex) -> None:
    scores = index.scores("what is the capital of australia")
    assert max(scores.values()) < 0.3


@pytest.mark.parametrize("text", ["", "   ", "!!!", "x" * 20000])
def test_degenerate_input_does_not_fail(index: KnowledgeIndex, text: str) -> None:
    assert isinstance(index.search(text), list)


def test_empty_index() -> None:
    assert KnowledgeIndex([]).search("refund") == []


def test_shipped_articles_find_their_own_titles(kb_dir, session) -> None:
    sources, _ = load_sources(kb_dir)
    import_sources(session, sources)
    session.commit()
    live = LiveIndex(session.get_bind())
    for source in sources:
        assert live.search(source.title, "en")[0].article_id == source.article_id


QUERIES = [
    "how long does a refund take refund refund",  # a repeated word: sublinear counts
    "Kiek laiko trunka grąžinimas?",
    "<script>alert('x')</script> OR 1=1; --",
    "zzzz qqqq",  # no known feature
    "the and of",  # stop words only
    "",
]


@pytest.mark.parametrize(
    "vectorizer",
    [
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            stop_words="english",
            token_pattern=r"(?u)\b\w+\b",
        ),
    ],
    ids=["characters", "words"],
)
def test_similarities_are_sklearns_cosines(kb_dir, vectorizer: TfidfVectorizer) -> None:
    sources, _ = load_sources(kb_dir)
    texts = [fold(e.text) for e in entries_from_articles(sources)]
    fitted = vectorizer.fit_transform(texts)
    similarities = Similarities(vectorizer, fitted)
    for query in QUERIES + texts[:40]:
        expected = (fitted @ vectorizer.transform([fold(query)]).T).toarray().ravel()
        np.testing.assert_allclose(similarities(fold(query)), expected, rtol=1e-12, atol=1e-12)


def test_similarities_take_only_what_they_compute() -> None:
    vectorizer = TfidfVectorizer(sublinear_tf=False)
    with pytest.raises(ValueError):
        Similarities(vectorizer, vectorizer.fit_transform(["a refund", "delivery"]))


def test_group_max_is_each_owners_best_clipped_score() -> None:
    rng = np.random.default_rng(7)
    owners = rng.integers(0, 9, size=200)  # owner 9 has none, some others may have none
    scores = rng.normal(0.3, 0.6, size=200)
    expected = np.zeros(10)
    np.maximum.at(expected, owners, np.clip(scores, 0.0, 1.0))
    np.testing.assert_array_equal(GroupMax(owners, 10)(scores), expected)
    assert GroupMax(np.array([], dtype=np.int64), 3)(np.array([])).tolist() == [0.0, 0.0, 0.0]


def test_live_index_sees_a_new_article_without_retraining(engine) -> None:
    from bot.db import session_scope

    now = [0.0]
    live = LiveIndex(engine, refresh_seconds=2.0, clock=lambda: now[0])
    assert live.search("do you sell drones", "en") == []
    with session_scope(engine) as session:
        repository.save_article(
            session,
            article_id="drones",
            language="en",
            title="Do you sell drones?",
            body="Yes, DJI drones.",
            questions=["drone shop"],
            status="published",
            author="t",
        )
    assert live.search("do you sell drones", "en") == []  # cached until the refresh interval
    now[0] = 2.5
    assert live.search("do you sell drones", "en")[0].article_id == "drones"


def test_unwrap_joins_wrapped_lines_and_keeps_structure() -> None:
    from bot.kb.text import unwrap

    text = (
        "You can return **within 14\ndays** of delivery.\n\n"
        "1. Start the return in\n   your account.\n2. Drop it at a locker.\n\n"
        "- cards: 3-5 days\n- BLIK: 1-3\n  days\n"
    )
    assert unwrap(text) == (
        "You can return **within 14 days** of delivery.\n\n"
        "1. Start the return in your account.\n2. Drop it at a locker.\n\n"
        "- cards: 3-5 days\n- BLIK: 1-3 days"
    )


def test_sharing_lists_articles_using_every_word(index: KnowledgeIndex) -> None:
    assert index.sharing("refund") == {"refund-timing": 1.0}
    assert index.sharing("refunds") == {"refund-timing": 1.0}  # a plural is the same word
    assert index.sharing("delivery poland") == {"delivery-poland": 0.5}
    assert index.sharing("my") == {"refund-timing": 0.5, "reset-password": 1.0}
    assert index.sharing("nothing like this") == {}
    assert index.sharing("") == {}


def test_shipped_topics_are_spread_and_specific_words_are_not(kb_dir) -> None:
    from bot.kb.sources import load_sources

    sources = [s for s in load_sources(kb_dir)[0] if s.language == "en"]
    shipped = KnowledgeIndex(entries_from_articles(sources))
    assert len(shipped.sharing("refund")) >= 3 and len(shipped.sharing("warranty")) >= 3
    assert len(shipped.sharing("2fa")) <= 1


def test_sharing_is_the_share_of_each_articles_entries_using_every_word(kb_dir) -> None:
    """The index of words gives what checking every entry of every article gives."""
    from bot.kb.sources import load_sources
    from bot.kb.text import fold

    sources = [s for s in load_sources(kb_dir)[0] if s.language == "en"]
    entries = entries_from_articles(sources)
    shipped = KnowledgeIndex(entries)

    def uses(text: str, word: str) -> bool:
        words = set(re.findall(r"\w+", fold(text)))
        return bool({word, f"{word}s"} & words) or (word.endswith("s") and word[:-1] in words)

    for question in ("refund", "my order", "returns", "warranty claims", "card payment", "s"):
        words = re.findall(r"\w+", fold(shipped.speller.correct(question)))
        expected = {}
        for article in dict.fromkeys(e.article_id for e in entries):
            own = [e.text for e in entries if e.article_id == article]
            hits = sum(all(uses(text, w) for w in words) for text in own)
            if hits:
                expected[article] = round(hits / len(own), 4)
        assert shipped.sharing(question) == expected


def test_scope_gap_tells_near_topic_questions_from_ours() -> None:
    from bot.kb.embeddings import default_encoder
    from bot.kb.scope import out_of_scope_examples

    entries = [
        Entry("returns", "how do I return an item"),
        Entry("returns", "can I send my order back"),
        Entry("delivery", "how long does delivery take"),
        Entry("delivery", "when will my parcel arrive"),
    ]
    index = KnowledgeIndex(
        entries,
        encoder=default_encoder(),
        out_of_scope=["what is the weather tomorrow", "will it rain today", "tell me a joke"],
    )
    ours = index.scope_gap("how can I return the blender")
    theirs = index.scope_gap("is it going to rain in riga tomorrow")
    assert ours is not None and theirs is not None and ours < 0 < theirs
    assert KnowledgeIndex(entries, encoder=default_encoder()).scope_gap("rain") is None
    assert len(out_of_scope_examples("en")) > 200 and out_of_scope_examples("lt") == ()


def test_passages_are_the_answers_paragraphs_and_items_in_plain_text() -> None:
    from bot.kb.text import passages

    body = (
        "**Returns are free** by parcel locker. See the\n"
        "[return form](https://amberline.example/returns) for details.\n\n"
        "How to:\n\n"
        "1. Start the return in **Account → Orders**.\n"
        "- Pack the item with all `cables` and manuals.\n\n"
        "## Large items\n"
    )
    assert passages(body) == [
        "Returns are free by parcel locker. See the return form for details.",
        "Start the return in Account → Orders.",
        "Pack the item with all cables and manuals.",
    ]
    assert passages("") == [] and passages("<script>x</script>\n\n**") == ["<script>x</script>"]


def test_answer_passages_find_an_article_by_a_detail_no_variant_names() -> None:
    from bot.kb.embeddings import default_encoder

    entries = [
        Entry("instalments", "Can I buy in instalments?"),
        Entry("instalments", "pay in monthly parts"),
        Entry("payment-methods", "Which payment methods do you accept?"),
        Entry("payment-methods", "can I pay by card"),
    ]
    answers = [
        Entry(
            "instalments", "A 3-month plan has no interest; longer plans show the interest rate."
        ),
        Entry("payment-methods", "We accept Visa, Mastercard, bank links and Google Pay."),
        Entry("deleted-article", "An answer of an article that is not indexed."),
    ]
    question = "is the three month plan free of interest"
    plain = KnowledgeIndex(entries, encoder=default_encoder())
    with_answers = KnowledgeIndex(entries, encoder=default_encoder(), passages=answers)
    assert [p.article_id for p in with_answers.passages] == ["instalments", "payment-methods"]
    before = plain.signals(question)["semantic"]
    after = with_answers.signals(question)["semantic"]
    gain = after["instalments"] - before["instalments"]
    assert gain > after["payment-methods"] - before["payment-methods"] and gain > 0.05
    assert with_answers.search(question)[0].article_id == "instalments"
    # Without embeddings the passages are not used, and lexical scores do not change.
    assert KnowledgeIndex(entries, passages=answers).signals(question) == KnowledgeIndex(
        entries
    ).signals(question)


def test_shipped_articles_have_answer_passages(kb_dir) -> None:
    from bot.kb.retrieval import passages_from_articles

    sources = [s for s in load_sources(kb_dir)[0] if s.language == "en"]
    found = passages_from_articles(sources)
    assert {p.article_id for p in found} == {s.article_id for s in sources}
    assert all("**" not in p.text and "](" not in p.text for p in found)


def test_a_vector_handed_over_is_used_for_its_own_text_only(monkeypatch) -> None:
    from bot.kb.embeddings import SentenceEncoder, default_encoder

    encoder = default_encoder()
    assert encoder is not None
    entries = [
        Entry("returns", "how do I return an item"),
        Entry("delivery", "how long does delivery take"),
    ]
    index = KnowledgeIndex(entries, encoder=encoder, out_of_scope=["will it rain today"] * 3)
    text = "when will my parcel arrive"
    computed = index.signals(text), index.scope_gap(text)
    known = (text, encoder.encode([text])[0])

    def no_encoding(self, texts, batch_size=32):
        raise AssertionError("computed again")

    monkeypatch.setattr(SentenceEncoder, "encode", no_encoding)
    # the same figures without computing the vector again
    assert (index.signals(text, known), index.scope_gap(text, known)) == computed
    # a vector of another text is not used for this one
    with pytest.raises(AssertionError, match="computed again"):
        index.signals("how do I return a kettle", known)
