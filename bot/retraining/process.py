"""The training job's process, seen from the web app: started in the background in its own
session (it outlives a restart of the web app, and it leads a process group with its children),
and stopped with that group when the job is cancelled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict

from bot.serve import rasa_env
from bot.settings import PROJECT_ROOT, Settings, rasa_token

STOP_GRACE_SECONDS = 10.0  # after SIGTERM, before SIGKILL
# Settings the job's process needs as the web app has them (tests give the app their own).
PASSED_SETTINGS = (
    "database_url",
    "rasa_url",
    "models_dir",
    "training_dir",
    "trained_nlu",
    "training_config",
    "rasa_project_dir",
    "training_eval_set",
    "training_tolerance",
    "answer_threshold",
    "suggest_threshold",
)


def child_environment(settings: Settings) -> Dict[str, str]:
    """The environment of the job's process: the web app's, with the web app's settings."""
    env = rasa_env()
    for name in PASSED_SETTINGS:
        value = getattr(settings, name, None)
        if value is not None:
            env[f"BOT_{name.upper()}"] = str(value)
    env["BOT_RASA_TOKEN"] = rasa_token(settings)
    return env


def start_process(settings: Settings, pk: int) -> subprocess.Popen:
    """Start job ``pk``'s process in the background, in its own session (it outlives a restart
    of the web app), its output in the job's folder."""
    folder = settings.training_dir
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / f"job-{pk}.out", "ab")  # noqa: SIM115  (the child writes it)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.retraining.runner", str(pk)],
            cwd=PROJECT_ROOT,
            env=child_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()
    # Reap it when it ends, so that an ended job's process is not taken for a live one.
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def stop_process(pid: int, *, grace: float = STOP_GRACE_SECONDS) -> bool:
    """Stop a job's process and its children (its process group: ``start_process`` made it the
    leader of a new session): SIGTERM, then SIGKILL for what is left after ``grace`` seconds, in
    the background. Returns whether there was such a group to stop."""
    try:
        if os.getpgid(pid) != pid:  # not a group leader: the pid is another process's now
            return False
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False

    def finish() -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return

    threading.Thread(target=finish, daemon=True).start()
    return True
