"""The staff's HTML pages: the agent console and the editor's pages, each assembled once, at
start-up, from its template in ``templates/`` and the layouts they share (``staff.html``: head,
header, sign-in form; ``editor-page.html``: the editor's navigation). Nothing from a request or
the database goes into them: the pages sign in and fetch their data through the JSON API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGES = {
    "/agent": "agent.html",
    "/editor": "editor.html",
    "/editor/inbox": "inbox.html",
    "/editor/analytics": "analytics.html",
    "/editor/training": "training.html",
    "/editor/stories": "stories.html",
}


def render_pages(folder: Path = TEMPLATES) -> Dict[str, str]:
    """Each page's HTML by its path. Raises jinja2's ``TemplateError`` if a template is missing
    or broken, so that the web app fails at start-up, not on a page's first request."""
    environment = Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return {path: environment.get_template(name).render(path=path) for path, name in PAGES.items()}


def page_route(html: str) -> Callable[[], HTMLResponse]:
    def serve() -> HTMLResponse:
        return HTMLResponse(html)

    return serve


def add_routes(app: FastAPI) -> None:
    """Serve every staff page at its path (outside the API's description)."""
    for path, html in render_pages().items():
        app.add_api_route(path, page_route(html), include_in_schema=False)
