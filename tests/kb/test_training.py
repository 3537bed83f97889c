"""NLU training data generated from the articles, and the training fingerprint."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import List

import yaml
from sqlalchemy.orm import Session

from bot import db
from bot.kb import editing, repository
from bot.kb.sources import ArticleSource, import_sources, load_sources
from bot.kb.training import GENERATED_NLU, database_sources, nlu_yaml, training_fingerprint


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
    """`make train` regenerates it from the published articles of the database (the files'
    when it has none); this catches a stale copy used by hand."""
    if not GENERATED_NLU.exists():
        return
    sources: List[ArticleSource] = []
    # No database or schema: the files.
    with contextlib.suppress(Exception), db.session_scope(db.get_engine()) as session:
        sources = database_sources(session)
    assert GENERATED_NLU.read_text() == nlu_yaml(
        sources or load_sources(kb_dir)[0]
    ), "data/nlu/kb_questions.yml is stale: run `make train` (or `python -m bot kb nlu`)"


def test_the_database_export_is_what_customers_get(session: Session, kb_dir: Path) -> None:
    """Imported articles export as their files do; a newer draft is left out until it is
    published, then its question variants are in."""
    files = load_sources(kb_dir)[0]
    import_sources(session, files)
    assert nlu_yaml(database_sources(session)) == nlu_yaml(files)
    article = repository.get_article(session, "gift-cards", "en")
    draft = editing.content(
        title=article.title,
        body=article.body,
        questions=[*article.question_texts, "is my voucher still good after two years"],
        tags=list(article.tags),
        audience="public",
    )
    head = editing.head_of(article).version
    editing.save_draft(
        session, article_id="gift-cards", language="en", content=draft, author="edita",
        base_version=head,
    )  # fmt: skip
    assert nlu_yaml(database_sources(session)) == nlu_yaml(files)
    editing.publish(
        session, article_id="gift-cards", language="en", author="edita", base_version=head + 1
    )
    exported = yaml.safe_load(nlu_yaml(database_sources(session)))
    gift = next(i for i in exported["nlu"] if i["intent"] == "faq/gift-cards")
    assert "- is my voucher still good after two years" in gift["examples"].splitlines()


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
