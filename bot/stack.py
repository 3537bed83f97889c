"""A running stack (Rasa server + action server) on a fresh database and free ports.

Used by the end-to-end tests and by ``python -m bot eval``: the same ``python -m bot serve`` that
``make run`` starts, spawned as a child process. Never imports Rasa.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

from bot.settings import PROJECT_ROOT

START_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """A running Rasa server + action server that tests talk to over HTTP."""

    def __init__(
        self,
        workdir: Path,
        model: Path,
        *,
        rasa_only: bool = False,
        env: Optional[Dict[str, str]] = None,
        root: Optional[Path] = None,
    ) -> None:
        """``root``: the checkout whose code runs (default: this one; a benchmark compares
        another, ``benchmarks.paired``)."""
        self.rasa_only = rasa_only
        self.root = root or PROJECT_ROOT
        self.workdir = workdir
        self.model = model
        self.database_url = f"sqlite:///{workdir / 'e2e.db'}"
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.web_port = free_port()
        self.token = "e2e-" + uuid.uuid4().hex
        # Its own models folder (the model linked into it) and training folders, and its own
        # copy of the generated NLU file the model learned: retraining from its editor changes
        # these, never the project's.
        self.models_dir = workdir / "models"
        self.trained_nlu = workdir / "kb_questions.yml"
        self.env = dict(
            os.environ,
            BOT_DATABASE_URL=self.database_url,
            BOT_RASA_TOKEN=self.token,
            BOT_KB_REFRESH_SECONDS="0.5",
            BOT_MODELS_DIR=str(self.models_dir),
            BOT_TRAINING_DIR=str(workdir / "training"),
            BOT_TRAINED_NLU=str(self.trained_nlu),
            PYTHONPATH=str(self.root),
        )
        self.env.update(env or {})
        self.process: Optional[subprocess.Popen] = None
        self.log_path = workdir / "stack.log"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.web_port}"

    def setup_database(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "bot", "setup"],
            env=self.env,
            cwd=self.root,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def served_model(self) -> Path:
        """The model, as linked into the stack's models folder."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        link = self.models_dir / self.model.name
        if not link.exists():
            link.symlink_to(self.model.resolve())
        generated = self.root / "data" / "nlu" / "kb_questions.yml"
        if not self.trained_nlu.exists() and generated.exists():
            shutil.copyfile(generated, self.trained_nlu)
        return link

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115  (open for the process's life)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--model",
                str(self.served_model()),
                "--rasa-port",
                str(self.rasa_port),
                "--action-port",
                str(self.action_port),
                "--web-port",
                str(self.web_port),
            ]
            + (["--rasa-only"] if self.rasa_only else []),
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        ready = threading.Event()

        def watch(stream) -> None:
            for line in stream:
                log.write(line)
                log.flush()
                if line.startswith("ready:"):
                    ready.set()

        threading.Thread(target=watch, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"stack did not start; see {self.log_path}:\n"
                    + self.log_path.read_text()[-3000:]
                )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def say(self, sender: str, message: Any, **extra: Any) -> List[Dict[str, Any]]:
        """Send a message over the REST channel; the bot's replies."""
        reply = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, **extra},
            timeout=60,
        )
        reply.raise_for_status()
        return reply.json()

    def tracker(self, sender: str) -> Dict[str, Any]:
        reply = requests.get(
            f"{self.url}/conversations/{sender}/tracker", params={"token": self.token}, timeout=30
        )
        reply.raise_for_status()
        return reply.json()
