"""The web app as uvicorn runs it: ``uvicorn bot.web.main:app`` (``python -m bot serve`` does)."""

from bot.web.app import create_app

app = create_app()
