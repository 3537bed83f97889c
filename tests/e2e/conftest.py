"""Fixtures for end-to-end tests against the real stack (bot/stack.py), and for the browser
tests: Debian's chromium driven by Playwright (headless); the agent console signed in as a
module's own agents (each browser test module defines an ``agents`` fixture), and any staff
page signed in through its form (``staff_page``), as users a module adds (``add_users``,
``add_editor``)."""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from bot import db
from bot.serve import model_for_tests
from bot.settings import PROJECT_ROOT, get_settings
from bot.stack import Stack
from bot.users import create_user, find_user
from tests.conftest import copy_rasa_project

PASSWORD = "a long enough password"
BROWSER_TIMEOUT = 10_000  # ms: the server pushes changes (without its stream, the console polls)
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"


@pytest.fixture(scope="session")
def model() -> Path:
    """The trained model under test."""
    found = model_for_tests()
    if found is None or not found.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    return found


def always_open_config(folder: Path) -> Path:
    """The shipped handoff.yml with every team on duty around the clock (tests do not depend on
    the time of day; whether someone can take a chat then depends only on agents online)."""
    text = (PROJECT_ROOT / "handoff.yml").read_text()
    path = folder / "handoff-always-open.yml"
    path.write_text(re.sub(r'"\d\d:\d\d-\d\d:\d\d"|closed', '"00:00-24:00"', text))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory, model: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    env = {
        "BOT_HANDOFF_CONFIG": str(always_open_config(folder)),
        # The story editor writes stories to a copy of the project, never to the repository.
        "BOT_RASA_PROJECT_DIR": str(copy_rasa_project(folder / "project")),
    }
    stack = Stack(folder, model, env=env)
    stack.setup_database()
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def sender() -> str:
    return "e2e-" + uuid.uuid4().hex[:12]


def after_the_follow_up_look() -> None:
    """Wait until the Rasa server's view of waiting follow-ups is sure to be newer than one just
    written (``FollowUpWatch``: a look at most ``follow_up_poll_seconds`` old); the next message
    then gets it."""
    time.sleep(get_settings().follow_up_poll_seconds)


def custom(messages: List[Dict[str, Any]], key: str) -> Optional[Dict[str, Any]]:
    """The first custom payload named ``key`` in the bot's replies."""
    for message in messages:
        payload = message.get("custom")
        if isinstance(payload, dict) and key in payload:
            return payload[key]
    return None


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def buttons(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for m in messages for b in m.get("buttons", [])]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "no chromium on the PATH: install Debian's (`apt-get install chromium`); CI does"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium for the whole module (Playwright's own browsers are not downloaded)."""
    from playwright.sync_api import expect, sync_playwright

    path = chromium_path()
    expect.set_options(timeout=BROWSER_TIMEOUT)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the page as a test artefact: results/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def add_users(stack: Stack, users: Dict[str, Dict[str, Any]]) -> None:
    """Users (username: ``create_user``'s other fields) in the stack's database, with
    ``PASSWORD``; those already there (the end-to-end files share one database) are kept."""
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            for username, fields in users.items():
                if find_user(session, username) is None:
                    create_user(session, username=username, password=PASSWORD, **fields)
    finally:
        engine.dispose()


def add_editor(stack: Stack, username: str, display_name: str) -> str:
    """An editor in the stack's database (see ``add_users``); returns the username."""
    add_users(stack, {username: {"display_name": display_name, "roles": ["editor"]}})
    return username


@contextlib.contextmanager
def staff(
    stack: Stack, agents: Dict[str, str], *, team: str, languages: List[str]
) -> Iterator[Dict[str, str]]:
    """Agents (username: display name) of ``team`` in the stack's database; offline after,
    whatever happened, so that nobody stays on duty for the other tests."""
    add_users(
        stack,
        {
            username: {"display_name": name, "teams": [team], "languages": languages}
            for username, name in agents.items()
        },
    )
    try:
        yield agents
    finally:
        engine = db.make_engine(stack.database_url)
        with db.session_scope(engine) as session:
            for username in agents:
                find_user(session, username).presence = "offline"
        engine.dispose()


def presence_of(stack: Stack, username: str) -> str:
    engine = db.make_engine(stack.database_url)
    try:
        with db.session_scope(engine) as session:
            return find_user(session, username).presence
    finally:
        engine.dispose()


def watch_problems(page: Any) -> List[str]:
    """A list that collects every dialog (dismissed) and uncaught error of the page."""
    problems: List[str] = []

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog opened: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems


def open_page(
    browser: Any, stack: Stack, path: str, **context_options: Any
) -> Tuple[Any, Any, List[str]]:
    """A fresh browser context on one of the web app's pages (``path``, e.g. "/editor"); the
    list collects any dialog or uncaught error. ``context_options`` go to Playwright's
    ``new_context`` (a 1400x1000 viewport unless given)."""
    context = browser.new_context(
        **{"viewport": {"width": 1400, "height": 1000}, **context_options}
    )
    page = context.new_page()
    problems = watch_problems(page)
    page.goto(f"{stack.web_url}{path}")
    return context, page, problems


def open_console(browser: Any, stack: Stack) -> Tuple[Any, Any, List[str]]:
    """A fresh browser context on /agent; the list collects any dialog or uncaught error."""
    return open_page(browser, stack, "/agent", viewport={"width": 1280, "height": 900})


def submit_sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Fill in and send a staff page's sign-in form (the same on every staff page)."""
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """On the agent console, through the sign-in form; returns once the console has reported
    the agent online."""
    from playwright.sync_api import expect

    with page.expect_response(lambda r: r.url.endswith("/api/presence") and r.ok):
        submit_sign_in(page, username, password)
    expect(page.locator("#desk")).to_be_visible()


def sign_out(page: Any) -> None:
    from playwright.sync_api import expect

    with page.expect_response(lambda r: r.url.endswith("/api/session")):
        page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()


@pytest.fixture
def console(
    browser: Any, stack: Stack, agents: Dict[str, str]
) -> Iterator[Callable[[str], Tuple[Any, List[str]]]]:
    """Open the console signed in as one of the module's ``agents``; each is signed out
    (offline) after the test through the page's Sign out button, and no dialog or page error
    may have occurred."""
    opened: List[Tuple[str, Any, Any, List[str]]] = []

    def open_as(username: str) -> Tuple[Any, List[str]]:
        context, page, problems = open_console(browser, stack)
        opened.append((username, context, page, problems))
        sign_in(page, username)
        return page, problems

    yield open_as
    for username, context, page, problems in opened:
        if page.locator("#logout").is_visible():
            sign_out(page)
        context.close()
        assert presence_of(stack, username) == "offline"
        assert problems == []


@pytest.fixture
def staff_page(browser: Any, stack: Stack) -> Iterator[Callable[..., Tuple[Any, List[str]]]]:
    """Open a staff page (``path``, e.g. "/editor/stories") in a fresh browser context, signed in
    through its form as ``username``; returns (page, problems) once the page shows the signed-in
    user. Other keywords go to ``open_page``. Each context is closed after the test, and no
    dialog or page error may have occurred in it."""
    from playwright.sync_api import expect

    opened: List[Tuple[Any, List[str]]] = []

    def open_as(
        path: str, username: str, password: str = PASSWORD, **context_options: Any
    ) -> Tuple[Any, List[str]]:
        context, page, problems = open_page(browser, stack, path, **context_options)
        opened.append((context, problems))
        submit_sign_in(page, username, password)
        expect(page.locator("#login")).to_be_hidden()
        expect(page.locator("#me")).to_be_visible()
        return page, problems

    yield open_as
    for context, problems in opened:
        context.close()
        assert problems == []
