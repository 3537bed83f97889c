from __future__ import annotations

import pytest

from bot.kb.spelling import Speller, common_words, vocabulary_of

ARTICLES = [
    "How do I claim the warranty?",
    "Repair after the warranty has ended",
    "How do I correct details on my invoice?",
    "My card was rejected at checkout",
    "Lost the instructions for my kettle",
    "Where is my order?",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(vocabulary_of(ARTICLES))


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("repair after waranty", "repair after warranty"),
        ("card rejeced at checkout", "card rejected at checkout"),
        ("lost the instrucions", "lost the instructions"),
        # not a word of the articles, but a common English word one edit away
        ("invoice corection", "invoice correction"),
    ],
)
def test_corrects_typos_towards_the_vocabulary(speller: Speller, typed: str, meant: str) -> None:
    assert speller.correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "can you deliver a pizza",  # common words stay, known to the shop or not
        "do you work on 24 june (jonines)?",  # unknown but nothing close
        "order LT-10234, e-mail jonas.petraitis@gmial.com",  # codes and addresses as typed
        "Kur mano užsakymas?",
        "",
        "🙂 <b>hi</b>",
    ],
)
def test_leaves_real_words_codes_and_other_scripts_alone(speller: Speller, text: str) -> None:
    assert speller.correct(text) == text


def test_keeps_the_text_around_a_correction(speller: Speller) -> None:
    assert speller.correct("  Waranty?! (kettle)") == "  warranty?! (kettle)"


def test_a_language_without_a_frequency_list_is_not_corrected() -> None:
    assert common_words("xx") == {}
    speller = Speller(vocabulary_of(["garantija remontas"]), language="xx")
    assert speller.correct("garantja") == "garantja"


def test_long_words_allow_two_edits(speller: Speller) -> None:
    assert speller.correct("instrctions") == "instructions"
    assert speller.correct("instrctons") == "instructions"


def test_a_typo_in_the_vocabulary_itself_is_still_corrected() -> None:
    texts = ["warranty claim"] * 12 + ["repair after waranty"]
    speller = Speller(vocabulary_of(texts))
    assert speller.correct("waranty repair") == "warranty repair"
    # but two real words of the same vocabulary both stay
    assert Speller(vocabulary_of(["return"] * 20 + ["returns"])).correct("returns") == "returns"


def test_comparing_by_length_finds_what_comparing_with_every_word_finds() -> None:
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from bot.kb.spelling import _by_length, _near

    words = sorted(w for w in common_words("en") if len(w) >= 2)
    groups = _by_length(words)
    for typed in ("corection", "rejeced", "waranty", "delivry", "recieve", "xqzv", "a"):
        for limit in (1, 2):
            every = {
                (choice, int(distance))
                for choice, distance, _ in process.extract(
                    typed, words, scorer=OSA.distance, score_cutoff=limit, limit=None
                )
            }
            assert set(_near(typed, groups, limit)) == every


def test_a_word_is_looked_up_once(speller: Speller, monkeypatch) -> None:
    first = speller.word("corection")
    monkeypatch.setattr(speller, "_correction", lambda word: pytest.fail("looked up again"))
    assert speller.word("corection") == first
