"""Grouping messages by meaning in the languages customers write: English by the sentence encoder,
Lithuanian, Latvian and Polish by character n-grams.

The first text of each pair is a sentence of the source documents (``shared/seeds``, the
customer-service articles in Lithuanian, Latvian and Polish, copied here word for word so the
test does not depend on a folder outside the repository); the second is how a customer might ask
the same, shorter and typed without diacritics.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot.kb import grouping

SEEDS = [
    # 000_1cfc5f65aac8847d.txt (Lithuanian)
    ("Kodėl Klientų aptarnavimas yra svarbus darbuotojui?", "kodel klientu aptarnavimas svarbus darbuotojui"),
    # 003_6c5db560a8f6838b.txt
    ("Klientų aptarnavimo stiprybės ir trūkumai", "kokie klientu aptarnavimo trukumai ir stiprybes?"),
    # 002_6525ad280f3cbb2d.txt
    ("Klientų aptarnavimo darbo reikalavimai", "kokie darbo reikalavimai klientu aptarnavime"),
    # 001_dd5106818cc08f34.txt (Latvian)
    ("Klientu apkalpošanas politikas nozīme", "kāda ir klientu apkalpošanas politikas nozime"),
    ("Klienti sagaida labu servisu", "klienti gaida labu servisu"),
    # 004_7065210487cd5f85.txt (Polish)
    ("Pracownicy są bardzo dobrym przykładem klientów wewnętrznych.", "pracownicy sa przykladem klientow wewnetrznych?"),
    ("Ten przychód jest bardzo ważny dla przetrwania firmy.", "czy przychod jest wazny dla firmy"),
]  # fmt: skip
ENGLISH = [
    ("can I pay with bitcoin", "is bitcoin payment possible"),
    ("my tv is broken", "the television stopped working"),
]


@pytest.mark.parametrize(
    "text, english",
    [
        ("can I pay with bitcoin", True),
        ("Do you take dogecoin?", True),
        ("my order AM-100482 never came", True),
        ("", True),
        ("kur mano užsakymas?", False),
        ("kur mano uzsakymas", False),
        ("Kad tiks piegādāta mana pakas?", False),
        ("czy mogę zapłacić BLIKiem", False),
        *[(lithuanian, False) for pair in SEEDS for lithuanian in pair],
    ],
)
def test_english_is_told_from_the_regions_languages(text, english) -> None:
    assert grouping.is_english(text) is english


def test_the_english_encoder_lumps_the_regions_languages_together(encoder) -> None:
    """Why n-grams: the English encoder finds different sentences of the seeds alike."""
    sentences = [pair[0] for pair in SEEDS]
    vectors = encoder.encode(sentences)
    similarity = vectors @ vectors.T
    pairs = [similarity[i, j] for i, j in itertools.combinations(range(len(sentences)), 2)]
    assert np.mean(np.array(pairs) >= grouping.THRESHOLD) > 0.2


@pytest.mark.parametrize("with_encoder", [True, False])
def test_each_question_with_its_rewording_and_nothing_else(encoder, with_encoder) -> None:
    pairs = SEEDS + ENGLISH if with_encoder else SEEDS
    texts = [text for pair in pairs for text in pair]
    found = grouping.clusters(texts, [1] * len(texts), encoder if with_encoder else None)
    assert sorted(members for members, _ in found) == [[i, i + 1] for i in range(0, len(texts), 2)]
    for members, central in found:
        assert central in members


def test_languages_never_share_a_group(encoder) -> None:
    """An English message with the same names as a Lithuanian one stays apart from it."""
    texts = ["Kur yra Klientų aptarnavimas?", "Klientų aptarnavimas"]
    texts += ["where is the customer service, Klientų aptarnavimas?"]
    found = grouping.clusters(texts, [1, 1, 1], encoder)
    assert sorted(members for members, _ in found) == [[0, 1], [2]]


def test_the_central_message_speaks_for_the_group() -> None:
    texts = ["klientu aptarnavimas", "kodel klientu aptarnavimas svarbus", "klientu aptarnavimas"]
    vectors = grouping.ngram_vectors(texts)
    assert grouping.central(vectors, [0, 1, 2], [1, 1, 5]) in (0, 2)


def test_odd_input_groups_without_failing() -> None:
    texts = ["", "   ", "?!", "ąčęėįšųū", "\u200b", "'; DROP TABLE events; --", "x" * 500]
    found = grouping.clusters(texts, [1] * len(texts), None)
    assert sorted(i for members, _ in found for i in members) == list(range(len(texts)))
