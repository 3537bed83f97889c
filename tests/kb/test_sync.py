"""Syncing data/kb with the database: which side changed since the last sync decides, a conflict
overwrites nothing, and an export writes only what the editor changed."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
from sqlalchemy import delete

from bot.kb import editing, repository
from bot.kb.models import ArticleSync
from bot.kb.sources import (
    ArticleSource,
    import_sources,
    load_sources,
    render_article,
    source_from_article,
)
from bot.kb.sync import FILE_STATES, export, file_states, sync

ARTICLE = """---
id: {id}
language: en
title: {title}
tags: [returns]
audience: public
status: published
questions:
  - {question}
---
{body}
"""


def article_text(article_id: str, body: str = "You can return within 14 days.", **more) -> str:
    fields = {"title": f"About {article_id}", "question": f"tell me about {article_id}"}
    fields.update(more)
    return ARTICLE.format(id=article_id, body=body, **fields)


def write(kb: Path, article_id: str, text: str) -> Path:
    path = kb / "en" / f"{article_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def kb(tmp_path: Path, session) -> Path:
    """Two articles in files, synced once: the database and the files in step."""
    folder = tmp_path / "kb"
    write(folder, "return-policy", article_text("return-policy"))
    write(folder, "gift-cards", article_text("gift-cards", "Valid 12 months."))
    report = sync(session, folder)
    assert report.count("created") == 2 and report.ok
    return folder


def kinds(report) -> Dict[str, str]:
    return {change.key: change.kind for change in report.changes}


def publish_in_editor(session, article_id: str, body: str, author: str = "edita") -> None:
    article = repository.get_article(session, article_id, "en")
    head = editing.head_of(article)
    editing.publish(
        session,
        article_id=article_id,
        language="en",
        author=author,
        base_version=head.version,
        content=editing.content(
            title=article.title, body=body, questions=article.question_texts, tags=article.tags
        ),
    )


def create_in_editor(session, article_id: str = "store-hours") -> None:
    """A new article written in the web editor (a draft, no file)."""
    editing.create(
        session,
        article_id=article_id,
        language="en",
        author="edita",
        content=editing.content(title="Store hours", body="9 to 5.", questions=["when open"]),
    )


def test_a_new_file_becomes_a_published_article_once(kb: Path, session) -> None:
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.status, article.version, article.updated_by) == ("published", 1, "git")
    again = sync(session, kb)
    assert set(kinds(again).values()) == {"unchanged"} and again.lines() == []
    assert again.summary().startswith("knowledge base sync: 0 created, 0 updated")
    assert again.summary().endswith("2 unchanged")


def test_a_changed_file_is_imported_as_a_version_that_can_be_rolled_back(kb, session) -> None:
    write(kb, "gift-cards", article_text("gift-cards", "Valid 24 months."))
    report = sync(session, kb)
    assert kinds(report) == {"en/gift-cards": "updated", "en/return-policy": "unchanged"}
    assert report.lines() == [
        "updated   en/gift-cards: the file changed: imported as version 2 by git, published"
    ]
    versions = repository.article_versions(session, "gift-cards", "en")
    assert [(v.version, v.author, v.body) for v in versions] == [
        (1, "git", "Valid 12 months."),
        (2, "git", "Valid 24 months."),
    ]
    assert versions[1].note == f"synced from {kb / 'en' / 'gift-cards.md'}"
    editing.roll_back(
        session, article_id="gift-cards", language="en", to_version=1, author="edita",
        base_version=2,
    )  # fmt: skip
    assert repository.get_article(session, "gift-cards", "en").body == "Valid 12 months."


def test_a_reformatted_file_with_the_same_content_makes_no_version(kb, session) -> None:
    text = article_text("gift-cards", "Valid 12 months.").replace(
        "tags: [returns]", "tags: [Returns]"
    )
    write(kb, "gift-cards", text)
    assert kinds(sync(session, kb))["en/gift-cards"] == "unchanged"
    assert repository.get_article(session, "gift-cards", "en").version == 1
    # ... and it is remembered as in step: the editor's next change is not a conflict.
    publish_in_editor(session, "gift-cards", "Valid 18 months.")
    assert kinds(sync(session, kb))["en/gift-cards"] == "export"


def test_a_removed_file_archives_the_article_and_keeps_its_history(kb, session) -> None:
    (kb / "en" / "gift-cards.md").unlink()
    report = sync(session, kb)
    assert kinds(report)["en/gift-cards"] == "archived"
    assert "its file was removed: unpublished as version 2" in report.lines()[0]
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.status, article.updated_by, article.body) == (
        "draft",
        "git",
        "Valid 12 months.",
    )
    assert len(repository.article_versions(session, "gift-cards", "en")) == 2
    assert repository.published_articles(session, "en")[0].article_id == "return-policy"
    # Once archived it stays so, and an export does not write it back.
    assert kinds(sync(session, kb))["en/gift-cards"] == "unchanged"
    assert export(session, kb).written == []
    assert not (kb / "en" / "gift-cards.md").exists()


def test_a_file_added_back_publishes_the_archived_article_again(kb, session) -> None:
    path = kb / "en" / "gift-cards.md"
    text = path.read_text()
    path.unlink()
    sync(session, kb)
    path.write_text(text)
    assert kinds(sync(session, kb))["en/gift-cards"] == "updated"
    assert repository.get_article(session, "gift-cards", "en").status == "published"


def test_published_in_the_editor_is_kept_and_reported_for_export(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "Valid 24 months, says the editor.")
    report = sync(session, kb)
    assert kinds(report)["en/gift-cards"] == "export" and report.ok
    assert report.lines() == [
        "export    en/gift-cards: changed in the editor since the last sync (version 2 by "
        "edita, published): run `python -m bot kb export` to update the file"
    ]
    assert "1 to export" in report.summary()
    article = repository.get_article(session, "gift-cards", "en")
    assert article.body == "Valid 24 months, says the editor." and article.version == 2

    done = export(session, kb)
    assert done.written == [kb / "en" / "gift-cards.md"]  # only the file that changes
    assert (done.skipped, done.unchanged) == ([], 1)
    assert "Valid 24 months, says the editor." in (kb / "en" / "gift-cards.md").read_text()
    assert set(kinds(sync(session, kb)).values()) == {"unchanged"}
    assert export(session, kb).written == []


def test_a_change_on_both_sides_is_a_conflict_that_overwrites_nothing(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "The editor's answer.")
    changed = article_text("gift-cards", "The file's answer.")
    write(kb, "gift-cards", changed)
    report = sync(session, kb)
    assert kinds(report)["en/gift-cards"] == "conflict" and not report.ok
    line = report.lines()[0]
    assert line.startswith("conflict  en/gift-cards: the file and the editor both changed it")
    assert "`python -m bot kb sync --prefer files --article en/gift-cards`" in line
    assert "`python -m bot kb sync --prefer editor --article en/gift-cards`" in line
    assert repository.get_article(session, "gift-cards", "en").body == "The editor's answer."
    assert (kb / "en" / "gift-cards.md").read_text() == changed
    # An export leaves the conflict alone too.
    done = export(session, kb)
    assert done.written == [] and [c.key for c in done.skipped] == ["en/gift-cards"]
    assert (kb / "en" / "gift-cards.md").read_text() == changed
    # Still a conflict at the next sync: nothing was recorded.
    assert kinds(sync(session, kb))["en/gift-cards"] == "conflict"


def test_prefer_files_imports_the_file_over_the_editors_change(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "The editor's answer.")
    write(kb, "gift-cards", article_text("gift-cards", "The file's answer."))
    report = sync(session, kb, prefer="files")
    assert kinds(report)["en/gift-cards"] == "updated" and report.ok
    assert report.lines()[0].endswith("(conflict decided by --prefer files)")
    versions = repository.article_versions(session, "gift-cards", "en")
    assert [v.body for v in versions] == [
        "Valid 12 months.",
        "The editor's answer.",  # kept in the history
        "The file's answer.",
    ]
    assert set(kinds(sync(session, kb)).values()) == {"unchanged"}


def test_prefer_editor_writes_the_editors_version_over_the_file(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "The editor's answer.")
    write(kb, "gift-cards", article_text("gift-cards", "The file's answer."))
    report = sync(session, kb, prefer="editor", only=["en/gift-cards"])
    assert kinds(report) == {"en/gift-cards": "exported"}
    article = repository.get_article(session, "gift-cards", "en")
    assert article.body == "The editor's answer." and article.version == 2
    path = kb / "en" / "gift-cards.md"
    assert path.read_text() == render_article(source_from_article(article))
    # Merging by hand in the file afterwards is a file change: the next sync imports it.
    path.write_text(path.read_text().replace("The editor's answer.", "Both answers."))
    assert kinds(sync(session, kb))["en/gift-cards"] == "updated"
    assert repository.get_article(session, "gift-cards", "en").body == "Both answers."


def test_a_removed_file_of_an_edited_article_is_a_conflict(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "The editor's answer.")
    (kb / "en" / "gift-cards.md").unlink()
    report = sync(session, kb)
    assert kinds(report)["en/gift-cards"] == "conflict"
    assert "its file was removed, and the editor changed it" in report.lines()[0]
    assert repository.get_article(session, "gift-cards", "en").status == "published"
    assert kinds(sync(session, kb, prefer="editor"))["en/gift-cards"] == "exported"
    assert "The editor's answer." in (kb / "en" / "gift-cards.md").read_text()

    (kb / "en" / "gift-cards.md").unlink()
    publish_in_editor(session, "gift-cards", "Changed again.")
    assert kinds(sync(session, kb, prefer="files"))["en/gift-cards"] == "archived"
    assert repository.get_article(session, "gift-cards", "en").status == "draft"


def test_an_article_new_in_the_editor_is_exported_to_a_new_file(kb, session) -> None:
    create_in_editor(session)
    report = sync(session, kb)
    assert kinds(report)["en/store-hours"] == "export"
    assert "new in the editor (version 1 by edita, not published)" in report.lines()[0]
    assert export(session, kb).written == [kb / "en" / "store-hours.md"]
    assert "status: draft" in (kb / "en" / "store-hours.md").read_text()
    assert kinds(sync(session, kb))["en/store-hours"] == "unchanged"


def test_an_unreadable_file_is_an_error_and_its_article_is_kept(kb, session) -> None:
    write(kb, "gift-cards", "---\nid: [\n---\nbroken")
    write(kb, "empty", article_text("empty", body=""))
    report = sync(session, kb)
    errors = {c.key: c.detail for c in report.of("error")}
    assert set(errors) == {str(kb / "en" / "gift-cards.md"), str(kb / "en" / "empty.md")}
    assert "not valid YAML" in errors[str(kb / "en" / "gift-cards.md")]
    assert "the answer is empty" in errors[str(kb / "en" / "empty.md")]
    assert not report.ok and repository.find_article(session, "empty", "en") is None
    assert repository.get_article(session, "gift-cards", "en").status == "published"
    assert kinds(report)["en/return-policy"] == "unchanged"
    done = export(session, kb)
    assert [c.key for c in done.skipped] == ["en/gift-cards"]
    assert "cannot be read" in done.skipped[0].detail


def test_export_leaves_a_file_changed_since_the_sync_unless_told(kb, session) -> None:
    changed = article_text("gift-cards", "Pulled from git, not synced yet.")
    write(kb, "gift-cards", changed)
    (kb / "en" / "return-policy.md").unlink()
    done = export(session, kb)
    assert done.written == [] and {c.key: c.kind for c in done.skipped} == {
        "en/gift-cards": "skipped",
        "en/return-policy": "skipped",
    }
    details = " ".join(c.detail for c in done.skipped)
    assert "the file changed since the last sync" in details
    assert "its file was removed since the last sync" in details
    assert (kb / "en" / "gift-cards.md").read_text() == changed

    everything = export(session, kb, everything=True)
    assert sorted(everything.written) == [
        kb / "en" / "gift-cards.md",
        kb / "en" / "return-policy.md",
    ]
    assert "Valid 12 months." in (kb / "en" / "gift-cards.md").read_text()
    assert set(kinds(sync(session, kb)).values()) == {"unchanged"}


def test_a_pending_draft_is_named_when_a_file_change_is_imported(kb, session) -> None:
    article = repository.get_article(session, "gift-cards", "en")
    editing.save_draft(
        session,
        article_id="gift-cards",
        language="en",
        author="edita",
        base_version=1,
        content=editing.content(title=article.title, body="A draft.", questions=["q"]),
    )
    write(kb, "gift-cards", article_text("gift-cards", "From git."))
    report = sync(session, kb)
    assert kinds(report)["en/gift-cards"] == "updated"
    assert (
        "the editor's unpublished draft (version 2 by edita) stays in the history"
        in (report.lines()[0])
    )
    versions = repository.article_versions(session, "gift-cards", "en")
    assert [v.body for v in versions] == ["Valid 12 months.", "A draft.", "From git."]


def test_only_limits_the_sync_and_names_unknown_articles(kb, session) -> None:
    write(kb, "gift-cards", article_text("gift-cards", "Changed."))
    write(kb, "return-policy", article_text("return-policy", "Changed too."))
    report = sync(session, kb, only=["en/return-policy", "en/nothing-here"])
    assert kinds(report) == {"en/nothing-here": "error", "en/return-policy": "updated"}
    assert repository.get_article(session, "gift-cards", "en").version == 1


def test_prefer_must_be_files_or_editor(kb, session) -> None:
    with pytest.raises(ValueError, match="files, editor"):
        sync(session, kb, prefer="mine")


@pytest.mark.parametrize(
    "body, title",
    [
        ("<script>alert(1)</script> and ' OR 1=1 --", "Quotes ' \" and <b>tags</b>"),
        ("Łódź, Rīga, Šiauliai: ąčęėįšųūž ĀČĒĢĪĶĻŅŠŪŽ", "Zażółć gęślą jaźń"),
        ("x" * 19_000, "Long"),
    ],
)
def test_odd_text_goes_both_ways_unchanged(kb, session, body: str, title: str) -> None:
    source = ArticleSource("gift-cards", "en", title, body, questions=("q <b>?",))
    write(kb, "gift-cards", render_article(source))
    assert kinds(sync(session, kb))["en/gift-cards"] == "updated"
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.body, article.title) == (body, title)
    publish_in_editor(session, "gift-cards", body + " (edited)")
    export(session, kb)
    assert set(kinds(sync(session, kb)).values()) == {"unchanged"}


class TestFirstSyncOfAnExistingDatabase:
    """A database from before syncing (setup imported once, editors published since): no record,
    so the history decides, and only what is certain is done."""

    @pytest.fixture
    def imported(self, tmp_path: Path, session) -> Path:
        folder = tmp_path / "old"
        write(folder, "gift-cards", article_text("gift-cards", "Valid 12 months."))
        import_sources(session, load_sources(folder)[0], author="import")
        session.execute(delete(ArticleSync))  # as before migration 0010
        return folder

    def test_the_same_content_is_recorded_as_in_step(self, imported, session) -> None:
        assert kinds(sync(session, imported)) == {"en/gift-cards": "unchanged"}
        assert repository.sync_records(session)

    def test_the_file_holds_an_older_version_the_editor_changed(self, imported, session) -> None:
        publish_in_editor(session, "gift-cards", "Published by the editor.")
        assert kinds(sync(session, imported)) == {"en/gift-cards": "export"}

    def test_an_import_then_a_changed_file_is_imported(self, imported, session) -> None:
        write(imported, "gift-cards", article_text("gift-cards", "Changed in git."))
        assert kinds(sync(session, imported)) == {"en/gift-cards": "updated"}

    def test_both_unknown_changes_are_a_conflict(self, imported, session) -> None:
        publish_in_editor(session, "gift-cards", "Published by the editor.")
        write(imported, "gift-cards", article_text("gift-cards", "Changed in git."))
        assert kinds(sync(session, imported)) == {"en/gift-cards": "conflict"}


def test_an_empty_or_wrong_folder_archives_nothing(kb, session, tmp_path) -> None:
    from bot.errors import ArticleSourceError

    for folder in (tmp_path / "no-such-folder", tmp_path / "empty"):
        folder.mkdir(exist_ok=True) if folder.name == "empty" else None
        with pytest.raises(ArticleSourceError, match="no article files here"):
            sync(session, folder)
    assert len(repository.published_articles(session, "en")) == 2


@pytest.mark.parametrize(
    "name, text, reason",
    [
        ("gift-cards", article_text("gift-cards", title="T" * 201), "longer than 200 characters"),
        ("a" * 101, article_text("a" * 101), "at most 100 characters"),
        ("gift-cards", "\ufeff---\nid: gift-cards\n---\n\x00", "the front matter has no 'id'"),
        ("gift-cards", "", "the front matter has no 'id'"),
    ],
)
def test_what_the_database_cannot_hold_is_an_error(kb, session, name, text, reason) -> None:
    write(kb, name, text)
    errors = sync(session, kb).of("error")
    assert [c.key for c in errors] == [str(kb / "en" / f"{name}.md")]
    assert reason in errors[0].detail
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.title, article.status, article.version) == ("About gift-cards", "published", 1)


def test_an_article_whose_id_cannot_name_a_file_is_never_written(kb, session) -> None:
    repository.save_article(
        session, article_id="../../outside", language="en", title="Bad", body="Bad.",
        questions=["bad"], status="published", author="sql",
    )  # fmt: skip
    report = sync(session, kb)
    assert {c.key: c.detail for c in report.of("error")} == {
        "en/../../outside": "its id or language cannot name a file in data/kb"
    }
    for everything in (False, True):
        done = export(session, kb, everything=everything)
        assert [(c.key, c.detail) for c in done.skipped] == [
            ("en/../../outside", report.of("error")[0].detail)
        ]
    assert not (kb.parent / "outside.md").exists() and not (kb / "outside.md").exists()


def test_a_file_that_cannot_be_written_is_reported(kb, session) -> None:
    publish_in_editor(session, "gift-cards", "The editor's answer.")
    path = kb / "en" / "gift-cards.md"
    path.unlink()
    path.mkdir()  # a folder where the file should be: cannot be written, as without permission
    done = export(session, kb, everything=True)
    assert [c.key for c in done.skipped] == ["en/gift-cards"]
    assert "gift-cards.md: cannot be written (Is a directory)" in done.skipped[0].detail
    report = sync(session, kb, prefer="editor")
    assert [c.key for c in report.of("error")] == [str(path)]
    assert "cannot be read" in report.of("error")[0].detail
    assert repository.get_article(session, "gift-cards", "en").body == "The editor's answer."


def test_the_last_file_removed_is_archived_when_named(kb, session) -> None:
    for path in (kb / "en").glob("*.md"):
        path.unlink()
    report = sync(session, kb, only=["en/gift-cards", "en/return-policy"])
    assert set(kinds(report).values()) == {"archived"}
    assert repository.published_articles(session, "en") == []


def test_file_states_say_what_sync_and_export_would_find_and_change_nothing(kb, session) -> None:
    assert file_states(session, kb) == {
        ("en", "gift-cards"): "in_git",
        ("en", "return-policy"): "in_git",
    }
    publish_in_editor(session, "gift-cards", "Valid 24 months, says the editor.")
    publish_in_editor(session, "return-policy", "The editor's answer.")
    write(kb, "return-policy", article_text("return-policy", "The file's answer."))
    create_in_editor(session)
    before = {path.name: path.read_text() for path in (kb / "en").iterdir()}
    states = file_states(session, kb)
    assert states == {
        ("en", "gift-cards"): "not_exported",
        ("en", "return-policy"): "conflict",
        ("en", "store-hours"): "not_exported",
    }
    assert set(states.values()) <= set(FILE_STATES)
    assert {path.name: path.read_text() for path in (kb / "en").iterdir()} == before
    report = sync(session, kb)  # the same verdicts, in the sync's words
    assert kinds(report) == {
        "en/gift-cards": "export",
        "en/return-policy": "conflict",
        "en/store-hours": "export",
    }
    export(session, kb)
    assert file_states(session, kb)[("en", "gift-cards")] == "in_git"
    assert file_states(session, kb)[("en", "store-hours")] == "in_git"


def test_file_states_of_a_changed_unreadable_or_unnameable_file(kb, session) -> None:
    write(kb, "gift-cards", article_text("gift-cards", "A new answer in git."))
    write(kb, "return-policy", "---\nid: [\n---\nbroken")
    repository.save_article(
        session, article_id="../../outside", language="en", title="Bad", body="Bad.",
        questions=["bad"], status="published", author="sql",
    )  # fmt: skip
    write(kb, "not-imported", article_text("not-imported"))  # no article yet: not listed
    assert file_states(session, kb) == {
        ("en", "gift-cards"): "file_changed",
        ("en", "return-policy"): "error",
        ("en", "../../outside"): "error",
    }


def test_file_states_of_an_article_whose_file_was_removed(kb, session) -> None:
    (kb / "en" / "gift-cards.md").unlink()
    assert file_states(session, kb)[("en", "gift-cards")] == "file_changed"  # to be archived
    sync(session, kb)
    assert file_states(session, kb)[("en", "gift-cards")] == "in_git"  # archived, as in git


def test_file_states_are_read_again_after_any_change(kb, session, monkeypatch) -> None:
    import bot.kb.sync as module

    reads = []
    original = module._read
    monkeypatch.setattr(module, "_read", lambda *a: reads.append(1) or original(*a))
    assert file_states(session, kb)[("en", "gift-cards")] == "in_git"
    assert file_states(session, kb)[("en", "gift-cards")] == "in_git"
    assert len(reads) == 1  # nothing changed: not read again
    path = kb / "en" / "gift-cards.md"
    path.write_text(path.read_text().replace("Valid 12 months.", "Valid 13 months."))  # same size
    assert file_states(session, kb)[("en", "gift-cards")] == "file_changed"
    sync(session, kb)
    assert file_states(session, kb)[("en", "gift-cards")] == "in_git"
    publish_in_editor(session, "return-policy", "Changed in the editor.")
    assert file_states(session, kb)[("en", "return-policy")] == "not_exported"
    assert len(reads) == 5  # and once by the sync itself
