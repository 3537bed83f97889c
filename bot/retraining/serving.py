"""Which model the Rasa server runs when several Rasa processes serve (``SANIC_WORKERS`` > 1).

Rasa's ``PUT /model`` swaps the model in the one process that received the request. With several
processes behind one port, each would run a different model after a retraining. Rasa's own way
for several processes is a model server (``models:`` in the endpoints): every process asks it for
the model every few seconds, sending the name of the one it runs, and loads a new one when the
answer is not "unchanged". The web app is that model server (``GET /api/rasa/model``); what it
serves is named in ``<models folder>/serving`` (``serve``), which ``bot serve`` writes at start and
a retraining writes when it approves a model. One process keeps Rasa's ``PUT /model``: it is
immediate and needs no web app.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

POINTER = "serving"
PULL_SECONDS = 3  # how often each Rasa process asks the model server


def rasa_workers() -> int:
    """How many Rasa server processes serve: Rasa's ``SANIC_WORKERS`` (1 when unset or bad)."""
    try:
        return max(1, int(os.environ.get("SANIC_WORKERS", "1")))
    except ValueError:
        return 1


def serve(models_dir: Path, model: Path) -> None:
    """Make ``model`` the one the Rasa processes run (they pull it within ``PULL_SECONDS``)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=models_dir, prefix=".serving-")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(str(model.absolute()))
    os.replace(temporary, models_dir / POINTER)


def serving(models_dir: Path) -> Optional[Path]:
    """The model file the Rasa processes should run: the one named by ``serve``, else the
    newest in ``models_dir`` (what ``make run`` starts); None when there is none."""
    try:
        named = Path((models_dir / POINTER).read_text(encoding="utf-8").strip())
    except OSError:
        named = None
    if named is not None and named.is_file():
        return named
    return latest_model(models_dir)


def latest_model(models_dir: Path) -> Optional[Path]:
    """The newest model file in ``models_dir`` (what ``make run`` starts); None when none."""
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def endpoints_with_model_server(endpoints: str, url: str, token: str) -> str:
    """``endpoints`` (the text of endpoints.yml) with the model server at ``url`` added."""
    return (
        endpoints.rstrip("\n")
        + "\n\n# Added by `bot serve` for several Rasa processes (bot/retraining/serving.py).\n"
        + "models:\n"
        + f"  url: {json.dumps(url)}\n"
        + f"  token: {json.dumps(token)}\n"
        + f"  wait_time_between_pulls: {PULL_SECONDS}\n"
    )
