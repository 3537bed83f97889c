"""The retraining API against the running web app and a real database: roles, what needs
retraining, one job at a time (409 with who and when), a job whose process died shown failed,
a running job cancelled (its process group stopped, the way free at once; a job that is over is
409), bad ids, and a real job process started in the background (here it fails at once,
honestly: no Rasa server answers, so nothing could be compared or loaded)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from bot import db
from bot.kb import sources, training
from bot.retraining import jobs
from bot.settings import PROJECT_ROOT
from bot.stack import free_port
from tests.conftest import process_group, wait_until
from tests.web.conftest import Web, serve

ARTICLES = ("gift-cards", "return-policy")
TRAINING = "/api/editor/training"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The web app (no Rasa server) with two articles, a model that learned only the first,
    an editor, an admin and an agent; its models and job folders in ``tmp_path``."""
    parsed = [sources.parse_article(PROJECT_ROOT / "data/kb/en" / f"{a}.md") for a in ARTICLES]
    with db.session_scope(db.make_engine(database_url)) as session:
        sources.import_sources(session, parsed)
    trained = tmp_path / "kb_questions.yml"
    trained.write_text(training.nlu_yaml(parsed[:1]))
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "no-rasa",
        trained_nlu=trained,
        models_dir=tmp_path / "models",
        training_dir=tmp_path / "training",
    )
    running = Web(next(gen), database_url)
    running.add_user("edita", "editor")
    running.add_user("root", "admin")
    running.add_user("ona", "agent")
    yield running
    gen.close()


def running_job(web: Web, pid: int, started_by: str = "ben") -> int:
    with db.session_scope(db.make_engine(web.database_url)) as session:
        job = jobs.start(session, started_by=started_by)
        jobs.attach(job, pid)
        return job.pk


@pytest.mark.parametrize(
    ("user", "status"), [(None, 401), ("ona", 403), ("edita", 200), ("root", 200)]
)
def test_roles(web: Web, user, status) -> None:
    http = web.client(user)
    assert http.get(f"{web.url}{TRAINING}").status_code == status
    assert http.get(f"{web.url}{TRAINING}/1").status_code in (status, 404)
    if status != 200:
        assert http.post(f"{web.url}{TRAINING}").status_code == status
        assert http.post(f"{web.url}{TRAINING}/1/cancel").status_code == status


def test_before_any_job_it_shows_what_needs_retraining(web: Web) -> None:
    found = web.client("edita").get(f"{web.url}{TRAINING}").json()
    assert found["job"] is None and found["running"] is False
    assert [a["article_id"] for a in found["needs_retraining"]] == ["return-policy"]
    assert "no more wrong answers" in found["rule"] and found["eval_set"] == "dev.yml"


def test_a_second_job_while_one_runs_is_told_who_started_it(web: Web) -> None:
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pk = running_job(web, alive.pid)
        reply = web.client("edita").post(f"{web.url}{TRAINING}")
        assert reply.status_code == 409
        assert "started by ben" in reply.json()["detail"]
        assert reply.json()["job"]["id"] == pk and reply.json()["job"]["status"] == "running"
        overview = web.client("edita").get(f"{web.url}{TRAINING}").json()
        assert overview["running"] and overview["job"]["stage"] == "queued"
        assert 0 <= overview["job"]["overall_progress"] < 5  # nothing done yet
        assert overview["job"]["remaining_seconds"] > 60  # training takes minutes
    finally:
        alive.kill()
        alive.wait()
    # Its process is gone: the job is failed, never "running" forever, and the way is free.
    shown = web.client("edita").get(f"{web.url}{TRAINING}/{pk}").json()["job"]
    assert shown["status"] == "failed" and "stopped" in shown["reason"]


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "99999999999999999999", "1%27%20OR%201=1"])
def test_bad_job_ids_are_refused(web: Web, bad: str) -> None:
    reply = web.client("edita").get(f"{web.url}{TRAINING}/{bad}")
    assert reply.status_code == 422


def test_an_unknown_job_is_404(web: Web) -> None:
    reply = web.client("edita").get(f"{web.url}{TRAINING}/12345")
    assert reply.status_code == 404 and reply.json()["detail"] == "no training job 12345"


def test_a_started_job_runs_in_its_own_process_and_says_why_it_failed(
    web: Web, tmp_path: Path
) -> None:
    http = web.client("edita")
    reply = http.post(f"{web.url}{TRAINING}")
    assert reply.status_code == 202, reply.text
    job = reply.json()["job"]
    assert (job["started_by"], job["status"], job["stage"]) == ("edita", "running", "queued")
    with db.session_scope(db.make_engine(web.database_url)) as session:
        pid = jobs.get(session, job["id"]).pid
    assert pid is not None and pid != os.getpid()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = http.get(f"{web.url}{TRAINING}/{job['id']}").json()["job"]
        if shown["status"] != "running":
            break
        time.sleep(0.5)
    assert shown["status"] == "failed", shown
    assert shown["reason"].startswith("the Rasa server is not answering")
    assert shown["stage"] == "export"
    assert (tmp_path / "training" / f"job-{job['id']}.out").exists()
    assert not (tmp_path / "models").exists()  # nothing trained, nothing kept
    again = http.post(f"{web.url}{TRAINING}")  # the failed job does not block the next
    assert again.status_code == 202


def test_the_page_is_served_and_linked_from_the_editor(web: Web) -> None:
    http = web.client()
    page = http.get(f"{web.url}/editor/training")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="/static/training.js"' in page.text and "Retrain now" in page.text
    assert 'href="/editor/training"' in http.get(f"{web.url}/editor").text
    assert 'href="/editor"' in page.text


def wait_until_over(web: Web, pk: int, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        shown = web.client("edita").get(f"{web.url}{TRAINING}/{pk}").json()["job"]
        if shown["status"] != "running" or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def test_a_running_job_is_cancelled_with_its_children_and_another_can_start(web: Web) -> None:
    with process_group() as (leader, child):
        pk = running_job(web, leader.pid)
        with db.session_scope(db.make_engine(web.database_url)) as session:
            jobs.advance(jobs.get(session, pk), "train")
        reply = web.client("edita").post(f"{web.url}{TRAINING}/{pk}/cancel")
        assert reply.status_code == 200, reply.text
        job = reply.json()["job"]
        assert (job["status"], job["reason"], job["outcome"]) == (
            "cancelled",
            "cancelled by edita",
            None,
        )
        assert leader.wait(timeout=20) == -signal.SIGTERM
        # rasa train, here a sleeper, is stopped too
        assert wait_until(lambda: not jobs.process_alive(child))
    overview = web.client("edita").get(f"{web.url}{TRAINING}").json()
    assert overview["running"] is False and overview["job"]["status"] == "cancelled"
    assert overview["job"]["overall_progress"] is None
    again = web.client("root").post(f"{web.url}{TRAINING}/{pk}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == f"training job {pk} is over (cancelled)"
    started = web.client("root").post(f"{web.url}{TRAINING}")  # the way is free at once
    assert started.status_code == 202, started.text
    assert wait_until_over(web, started.json()["job"]["id"])["status"] == "failed"


def test_a_job_that_is_loading_its_model_or_is_over_is_not_cancelled(web: Web) -> None:
    alive = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        pk = running_job(web, alive.pid)
        with db.session_scope(db.make_engine(web.database_url)) as session:
            job = jobs.get(session, pk)
            for stage in jobs.STAGES[1:]:
                jobs.advance(job, stage)
        reply = web.client("edita").post(f"{web.url}{TRAINING}/{pk}/cancel")
        assert reply.status_code == 409 and "too late to cancel" in reply.json()["detail"]
        assert alive.poll() is None  # left to finish
        with db.session_scope(db.make_engine(web.database_url)) as session:
            jobs.finish(jobs.get(session, pk), "loaded")
        reply = web.client("edita").post(f"{web.url}{TRAINING}/{pk}/cancel")
        assert reply.status_code == 409 and "is over (finished)" in reply.json()["detail"]
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.parametrize(("bad", "status"), [("12345", 404), ("0", 422), ("x%3Cscript%3E", 422)])
def test_cancelling_an_unknown_job_is_refused(web: Web, bad: str, status: int) -> None:
    reply = web.client("edita").post(f"{web.url}{TRAINING}/{bad}/cancel")
    assert reply.status_code == status
