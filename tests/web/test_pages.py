"""The staff's pages as assembled from their templates (bot/web/pages.py): one header and sign-in
form each, ids unique, the editor's navigation marking the page it is on."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import jinja2
import pytest

from bot.settings import SUPPORTED_LANGUAGES
from bot.web.pages import PAGES, TEMPLATES, render_pages

SIGN_IN_IDS = ["me", "me-name", "logout", "login", "login-form", "username", "password"]
EDITOR_PAGES = [path for path in PAGES if path.startswith("/editor")]


class Elements(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: List[Tuple[str, Dict[str, Optional[str]]]] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> List[Tuple[str, Dict[str, Optional[str]]]]:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.tags


@pytest.fixture(scope="module")
def pages() -> Dict[str, str]:
    return render_pages()


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_has_one_header_and_sign_in_form_and_unique_ids(pages, path) -> None:
    tags = elements(pages[path])
    ids = Counter(attrs["id"] for _, attrs in tags if attrs.get("id"))
    assert [i for i, n in ids.items() if n > 1] == []
    assert all(ids[i] == 1 for i in SIGN_IN_IDS)
    assert [tag for tag, _ in tags].count("header") >= 1
    assert pages[path].startswith("<!doctype html>") and pages[path].count("<body>") == 1
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert len(scripts) == 1 and scripts[0]["type"] == "module"
    login = next(attrs for _, attrs in tags if attrs.get("id") == "login")
    assert "hidden" not in login  # shown until the page knows who is signed in


@pytest.mark.parametrize("path", EDITOR_PAGES)
def test_the_editor_navigation_marks_the_page_it_is_on(pages, path) -> None:
    tags = elements(pages[path])
    start = next(i for i, (_, a) in enumerate(tags) if a.get("aria-label") == "Editor pages")
    following = tags[start + 1 : start + 1 + len(EDITOR_PAGES)]
    assert {tag for tag, _ in following} == {"a"}
    links = [attrs for _, attrs in following]
    assert [a["href"] for a in links] == EDITOR_PAGES
    assert [a["href"] for a in links if a.get("aria-current") == "page"] == [path]
    assert any(attrs.get("id") == "not-editor" for _, attrs in tags)
    assert re.search(r"<title>([^<]+ · )?Editor · Amberline</title>", pages[path])


def test_the_agent_console_has_presence_and_no_editor_navigation(pages) -> None:
    html = pages["/agent"]
    assert "<title>Agent console · Amberline</title>" in html
    assert 'id="presence"' in html and 'aria-label="Editor pages"' not in html
    assert 'src="/static/agent.js"' in html and "editor.css" not in html


def test_a_broken_template_fails_at_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "inbox.html").write_text('{% extends "editor-page.html" %}{% block desk %}{{ oops')
    with pytest.raises(jinja2.TemplateError):
        render_pages(folder)
    (folder / "inbox.html").unlink()
    with pytest.raises(jinja2.TemplateNotFound):
        render_pages(folder)


@pytest.mark.parametrize(
    ("path", "select", "first"),
    [
        ("/editor", "f-language", ""),
        ("/editor", "article-language", "en"),
        ("/editor/inbox", "new-language", "en"),
        ("/editor/analytics", "language", ""),
    ],
)
def test_language_choices_are_the_supported_languages(pages, path, select, first) -> None:
    tags = elements(pages[path])
    start = next(i for i, (_, attrs) in enumerate(tags) if attrs.get("id") == select)
    values = []
    for tag, attrs in tags[start + 1 :]:
        if tag != "option":
            break
        values.append(attrs["value"])
    assert values[0] == first
    assert [v for v in values if v] == list(SUPPORTED_LANGUAGES)
