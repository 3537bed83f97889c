"""Which model several Rasa processes run, and the endpoints that make them ask the web app."""

from __future__ import annotations

import os
import time

import yaml

from bot.retraining import serving


def test_the_served_model_is_the_named_one_else_the_newest(tmp_path) -> None:
    models = tmp_path / "models"
    assert serving.serving(models) is None  # no folder, no model
    models.mkdir()
    old, new = models / "amberline-old.tar.gz", models / "amberline-new.tar.gz"
    old.write_bytes(b"old")
    new.write_bytes(b"new")
    os.utime(old, (time.time() - 60, time.time() - 60))
    assert serving.serving(models) == new  # as `make run` picks
    serving.serve(models, old)
    assert serving.serving(models) == old.absolute()
    assert [p.name for p in models.iterdir() if p.name.startswith(".serving")] == []
    old.unlink()  # the named model is gone: the newest again
    assert serving.serving(models) == new


def test_several_processes_are_told_of_the_model_server_in_yaml(monkeypatch) -> None:
    text = serving.endpoints_with_model_server(
        "action_endpoint:\n  url: http://localhost:5055/webhook\n",
        "http://localhost:8000/api/rasa/model",
        'odd: token # with "quotes"',
    )
    read = yaml.safe_load(text)
    assert read["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert read["models"] == {
        "url": "http://localhost:8000/api/rasa/model",
        "token": 'odd: token # with "quotes"',
        "wait_time_between_pulls": serving.PULL_SECONDS,
    }
    for value, workers in (("2", 2), ("1", 1), ("0", 1), ("many", 1), ("", 1)):
        monkeypatch.setenv("SANIC_WORKERS", value)
        assert serving.rasa_workers() == workers
    monkeypatch.delenv("SANIC_WORKERS")
    assert serving.rasa_workers() == 1


def test_a_model_counts_as_loaded_only_when_every_process_answers_with_it() -> None:
    """/status answered by two processes in turn, one of them still on the old model."""
    import itertools
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot.handoff.rasa_api import RasaClient
    from bot.retraining.runner import every_process_runs

    processes = {"models": itertools.cycle(["amberline-new.tar.gz", "amberline-old.tar.gz"])}

    class Status(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"model_file": f"/tmp/x/{next(processes['models'])}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rasa = RasaClient(f"http://127.0.0.1:{server.server_port}", "tok")
    try:
        assert not every_process_runs(rasa, "amberline-new.tar.gz", 2, timeout=2)
        processes["models"] = itertools.cycle(["amberline-new.tar.gz"])  # the other caught up
        assert every_process_runs(rasa, "amberline-new.tar.gz", 2, timeout=10)
    finally:
        server.shutdown()
