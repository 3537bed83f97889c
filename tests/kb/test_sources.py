"""Markdown article sources: parsing, clear errors, and a round trip through the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ArticleSourceError
from bot.kb import repository
from bot.kb.sources import (
    import_sources,
    load_sources,
    parse_article_text,
    render_article,
)
from bot.kb.sync import export

GOOD = """---
id: return-policy
language: en
title: How long do I have to return an item?
tags: [returns]
audience: public
status: published
questions:
  - How many days do I have to return something?
  - return period
---
You can return within **14 days**.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "en" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_reads_every_field() -> None:
    source = parse_article_text(GOOD, Path("data/kb/en/return-policy.md"))
    assert source.article_id == "return-policy"
    assert source.questions == ("How many days do I have to return something?", "return period")
    assert source.tags == ("returns",)
    assert source.body == "You can return within **14 days**."


@pytest.mark.parametrize(
    "change, message",
    [
        (("id: return-policy", "id: Return Policy"), "lower-case words"),
        (("id: return-policy\n", ""), "no 'id'"),
        (("language: en", "language: de"), "language 'de'"),
        (("status: published", "status: live"), "status must be"),
        (("audience: public", "audience: everyone"), "audience must be"),
        (("title: How long do I have to return an item?\n", ""), "no 'title'"),
        (("questions:", "colour: red\nquestions:"), "unknown field"),
        (("tags: [returns]", "tags: [returns"), "not valid YAML"),
    ],
)
def test_parse_errors_say_what_is_wrong(change, message) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ArticleSourceError) as error:
        parse_article_text(text, Path("data/kb/en/return-policy.md"))
    assert message in str(error.value)
    assert "return-policy.md" in str(error.value)


def test_file_name_must_match_id() -> None:
    with pytest.raises(ArticleSourceError, match="must be named return-policy.md"):
        parse_article_text(GOOD, Path("data/kb/en/returns.md"))


def test_folder_must_match_language() -> None:
    with pytest.raises(ArticleSourceError, match="does not match its folder"):
        parse_article_text(GOOD, Path("data/kb/lt/return-policy.md"))


def test_render_parses_back_to_the_same_article() -> None:
    source = parse_article_text(GOOD, Path("data/kb/en/return-policy.md"))
    again = parse_article_text(render_article(source), Path("data/kb/en/return-policy.md"))
    assert again == source


def test_shipped_articles_are_stable_under_render(kb_dir: Path) -> None:
    """Exporting the shipped articles must not change them (clean diffs for editors)."""
    sources, errors = load_sources(kb_dir)
    assert errors == []
    for source in sources:
        assert render_article(source) == source.path.read_text(encoding="utf-8"), source.path


def test_load_collects_errors_and_keeps_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "return-policy.md", GOOD)
    write(tmp_path, "broken.md", "---\nid: broken\n---\n")
    sources, errors = load_sources(tmp_path)
    assert [s.article_id for s in sources] == ["return-policy"]
    assert len(errors) == 1 and "broken.md" in str(errors[0])


def test_import_then_export_round_trip(tmp_path: Path, session) -> None:
    write(tmp_path, "return-policy.md", GOOD)
    sources, _ = load_sources(tmp_path)
    report = import_sources(session, sources)
    assert report.created == ["en/return-policy"]
    assert import_sources(session, sources).unchanged == ["en/return-policy"]

    out = tmp_path / "out"
    assert export(session, out, everything=True).written == [out / "en" / "return-policy.md"]
    assert (out / "en" / "return-policy.md").read_text() == GOOD
    assert export(session, out, everything=True).written == []  # nothing changed, nothing written


def test_reimport_of_a_changed_file_makes_a_version(tmp_path: Path, session) -> None:
    write(tmp_path, "return-policy.md", GOOD)
    import_sources(session, load_sources(tmp_path)[0])
    write(tmp_path, "return-policy.md", GOOD.replace("14 days", "30 days"))
    report = import_sources(session, load_sources(tmp_path)[0], author="editor")
    assert report.updated == ["en/return-policy"]
    versions = repository.article_versions(session, "return-policy", "en")
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].author == "editor" and versions[1].changes == ["body"]


def test_import_remembers_the_file_and_reports_an_invalid_article(tmp_path: Path, session) -> None:
    from bot.kb.sources import text_hash

    write(tmp_path, "return-policy.md", GOOD)
    empty = GOOD.replace("return-policy", "empty").replace("You can return within **14 days**.", "")
    write(tmp_path, "empty.md", empty)
    sources, errors = load_sources(tmp_path)
    assert errors == []
    report = import_sources(session, sources)
    assert report.created == ["en/return-policy"]
    assert len(report.errors) == 1 and "empty.md: the answer is empty" in report.errors[0]
    article = repository.get_article(session, "return-policy", "en")
    record = repository.sync_records(session)[article.pk]
    assert (record.file_hash, record.article_version) == (text_hash(GOOD), 1)
