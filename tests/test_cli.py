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


def test_setup_imports_into_an_empty_database_only(cli_db, capsys) -> None:
    assert main(["setup"]) == 0
    shipped = len(list((PROJECT_ROOT / "data" / "kb" / "en").glob("*.md")))
    assert f"{shipped} created" in capsys.readouterr().out
    assert main(["setup"]) == 0
    assert "not imported" in capsys.readouterr().out


def test_export_writes_the_database_back(cli_db, tmp_path, capsys) -> None:
    main(["setup"])
    out = tmp_path / "kb"
    assert main(["kb", "export", "--dir", str(out)]) == 0
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
