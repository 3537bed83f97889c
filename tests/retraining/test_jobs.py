"""The training job's state machine on a real database: one job at a time, stages only forward,
the two ways to end, and a job whose process is gone marked failed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
from sqlalchemy.orm import Session

from bot import db
from bot.retraining import jobs
from bot.retraining.models import TrainingJob
from bot.timeutil import utcnow


def test_a_job_goes_through_its_stages_and_is_loaded(session: Session) -> None:
    job = jobs.start(session, started_by="edita")
    assert (job.status, job.stage, job.running) == ("running", "queued", True)
    for stage in ("export", "train", "evaluate", "compare", "load"):
        jobs.advance(job, stage, detail=f"in {stage}")
        assert job.stage == stage and job.detail == f"in {stage}" and job.progress is None
    jobs.finish(job, "loaded")
    assert (job.status, job.outcome, job.running) == ("finished", "loaded", None)
    assert list(job.stage_times) == list(jobs.STAGES)  # each stage's seconds, as it ended
    assert all(seconds >= 0 for seconds in job.stage_times.values())
    assert job.finished_at is not None
    assert jobs.as_dict(job)["outcome"] == "loaded"


def test_a_second_job_is_refused_while_one_runs(session: Session) -> None:
    first = jobs.start(session, started_by="edita")
    session.flush()
    with pytest.raises(jobs.JobRunning) as refused:
        jobs.start(session, started_by="ben")
    assert refused.value.job["id"] == first.pk and "started by edita" in str(refused.value)
    jobs.advance(first, "export")
    jobs.fail(first, "stopped")
    second = jobs.start(session, started_by="ben")
    assert second.pk != first.pk and second.running


def test_the_database_refuses_two_running_jobs_whatever_the_race(engine) -> None:
    """Two processes that both saw no running job: the unique ``running`` column decides."""
    with db.session_scope(engine) as one:
        one.add(TrainingJob(started_by="a", log_tail=""))
    with pytest.raises(Exception, match="UNIQUE"), db.session_scope(engine) as two:
        two.add(TrainingJob(started_by="b", log_tail=""))


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (["train"], "export"),  # backwards
        (["export"], "export"),  # the same again
        ([], "nonsense"),
        (["export", "train"], "queued"),
    ],
)
def test_stages_only_go_forward(session: Session, path, bad) -> None:
    job = jobs.start(session, started_by="edita")
    for stage in path:
        jobs.advance(job, stage)
    with pytest.raises(jobs.JobError):
        jobs.advance(job, bad)


@pytest.mark.parametrize(
    ("stage", "outcome", "allowed"),
    [
        ("load", "loaded", True),
        ("compare", "kept", True),
        ("load", "kept", True),
        ("compare", "loaded", False),  # loaded only after the load
        ("train", "kept", False),  # kept only after a comparison
        ("load", "maybe", False),
    ],
)
def test_how_a_job_may_end(session: Session, stage, outcome, allowed) -> None:
    job = jobs.start(session, started_by="edita")
    for step in jobs.STAGES[1 : jobs.STAGES.index(stage) + 1]:
        jobs.advance(job, step)
    if allowed:
        jobs.finish(job, outcome)
        assert job.outcome == outcome
    else:
        with pytest.raises(jobs.JobError):
            jobs.finish(job, outcome)
        assert job.status == "running"


def test_an_ended_job_stays_ended(session: Session) -> None:
    job = jobs.start(session, started_by="edita")
    jobs.fail(job, "the Rasa server is not answering")
    for change in (
        lambda: jobs.advance(job, "export"),
        lambda: jobs.fail(job, "again"),
        lambda: jobs.report(job, progress=5),
        lambda: jobs.finish(job, "kept"),
    ):
        with pytest.raises(jobs.JobError):
            change()
    assert (job.status, job.reason) == ("failed", "the Rasa server is not answering")


def test_progress_is_kept_within_bounds_and_the_log_short(session: Session) -> None:
    job = jobs.start(session, started_by="edita")
    jobs.advance(job, "export")
    jobs.report(job, progress=140, detail="x" * 2000, log="line\n" * 5000)
    assert job.progress == 100.0
    assert len(job.detail) == jobs.MAX_DETAIL
    assert len(job.log_tail) == jobs.LOG_TAIL_CHARS


def test_a_job_without_heartbeat_is_failed_when_looked_at(session: Session) -> None:
    job = jobs.start(session, started_by="edita")
    jobs.advance(job, "train")
    job.heartbeat_at = utcnow() - jobs.STALE_AFTER - dt.timedelta(seconds=1)
    session.flush()
    assert jobs.latest(session).status == "failed"
    assert "stopped during stage train" in job.reason
    assert jobs.running_job(session) is None
    jobs.start(session, started_by="ben")  # the way is free again


def test_a_job_whose_process_exited_is_failed_at_once(session: Session) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    job = jobs.start(session, started_by="edita")
    jobs.attach(job, ended.pid)
    assert jobs.settle(job) and job.status == "failed"


def test_a_job_whose_process_lives_keeps_running(session: Session) -> None:
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        job = jobs.start(session, started_by="edita")
        jobs.attach(job, alive.pid)
        assert not jobs.settle(job) and job.status == "running"
    finally:
        alive.kill()
        alive.wait()
    assert jobs.settle(job) and job.status == "failed"


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while jobs.process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not jobs.process_alive(child.pid)  # exited, not yet reaped
    child.wait()
