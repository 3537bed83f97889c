"""Command line: ``python -m bot <command>``.

db upgrade            create or upgrade the database schema
kb sync               bring the database in step with data/kb/ where only the files changed;
                      report what to export and the conflicts (--prefer files|editor)
kb export             write what editors changed back to data/kb/ (only changed files)
kb import|lint        load every file into the database (replacing); check the files
kb nlu                generate the NLU training file from the published articles
orders load           load the demo orders
setup                 db upgrade, kb sync, demo orders, demo staff when there are no users
users create|list     people who sign in to the web app (agents, editors, admins)
serve                 start the action server and the Rasa server (what `make run` runs)
fingerprint           hash of the training data (names the model)
eval                  the quality benchmark against a running Rasa server
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from bot import db
from bot.settings import get_settings

if TYPE_CHECKING:
    from bot.kb.sync import SyncReport

logger = logging.getLogger("bot")


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    db.upgrade(get_settings().database_url)
    print("database schema is up to date")
    return 0


def _kb_dir(args: argparse.Namespace) -> Path:
    return Path(args.dir) if args.dir else get_settings().kb_dir


def _cmd_kb_import(args: argparse.Namespace) -> int:
    from bot.kb.sources import import_sources, load_sources

    sources, errors = load_sources(_kb_dir(args))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    with db.session_scope(db.get_engine()) as session:
        report = import_sources(session, sources, author=args.author)
    for problem in report.errors:
        print(f"error: {problem}", file=sys.stderr)
    print(f"knowledge base import: {report.summary()}")
    return 1 if errors or report.errors else 0


def _kb_sync(args: argparse.Namespace) -> SyncReport:
    from bot.errors import ArticleSourceError
    from bot.kb.sync import Change, SyncReport, sync

    try:
        with db.session_scope(db.get_engine()) as session:
            report = sync(
                session, _kb_dir(args), prefer=args.prefer, author=args.author, only=args.article
            )
    except ArticleSourceError as error:
        where = error.path or _kb_dir(args)
        report = SyncReport([Change(str(where), "error", str(error).removeprefix(f"{where}: "))])
    for line in report.lines():
        print(line)
    print(report.summary())
    return report


def _cmd_kb_sync(args: argparse.Namespace) -> int:
    """Sync data/kb and the database; 1 when a conflict or an unreadable file is left."""
    return 0 if _kb_sync(args).ok else 1


def _cmd_kb_export(args: argparse.Namespace) -> int:
    """Export the editors' changes; 1 when an article was left alone (said why)."""
    from bot.kb.sync import display_path, export

    with db.session_scope(db.get_engine()) as session:
        report = export(session, _kb_dir(args), everything=args.all)
    for path in report.written:
        print(f"wrote {display_path(path)}")
    for change in report.skipped:
        print(change.line())
    print(report.summary())
    return 1 if report.skipped else 0


def _cmd_kb_lint(args: argparse.Namespace) -> int:
    from bot.kb.lint import lint_dir

    languages = args.languages.split(",") if args.languages else None
    problems = lint_dir(_kb_dir(args), required_languages=languages)
    for problem in problems:
        print(problem)
    errors = sum(1 for p in problems if p.level == "error")
    print(f"knowledge base lint: {errors} error(s), {len(problems) - errors} warning(s)")
    return 1 if errors else 0


def _cmd_kb_nlu(args: argparse.Namespace) -> int:
    """The NLU file from the published articles in the database (what customers get, editors'
    changes included), as the editor's retraining exports it; from the files in data/kb/ when
    ``--dir`` names a folder or the database has no articles yet."""
    from bot.kb.sources import load_sources
    from bot.kb.training import GENERATED_NLU, database_sources, write_nlu

    sources = []
    if args.dir is None:
        try:
            with db.session_scope(db.get_engine()) as session:
                sources = database_sources(session)
        except Exception as problem:  # no database or schema yet: the files
            logger.debug("kb nlu: database not read (%s)", problem)
    origin = "the database"
    if not sources:
        origin = "the files"
        sources, errors = load_sources(_kb_dir(args))
        for invalid in errors:
            print(f"error: {invalid}", file=sys.stderr)
        if errors:
            return 1
    changed = write_nlu(sources)
    print(f"{GENERATED_NLU.name}: {'written' if changed else 'unchanged'} (from {origin})")
    return 0


def _cmd_orders_load(args: argparse.Namespace) -> int:
    from bot.orders.lookup import load_demo_orders

    with db.session_scope(db.get_engine()) as session:
        count = load_demo_orders(session, get_settings().orders_file)
    print(f"demo orders loaded: {count}")
    return 0


def _cmd_setup(args: argparse.Namespace) -> int:
    """Upgrade the schema; sync the articles with data/kb; load demo orders.

    What editors published is kept (the sync imports only files that changed while the database
    did not). A conflict is reported and leaves the database as it is, without stopping the
    set-up: the assistant keeps answering with what it had. A file that cannot be read fails it.
    """
    args.dir, args.author, args.prefer, args.article = None, "git", None, None
    code = _cmd_db_upgrade(args)
    report = _kb_sync(args)
    if report.count("conflict"):
        print(
            "knowledge base: the conflicting articles stay as the database has them until "
            "`python -m bot kb sync --prefer files|editor` decides"
        )
    code = code or (1 if report.count("error") else 0)
    code = code or _cmd_orders_load(args)
    if code == 0:
        from bot.users import load_demo_users

        with db.session_scope(db.get_engine()) as session:
            created, where = load_demo_users(session, get_settings().demo_users_file)
        if created:
            print(f"demo staff created: {created} (password in {where})")
    return code


def _cmd_users_create(args: argparse.Namespace) -> int:
    import getpass

    from bot.users import UserError, create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1
    try:
        with db.session_scope(db.get_engine()) as session:
            user = create_user(
                session,
                username=args.username,
                password=password,
                display_name=args.name,
                roles=args.role or ["agent"],
                teams=args.team or [],
                languages=args.language or ["en"],
                capacity=args.capacity,
            )
            print(f"created {user.username} ({', '.join(user.roles)})")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _cmd_users_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.users import User

    with db.session_scope(db.get_engine()) as session:
        for user in session.execute(select(User).order_by(User.username)).scalars():
            print(
                f"{user.username}\t{user.display_name}\t{','.join(user.roles)}\t"
                f"{','.join(user.teams)}\t{','.join(user.languages)}\t{user.presence}"
            )
    return 0


def _cmd_fingerprint(args: argparse.Namespace) -> int:
    from bot.kb.training import training_fingerprint

    print(training_fingerprint())
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import main as eval_main

    return eval_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    dbp = commands.add_parser("db", help="database schema").add_subparsers(
        dest="sub", required=True
    )
    dbp.add_parser("upgrade").set_defaults(func=_cmd_db_upgrade)

    kb = commands.add_parser("kb", help="knowledge base").add_subparsers(dest="sub", required=True)
    for name, func in (
        ("sync", _cmd_kb_sync),
        ("import", _cmd_kb_import),
        ("export", _cmd_kb_export),
        ("lint", _cmd_kb_lint),
        ("nlu", _cmd_kb_nlu),
    ):
        sub = kb.add_parser(name)
        sub.add_argument("--dir", help="articles folder (default data/kb)")
        sub.set_defaults(func=func)
        if name == "import":
            sub.add_argument("--author", default="import", help="recorded in the versions")
        if name == "sync":
            sub.add_argument(
                "--prefer",
                choices=["files", "editor"],
                help="decide conflicts: import the file, or write the editor's version to it",
            )
            sub.add_argument(
                "--article",
                action="append",
                metavar="LANGUAGE/ID",
                help="sync only this article, e.g. en/return-policy (repeatable)",
            )
            sub.add_argument("--author", default="git", help="recorded in imported versions")
        if name == "export":
            sub.add_argument(
                "--all",
                action="store_true",
                help="write every article as the database has it, also over files changed "
                "since the last sync",
            )
        if name == "lint":
            sub.add_argument("--languages", help="comma-separated languages every article needs")

    orders = commands.add_parser("orders").add_subparsers(dest="sub", required=True)
    orders.add_parser("load").set_defaults(func=_cmd_orders_load)

    users = commands.add_parser("users", help="web app users").add_subparsers(
        dest="sub", required=True
    )
    create = users.add_parser("create", help="create a user (asks for the password)")
    create.add_argument("username")
    create.add_argument("--name", help="display name shown to customers")
    create.add_argument("--role", action="append", choices=["agent", "editor", "admin"])
    create.add_argument("--team", action="append", help="a team from handoff.yml (repeatable)")
    create.add_argument("--language", action="append", help="a language served (repeatable)")
    create.add_argument("--capacity", type=int, default=3, help="chats at once")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(func=_cmd_users_create)
    users.add_parser("list").set_defaults(func=_cmd_users_list)

    commands.add_parser("setup").set_defaults(func=_cmd_setup)
    commands.add_parser("fingerprint").set_defaults(func=_cmd_fingerprint)
    commands.add_parser("serve", help="start the services (python -m bot serve -h)")

    ev = commands.add_parser("eval", help="quality benchmark over the REST channel")
    ev.add_argument("--set", default="eval/test.yml", help="question set (YAML)")
    ev.add_argument("--url", default=None, help="Rasa server (default BOT_RASA_URL)")
    ev.add_argument("--out", default="results/eval", help="report folder")
    ev.add_argument(
        "--start",
        action="store_true",
        help="start a fresh stack on a temporary database for the run",
    )
    ev.set_defaults(func=_cmd_eval)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # its options belong to bot.serve
        from bot.serve import main as serve_main

        return serve_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
