"""The command line, ``python -m bot``: what operators and editors run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.settings import PROJECT_ROOT, get_settings


@pytest.fixture
def cli_db(tmp_path, monkeypatch) -> str:
    from bot import db

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield url
    get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_setup_syncs_the_articles(cli_db, capsys) -> None:
    assert main(["setup"]) == 0
    shipped = len(list((PROJECT_ROOT / "data" / "kb" / "en").glob("*.md")))
    assert f"knowledge base sync: {shipped} created," in capsys.readouterr().out
    assert main(["setup"]) == 0
    assert f"0 conflict(s), 0 error(s), {shipped} unchanged" in capsys.readouterr().out


def test_a_published_change_survives_setup_and_is_exported(cli_db, tmp_path, capsys) -> None:
    """`make run` runs setup at every start: what an editor published stays."""
    import shutil

    from bot import db
    from bot.kb import editing, repository

    kb = tmp_path / "kb"
    shutil.copytree(PROJECT_ROOT / "data" / "kb", kb)
    main(["db", "upgrade"])
    assert main(["kb", "sync", "--dir", str(kb)]) == 0
    with db.session_scope(db.get_engine()) as session:
        article = repository.get_article(session, "gift-cards", "en")
        editing.publish(
            session, article_id="gift-cards", language="en", author="edita",
            base_version=article.version,
            content=editing.Content(
                title=article.title, body="Published in the editor.",
                questions=tuple(article.question_texts), tags=tuple(article.tags),
            ),
        )  # fmt: skip
    capsys.readouterr()
    for _ in range(2):  # two restarts
        assert main(["kb", "sync", "--dir", str(kb)]) == 0
        out = capsys.readouterr().out
        assert "export    en/gift-cards: changed in the editor since the last sync" in out
        assert "1 to export, 0 conflict(s)" in out
    with db.session_scope(db.get_engine()) as session:
        assert repository.get_article(session, "gift-cards", "en").body == (
            "Published in the editor."
        )
    assert main(["kb", "export", "--dir", str(kb)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {kb / 'en' / 'gift-cards.md'}" in out
    assert "knowledge base export: 1 file(s) written, 0 skipped" in out
    assert "Published in the editor." in (kb / "en" / "gift-cards.md").read_text()


def test_sync_fails_on_a_conflict_and_prefer_decides(cli_db, tmp_path, capsys) -> None:
    from bot import db
    from bot.kb import repository

    kb = tmp_path / "kb"
    folder = kb / "en"
    folder.mkdir(parents=True)
    path = folder / "fine.md"
    path.write_text(
        "---\nid: fine\nlanguage: en\ntitle: Fine\nstatus: published\nquestions: [q]\n---\nOK.\n"
    )
    main(["db", "upgrade"])
    assert main(["kb", "sync", "--dir", str(kb)]) == 0
    with db.session_scope(db.get_engine()) as session:
        repository.revise_article(session, "fine", "en", author="edita", body="Editor.")
    path.write_text(path.read_text().replace("OK.", "File."))
    capsys.readouterr()
    assert main(["kb", "sync", "--dir", str(kb)]) == 1
    out = capsys.readouterr().out
    assert "conflict  en/fine: the file and the editor both changed it" in out
    assert "0 updated, 0 archived, 0 exported, 0 to export, 1 conflict(s)" in out
    assert main(["kb", "sync", "--dir", str(kb), "--prefer", "files", "--article", "en/fine"]) == 0
    assert "updated   en/fine" in capsys.readouterr().out
    with db.session_scope(db.get_engine()) as session:
        assert repository.get_article(session, "fine", "en").body == "File."


def test_sync_of_a_wrong_folder_says_so_and_archives_nothing(cli_db, tmp_path, capsys) -> None:
    assert main(["setup"]) == 0
    capsys.readouterr()
    assert main(["kb", "sync", "--dir", str(tmp_path / "typo")]) == 1
    out = capsys.readouterr().out
    assert f"error     {tmp_path / 'typo'}: no article files here: nothing synced" in out
    assert "0 archived" in out


def test_export_writes_the_database_back(cli_db, tmp_path, capsys) -> None:
    main(["setup"])
    out = tmp_path / "kb"
    assert main(["kb", "export", "--dir", str(out), "--all"]) == 0
    exported = sorted(p.name for p in (out / "en").glob("*.md"))
    shipped = sorted(p.name for p in (PROJECT_ROOT / "data" / "kb" / "en").glob("*.md"))
    assert exported == shipped
    for name in shipped[:5]:
        assert (out / "en" / name).read_text() == (
            PROJECT_ROOT / "data" / "kb" / "en" / name
        ).read_text()


def test_lint_fails_on_errors_and_says_where(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "kb" / "en"
    folder.mkdir(parents=True)
    (folder / "empty.md").write_text(
        "---\nid: empty\nlanguage: en\ntitle: Empty\nstatus: published\nquestions: [a]\n---\n"
    )
    assert main(["kb", "lint", "--dir", str(tmp_path / "kb")]) == 1
    output = capsys.readouterr().out
    assert "empty.md" in output and "answer is empty" in output


def test_lint_passes_on_the_shipped_articles(capsys) -> None:
    assert main(["kb", "lint"]) == 0


def test_import_reports_a_broken_file_and_keeps_the_rest(cli_db, tmp_path, capsys) -> None:
    main(["db", "upgrade"])
    folder = tmp_path / "kb" / "en"
    folder.mkdir(parents=True)
    (folder / "broken.md").write_text("---\nid: [\n---\nbody")
    (folder / "fine.md").write_text(
        "---\nid: fine\nlanguage: en\ntitle: Fine\nstatus: published\nquestions: [q]\n---\nOK.\n"
    )
    assert main(["kb", "import", "--dir", str(tmp_path / "kb"), "--author", "ana"]) == 1
    captured = capsys.readouterr()
    assert "broken.md" in captured.err and "1 created" in captured.out


def test_fingerprint_is_stable(capsys) -> None:
    main(["fingerprint"])
    first = capsys.readouterr().out.strip()
    main(["fingerprint"])
    assert capsys.readouterr().out.strip() == first and len(first) == 12


def test_setup_creates_the_demo_staff_once(cli_db, monkeypatch, capsys) -> None:
    from bot import db
    from bot.users import authenticate

    monkeypatch.setenv("BOT_DEMO_PASSWORD", "demo password for tests")
    get_settings.cache_clear()
    assert main(["setup"]) == 0
    assert "demo staff created: 6 (password in BOT_DEMO_PASSWORD)" in capsys.readouterr().out
    assert main(["setup"]) == 0
    assert "demo staff" not in capsys.readouterr().out
    with db.session_scope(db.get_engine()) as session:
        agata = authenticate(session, "agata", "demo password for tests")
        assert agata is not None and agata.teams == ["support-poland"]


def test_users_create_and_list(cli_db, monkeypatch, capsys) -> None:
    import io

    main(["db", "upgrade"])
    monkeypatch.setattr("sys.stdin", io.StringIO("a very good password\n"))
    code = main(
        ["users", "create", "rasa", "--name", "Rasa K.", "--role", "agent", "--role", "editor",
         "--team", "support-baltics", "--language", "lt", "--password-stdin"]
    )  # fmt: skip
    assert code == 0 and "created rasa (agent, editor)" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "create", "other", "--password-stdin"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    assert "rasa\tRasa K.\tagent,editor\tsupport-baltics\tlt\toffline" in capsys.readouterr().out
