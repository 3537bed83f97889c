"""The training job's state machine on a real database: one job at a time, stages only forward,
the two ways to end, a cancel by an editor, a job whose process is gone marked failed, and the
estimate of how far a job is and how long it still takes."""

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


@pytest.mark.parametrize("stage", ["queued", "export", "train", "evaluate", "compare"])
def test_a_running_job_is_cancelled_by_an_editor_and_the_way_is_free(
    session: Session, stage: str
) -> None:
    job = jobs.start(session, started_by="edita")
    for step in jobs.STAGES[1 : jobs.STAGES.index(stage) + 1]:
        jobs.advance(job, step)
    jobs.cancel(job, by="ben")
    assert (job.status, job.reason, job.outcome, job.running) == (
        "cancelled",
        "cancelled by ben",
        None,
        None,
    )
    assert stage in job.stage_times and job.finished_at is not None
    assert jobs.estimate(job) == {"overall_progress": None, "remaining_seconds": None}
    with pytest.raises(jobs.JobOver):  # the runner can change nothing any more
        jobs.advance(job, "load")
    session.flush()
    assert jobs.running_job(session) is None
    jobs.start(session, started_by="ben")


def test_an_ended_job_or_one_loading_its_model_is_not_cancelled(session: Session) -> None:
    job = jobs.start(session, started_by="edita")
    for step in jobs.STAGES[1:]:
        jobs.advance(job, step)
    with pytest.raises(jobs.JobError, match="too late to cancel"):
        jobs.cancel(job, by="ben")
    assert job.status == "running"
    jobs.finish(job, "loaded")
    with pytest.raises(jobs.JobOver, match="is over"):
        jobs.cancel(job, by="ben")
    assert (job.status, job.outcome) == ("finished", "loaded")


def test_lock_reads_the_job_as_the_database_has_it(engine) -> None:
    with db.session_scope(engine) as one:
        pk = jobs.start(one, started_by="edita").pk
    with db.session_scope(engine) as reader:
        stale = reader.get(TrainingJob, pk)  # in this session's identity map
        with db.session_scope(engine) as other:
            jobs.cancel(jobs.lock(other, pk), by="ben")
        assert stale.status == "running"
        assert jobs.lock(reader, pk).status == "cancelled"
    with db.session_scope(engine) as session:
        assert jobs.lock(session, pk + 1) is None


def finished_job(session: Session, stage_times: dict) -> TrainingJob:
    job = jobs.start(session, started_by="edita")
    jobs.advance(job, "compare")
    jobs.finish(job, "kept")
    job.stage_times = stage_times
    session.flush()
    return job


def test_typical_stage_seconds_come_from_the_newest_job_that_trained_and_evaluated(
    session: Session,
) -> None:
    assert jobs.timed_job(session) is None
    assert jobs.typical_stage_seconds(None) == jobs.DEFAULT_STAGE_SECONDS
    timed = finished_job(
        session, {"queued": 0.1, "export": 2, "train": 40, "evaluate": 20, "compare": 0}
    )
    finished_job(session, {"queued": 0.1, "export": 2, "train": 0.2, "evaluate": 20})  # cached
    finished_job(session, {"queued": 0.1, "export": 2, "train": 30, "compare": 0})  # same model
    failed = jobs.start(session, started_by="ben")
    jobs.fail(failed, "stopped")
    failed.stage_times = {"train": 999, "evaluate": 999}  # only finished jobs count
    session.flush()
    assert jobs.timed_job(session) is timed
    assert jobs.typical_stage_seconds(timed) == {
        **jobs.DEFAULT_STAGE_SECONDS, "queued": 0.1, "export": 2.0, "train": 40.0,
        "evaluate": 20.0, "compare": 0.0,
    }  # fmt: skip
    running = jobs.start(session, started_by="ben")
    assert jobs.as_dict(running, timed)["estimated_from"] == timed.pk
    assert jobs.as_dict(running)["estimated_from"] is None  # the defaults


TYPICAL = {
    "queued": 1.0,
    "export": 4.0,
    "train": 60.0,
    "evaluate": 30.0,
    "compare": 1.0,
    "load": 4.0,
}


def at_stage(session: Session, stage: str, *, seconds: float, progress=None) -> TrainingJob:
    job = jobs.start(session, started_by="edita")
    for step in jobs.STAGES[1 : jobs.STAGES.index(stage) + 1]:
        jobs.advance(job, step)
    job.stage_started_at = utcnow() - dt.timedelta(seconds=seconds)
    job.progress = progress
    return job


@pytest.mark.parametrize(
    ("stage", "seconds", "progress", "overall", "remaining"),
    [
        ("queued", 0, None, 0.0, 100.0),
        ("train", 0, None, 5.0, 95.0),  # queued and export are done: 5 of 100 s
        ("train", 30, None, 35.0, 65.0),  # half the typical time, nothing more known
        ("train", 15, 50.0, 35.0, 65.0),  # Rasa's progress is further than the time
        ("train", 600, None, 59.0, 41.0),  # slow: at most 90% of the stage by time
        ("train", 600, 100.0, 65.0, 35.0),
        ("evaluate", 15, None, 80.0, 20.0),
        ("load", 0, None, 96.0, 4.0),
        ("load", 10, 100.0, 99.0, 0.0),  # never 100 before it ends
    ],
)
def test_the_estimate_weighs_the_stages_by_their_typical_time(
    session: Session, stage, seconds, progress, overall, remaining
) -> None:
    job = at_stage(session, stage, seconds=seconds, progress=progress)
    found = jobs.estimate(job, TYPICAL)
    assert found["overall_progress"] == pytest.approx(overall, abs=0.2)
    assert found["remaining_seconds"] == pytest.approx(remaining, abs=0.2)


def test_the_estimate_of_an_ended_job_and_in_the_api_view(session: Session) -> None:
    timed = finished_job(session, TYPICAL)
    job = at_stage(session, "train", seconds=30)
    shown = jobs.as_dict(job, timed)
    assert shown["overall_progress"] == pytest.approx(35.0, abs=0.2)
    assert shown["remaining_seconds"] == pytest.approx(65.0, abs=0.2)
    assert jobs.as_dict(job)["remaining_seconds"] > 60  # the defaults: evaluating takes a minute
    jobs.advance(job, "compare")
    jobs.finish(job, "kept")
    assert jobs.estimate(job, TYPICAL) == {"overall_progress": 100.0, "remaining_seconds": 0.0}
