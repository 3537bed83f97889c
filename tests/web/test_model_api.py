"""The web app as the model server of several Rasa processes (GET /api/rasa/model)."""

from __future__ import annotations

import requests

from bot.retraining import serving
from bot.stack import free_port
from tests.web.conftest import serve


def test_rasa_gets_the_serving_model_then_304_until_it_changes(database_url, tmp_path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    first = models / "amberline-aaaa.tar.gz"
    first.write_bytes(b"first model")
    run = serve(database_url, f"http://127.0.0.1:{free_port()}", "tok", models_dir=models)
    url = next(run) + "/api/rasa/model"
    try:
        got = requests.get(url, params={"token": "tok"}, timeout=10)
        assert got.status_code == 200 and got.content == b"first model"
        assert got.headers["ETag"] == got.headers["filename"] == "amberline-aaaa.tar.gz"
        same = requests.get(
            url, params={"token": "tok"}, headers={"If-None-Match": got.headers["ETag"]}
        )
        assert same.status_code == 304 and same.content == b""
        second = models / "amberline-bbbb.tar.gz"
        second.write_bytes(b"second model")
        serving.serve(models, second)
        new = requests.get(
            url, params={"token": "tok"}, headers={"If-None-Match": got.headers["ETag"]}
        )
        assert new.status_code == 200 and new.content == b"second model"
        assert new.headers["filename"] == "amberline-bbbb.tar.gz"
    finally:
        run.close()


def test_only_rasa_with_its_token_gets_a_model(database_url, tmp_path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    run = serve(database_url, f"http://127.0.0.1:{free_port()}", "tok", models_dir=models)
    url = next(run) + "/api/rasa/model"
    try:
        assert requests.get(url, params={"token": "tok"}).status_code == 404  # none trained yet
        (models / "amberline-aaaa.tar.gz").write_bytes(b"model")
        for token in ("", "wrong", "tok' OR '1'='1", "<script>", "t" * 201):
            assert requests.get(url, params={"token": token}).status_code in (401, 422)
        assert requests.get(url).status_code == 401
        odd = requests.get(url, params={"token": "tok"}, headers={"If-None-Match": "ä" * 10})
        assert odd.status_code == 200
    finally:
        run.close()
