"""Start the action server, the Rasa server and the web app together; stop them together.

``python -m bot serve --model models/x.tar.gz`` is what ``make run`` and the end-to-end tests use.
It waits until each service answers, prints where they are, and exits (stopping the other) when
one of them dies or on Ctrl-C. It spawns processes and never imports Rasa.

With several Rasa processes (``SANIC_WORKERS`` > 1) the web app starts first: it is their model
server (``bot.retraining.serving``), so that a retrained model reaches every one of them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests

from bot.retraining import serving
from bot.retraining.serving import latest_model
from bot.settings import PROJECT_ROOT, get_settings, rasa_token

BIN = Path(sys.executable).parent


def rasa_env() -> Dict[str, str]:
    """This environment, for a process that runs Rasa or our code: no telemetry, quiet
    TensorFlow, the project importable, and one BLAS thread.

    One BLAS thread: OpenBLAS starts a thread per core and has them spin while they wait for
    work, so each of the many small matrix products of a message (the classifiers, the sentence
    encoder, retrieval) burnt a second core for nothing. Measured under load (10 customers, REST):
    CPU per message 20.1 -> 12.1 ms in the Rasa server and 12.2 -> 5.6 ms in the action server
    (benchmarks/RESULTS.md). An operator's own setting is kept."""
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def service_env(action_port: int) -> Dict[str, str]:
    """The environment both services run with."""
    env = rasa_env()
    env["BOT_ACTION_PORT"] = str(action_port)
    return env


def action_server_command(port: int) -> List[str]:
    return [
        str(BIN / "python"),
        "-m",
        "rasa_ext.action_server",
        "--actions",
        "actions",
        "--port",
        str(port),
    ]


ENDPOINTS = PROJECT_ROOT / "endpoints.yml"


def rasa_server_command(
    model: Path, port: int, token: str, endpoints: Path = ENDPOINTS
) -> List[str]:
    return [
        str(BIN / "rasa"), "run",
        "--model", str(model),
        "--port", str(port),
        "--enable-api",
        "--auth-token", token,
        "--cors", "*",
        "--credentials", str(PROJECT_ROOT / "credentials.yml"),
        "--endpoints", str(endpoints),
    ]  # fmt: skip


def model_server_endpoints(web_port: int, token: str) -> Path:
    """A private copy of endpoints.yml that makes the web app the Rasa processes' model server
    (``bot.retraining.serving``); the caller deletes it."""
    text = serving.endpoints_with_model_server(
        ENDPOINTS.read_text(encoding="utf-8"),
        f"http://localhost:{web_port}/api/rasa/model",
        token,
    )
    handle, path = tempfile.mkstemp(prefix="amberline-endpoints-", suffix=".yml")  # mode 0600
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    return Path(path)


def web_app_command(port: int) -> List[str]:
    return [
        str(BIN / "python"), "-m", "uvicorn", "bot.web.main:app",
        "--host", "0.0.0.0", "--port", str(port),  # noqa: S104  (serves browsers, as Rasa does)
        "--no-access-log",
        # Live streams (bot/web/live.py) never end by themselves: stop them, the browsers
        # reconnect to the next process.
        "--timeout-graceful-shutdown", "3",
    ]  # fmt: skip


def wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Wait until ``url`` answers 200. Raises RuntimeError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def model_for_tests() -> Optional[Path]:
    """The model tests and benchmarks run: BOT_TEST_MODEL (as `make` sets it), else the newest."""
    named = os.environ.get("BOT_TEST_MODEL")
    return Path(named).resolve() if named else latest_model(PROJECT_ROOT / "models")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.serve")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("BOT_RASA_PORT", 5005)))
    parser.add_argument(
        "--action-port", type=int, default=int(os.environ.get("BOT_ACTION_PORT", 5055))
    )
    parser.add_argument("--web-port", type=int, default=get_settings().web_port)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--rasa-only",
        action="store_true",
        help="start only the Rasa server (the action server runs elsewhere, or not at all)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    model = args.model or latest_model(settings.models_dir)
    if model is None or not model.exists():
        print("no trained model: run `make train` first", file=sys.stderr)
        return 2
    token = rasa_token(settings)
    env = service_env(args.action_port)
    env["BOT_RASA_URL"] = f"http://localhost:{args.rasa_port}"
    processes: List[subprocess.Popen] = []
    # Several Rasa processes get their model from the web app, which must be up first.
    pulled = serving.rasa_workers() > 1 and not args.rasa_only
    endpoints = model_server_endpoints(args.web_port, token) if pulled else None

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if endpoints is not None:
            endpoints.unlink(missing_ok=True)

    def on_sigterm(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        if not args.rasa_only:
            actions = subprocess.Popen(
                action_server_command(args.action_port), env=env, cwd=PROJECT_ROOT
            )
            processes.append(actions)
            wait_until_up(f"http://localhost:{args.action_port}/health", actions, args.timeout)
        web_line = ""

        def start_web() -> None:
            web = subprocess.Popen(web_app_command(args.web_port), env=env, cwd=PROJECT_ROOT)
            processes.append(web)
            wait_until_up(f"http://localhost:{args.web_port}/health", web, args.timeout)

        if endpoints is not None:
            serving.serve(settings.models_dir, model)
            start_web()
        command = rasa_server_command(model, args.rasa_port, token, endpoints or ENDPOINTS)
        rasa = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)
        processes.append(rasa)
        wait_until_up(f"http://localhost:{args.rasa_port}/", rasa, args.timeout)
        if not args.rasa_only:
            if endpoints is None:
                start_web()
            web_line = f", web app http://localhost:{args.web_port} (agent console /agent)"
        print(
            f"ready: Rasa server http://localhost:{args.rasa_port} (model {model.name}), "
            f"action server http://localhost:{args.action_port}{web_line}; HTTP API token in "
            "var/rasa-token (or BOT_RASA_TOKEN)",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        failed = next(p for p in processes if p.poll() is not None)
        print(f"a service exited with {failed.returncode}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"start-up failed: {error}", file=sys.stderr)
        return 1
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
