"""A training job's state machine, kept in the database so that a page reload or a restarted web
app shows the same job.

A job goes through ``STAGES`` in order (``queued`` → ``export`` → ``train`` → ``evaluate`` →
``compare`` → ``load``, ``load`` only for a candidate that is not worse) and ends ``finished``
with ``outcome`` ``loaded`` or ``kept``, or ``failed`` with a reason, from any stage, or
``cancelled`` by an editor before stage ``load``. One job runs at a time (``start`` raises
``JobRunning``). A running job whose process is gone (no heartbeat for ``STALE_AFTER``, or its
process is no longer alive on this machine) is marked failed when anybody looks at it
(``settle``). Whoever changes a job while another process may change it too (the runner, a
cancel) reads it with ``lock``: a cancel and a change of stage cannot cross.

``estimate`` tells how far the whole job is and how long it still takes, with each stage weighed
by how long it took the last job that trained and evaluated (``timed_job``), or by
``DEFAULT_STAGE_SECONDS`` before there is one.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any, Dict, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import BotError
from bot.retraining.models import TrainingJob
from bot.timeutil import utcnow

STAGES = ("queued", "export", "train", "evaluate", "compare", "load")
OUTCOMES = ("loaded", "kept")
STALE_AFTER = dt.timedelta(seconds=90)  # the runner beats every few seconds
HEARTBEAT_SECONDS = 5.0
LOG_TAIL_CHARS = 4000
MAX_DETAIL = 500
# Seconds each stage takes with the shipped pipeline on two shared cores (measured: train 20-45,
# evaluate 30-60 with both models parsing), until a job here measured them.
DEFAULT_STAGE_SECONDS = {
    "queued": 1.0,
    "export": 2.0,
    "train": 45.0,
    "evaluate": 60.0,
    "compare": 1.0,
    "load": 5.0,
}


class JobError(BotError):
    """A training job cannot do what was asked (a transition its state does not allow)."""


class JobOver(JobError):
    """The job has ended: it cannot change any more."""


class JobRunning(JobError):
    """Another training job runs; ``job`` is it."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = as_dict(job)  # as it was: the session is gone when the error is shown
        super().__init__(
            f"a retraining started by {job.started_by} at {job.started_at.isoformat()} is "
            "still running: wait for it to finish"
        )


def start(session: Session, *, started_by: str) -> TrainingJob:
    """A new job in stage ``queued``. Raises JobRunning when one runs (also when two start at
    the same moment: the database's unique ``running`` decides)."""
    current = running_job(session)
    if current is not None:
        raise JobRunning(current)
    job = TrainingJob(started_by=started_by, host=socket.gethostname(), log_tail="")
    session.add(job)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        current = running_job(session)
        if current is None:  # it ended meanwhile: an honest retry is the caller's
            raise
        raise JobRunning(current) from None
    return job


def lock(session: Session, pk: int) -> Optional[TrainingJob]:
    """Job ``pk`` as the database has it now, held until the session ends (a write takes the
    lock: the database's on SQLite, the row's on PostgreSQL), so that another process's change
    waits for this one; None when there is no such job."""
    session.execute(
        update(TrainingJob)
        .where(TrainingJob.pk == pk)
        .values(heartbeat_at=TrainingJob.heartbeat_at)
        .execution_options(synchronize_session=False)
    )
    return session.get(TrainingJob, pk, populate_existing=True)


def running_job(session: Session) -> Optional[TrainingJob]:
    """The job that runs now, after marking a dead one failed."""
    job = session.execute(select(TrainingJob).where(TrainingJob.running.is_(True))).scalar()
    if job is not None and settle(job):
        return None
    return job


def latest(session: Session) -> Optional[TrainingJob]:
    """The newest job (settled)."""
    job = session.execute(select(TrainingJob).order_by(TrainingJob.pk.desc()).limit(1)).scalar()
    if job is not None:
        settle(job)
    return job


def get(session: Session, pk: int) -> Optional[TrainingJob]:
    job = session.get(TrainingJob, pk)
    if job is not None:
        settle(job)
    return job


def attach(job: TrainingJob, pid: int) -> None:
    """The process that runs the job (on this machine)."""
    job.pid = pid
    job.host = socket.gethostname()
    beat(job)


def beat(job: TrainingJob) -> None:
    job.heartbeat_at = utcnow()


def advance(job: TrainingJob, stage: str, *, detail: Optional[str] = None) -> None:
    """Move the running job to a later ``stage``. Raises JobError for an earlier or unknown
    stage, or a job that is over."""
    _must_run(job)
    if stage not in STAGES or STAGES.index(stage) <= STAGES.index(job.stage):
        raise JobError(f"a job in stage {job.stage} cannot go to {stage!r}")
    _time_stage(job)
    job.stage = stage
    job.stage_started_at = utcnow()
    job.progress = None
    job.detail = _short(detail)
    beat(job)


def report(
    job: TrainingJob,
    *,
    progress: Optional[float] = None,
    detail: Optional[str] = None,
    log: Optional[str] = None,
) -> None:
    """Progress within the stage (0-100, when known), what happens now, the log's tail."""
    _must_run(job)
    if progress is not None:
        job.progress = max(0.0, min(100.0, float(progress)))
    if detail is not None:
        job.detail = _short(detail)
    if log is not None:
        job.log_tail = log[-LOG_TAIL_CHARS:]
    beat(job)


def finish(job: TrainingJob, outcome: str, *, reason: Optional[str] = None) -> None:
    """End the job: ``loaded`` (only from stage ``load``) or ``kept`` (from ``compare`` or
    ``load``: the candidate was worse, or the same model). Raises JobError otherwise."""
    _must_run(job)
    if outcome not in OUTCOMES:
        raise JobError(f"unknown outcome {outcome!r}")
    allowed = ("load",) if outcome == "loaded" else ("compare", "load")
    if job.stage not in allowed:
        raise JobError(f"a job in stage {job.stage} cannot end {outcome}")
    _end(job, "finished", reason)
    job.outcome = outcome


def fail(job: TrainingJob, reason: str) -> None:
    """End the job as failed, from any stage. Raises JobError for a job that is over."""
    _must_run(job)
    _end(job, "failed", reason)


def cancel(job: TrainingJob, *, by: str) -> None:
    """End a running job as ``cancelled`` by ``by``: nothing it made is loaded. Raises JobOver
    for a job that is over, JobError in stage ``load`` (the Rasa server may be loading the new
    model already: the job ends by itself in seconds)."""
    _must_run(job)
    if job.stage == "load":
        raise JobError("the new model is being loaded into the assistant: it is too late to cancel")
    _end(job, "cancelled", f"cancelled by {by}")


def settle(job: TrainingJob, *, now: Optional[dt.datetime] = None) -> bool:
    """Mark a running job whose process is gone as failed; returns whether it did."""
    if job.status != "running":
        return False
    now = now or utcnow()
    gone = now - job.heartbeat_at > STALE_AFTER
    if not gone and job.pid is not None and job.host == socket.gethostname():
        gone = not process_alive(job.pid)
    if gone:
        _end(job, "failed", f"the training process stopped during stage {job.stage}")
    return gone


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` runs here (a zombie, exited but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill


def elapsed_seconds(job: TrainingJob, *, now: Optional[dt.datetime] = None) -> float:
    end = job.finished_at or now or utcnow()
    return max(0.0, (end - job.started_at).total_seconds())


def timed_job(session: Session) -> Optional[TrainingJob]:
    """The newest finished job that trained and evaluated (one that found its model made
    already says nothing about training): its stage times are the typical ones."""
    recent = session.execute(
        select(TrainingJob)
        .where(TrainingJob.status == "finished")
        .order_by(TrainingJob.pk.desc())
        .limit(20)
    ).scalars()
    for job in recent:
        times = job.stage_times or {}
        if "evaluate" in times and float(times.get("train", 0)) > 1:
            return job
    return None


def typical_stage_seconds(timed: Optional[TrainingJob]) -> Dict[str, float]:
    """How long each stage takes: as long as it took ``timed`` (``timed_job``), the defaults
    for the stages it did not go through, or without one."""
    times = (timed.stage_times if timed is not None else None) or {}
    measured = {s: float(times[s]) for s in STAGES if isinstance(times.get(s), (int, float))}
    return {**DEFAULT_STAGE_SECONDS, **measured}


def estimate(
    job: TrainingJob,
    typical: Optional[Dict[str, float]] = None,
    *,
    now: Optional[dt.datetime] = None,
) -> Dict[str, Optional[float]]:
    """How far the whole job is (0-100) and the seconds it still takes, both None for a job
    that failed or was cancelled. Each stage weighs as long as it typically takes; within the
    running stage, its own progress or its time so far, whichever is further (at most 90% of
    the stage by time: a slow stage is not shown done)."""
    if job.status == "finished":
        return {"overall_progress": 100.0, "remaining_seconds": 0.0}
    if job.status != "running":
        return {"overall_progress": None, "remaining_seconds": None}
    typical = {**DEFAULT_STAGE_SECONDS, **(typical or {})}
    weights = [max(typical[stage], 0.5) for stage in STAGES]
    at = STAGES.index(job.stage) if job.stage in STAGES else 0
    in_stage = max(0.0, ((now or utcnow()) - job.stage_started_at).total_seconds())
    fraction = min(in_stage / weights[at], 0.9)
    if job.progress is not None:
        fraction = max(fraction, min(job.progress / 100.0, 1.0))
    done = sum(weights[:at]) + weights[at] * fraction
    remaining = weights[at] * (1.0 - fraction) + sum(weights[at + 1 :])
    return {
        "overall_progress": round(min(99.0, 100.0 * done / sum(weights)), 1),
        "remaining_seconds": round(remaining, 1),
    }


def as_dict(job: TrainingJob, timed: Optional[TrainingJob] = None) -> Dict[str, Any]:
    """The job as the API shows it, with ``estimate``'s numbers by the stage times of
    ``timed`` (``timed_job``; ``estimated_from`` is its id), by the defaults without."""
    now = utcnow()
    return {
        "id": job.pk,
        "started_by": job.started_by,
        "started_at": job.started_at.isoformat(),
        "status": job.status,
        "stage": job.stage,
        "stage_seconds": round(
            max(0.0, ((job.finished_at or now) - job.stage_started_at).total_seconds()), 1
        ),
        "elapsed_seconds": round(elapsed_seconds(job, now=now), 1),
        "progress": job.progress,
        "detail": job.detail,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "outcome": job.outcome,
        "reason": job.reason,
        "current_model": _name(job.current_model),
        "candidate_model": _name(job.candidate_model),
        "metrics": job.metrics,
        "stage_times": job.stage_times or {},
        "log_tail": job.log_tail,
        **estimate(job, typical_stage_seconds(timed), now=now),
        "estimated_from": timed.pk if timed is not None and job.status == "running" else None,
    }


def _name(path: Optional[str]) -> Optional[str]:
    return os.path.basename(path) if path else None


def _must_run(job: TrainingJob) -> None:
    if job.status != "running":
        raise JobOver(f"training job {job.pk} is over ({job.status})")


def _time_stage(job: TrainingJob) -> None:
    """Record how long the stage that ends took (a new dict: the column sees the change)."""
    seconds = (utcnow() - job.stage_started_at).total_seconds()
    job.stage_times = {**(job.stage_times or {}), job.stage: round(max(0.0, seconds), 1)}


def _end(job: TrainingJob, status: str, reason: Optional[str]) -> None:
    _time_stage(job)
    job.status = status
    job.running = None
    job.reason = reason
    job.finished_at = utcnow()
    job.heartbeat_at = job.finished_at


def _short(text: Optional[str]) -> Optional[str]:
    if text is None:
        return None
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
