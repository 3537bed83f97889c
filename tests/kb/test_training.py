"""NLU training data generated from the articles, and the training fingerprint."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.kb.sources import ArticleSource, load_sources
from bot.kb.training import GENERATED_NLU, nlu_yaml, training_fingerprint


def source(article_id: str, **kw) -> ArticleSource:
    return ArticleSource(
        article_id=article_id,
        language=kw.pop("language", "en"),
        title=kw.pop("title", "Title"),
        body="Body",
        questions=kw.pop("questions", ("q1", "Q1", "q2")),
        **kw,
    )


def test_each_published_public_article_is_a_retrieval_intent() -> None:
    text = nlu_yaml(
        [
            source("b-article"),
            source("a-article", questions=("first: with colon", "- dash")),
            source("draft", status="draft"),
            source("internal", audience="internal"),
            source("lithuanian", language="lt"),
        ]
    )
    data = yaml.safe_load(text)
    assert [item["intent"] for item in data["nlu"]] == ["faq/a-article", "faq/b-article"]
    examples = data["nlu"][1]["examples"].splitlines()
    assert examples == ["- Title", "- q1", "- q2"]  # title first, case-insensitive repeats dropped
    assert "- first: with colon" in data["nlu"][0]["examples"]
    assert data["responses"]["utter_faq/a-article"] == [{"text": "Title"}]


def test_generated_file_is_current(kb_dir: Path) -> None:
    """`make train` regenerates it; this catches a stale copy used by hand."""
    if GENERATED_NLU.exists():
        assert GENERATED_NLU.read_text() == nlu_yaml(
            load_sources(kb_dir)[0]
        ), "data/nlu/kb_questions.yml is stale: run `make train` (or `python -m bot kb nlu`)"


def test_fingerprint_ignores_answers_but_not_questions(tmp_path: Path) -> None:
    (tmp_path / "data" / "kb" / "en").mkdir(parents=True)
    (tmp_path / "data" / "nlu").mkdir()
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("intents: []\n")
    article = tmp_path / "data" / "kb" / "en" / "a.md"
    article.write_text("answer one")
    nlu = tmp_path / "data" / "nlu" / "kb_questions.yml"
    nlu.write_text("q1")
    first = training_fingerprint(tmp_path)
    article.write_text("answer two")
    assert training_fingerprint(tmp_path) == first
    nlu.write_text("q2")
    assert training_fingerprint(tmp_path) != first
