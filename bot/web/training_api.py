"""Retraining from the editor (``/api/editor/training``), for the editor and admin roles.

``POST`` starts a training job in the background (``bot.retraining.runner``, low priority): one
at a time, a second is answered 409 with who started the running one and when. ``GET`` shows the
newest job (stage, progress, log tail, outcome, the comparison) and the articles the running
model has not learned; the page polls it. The job lives in the database, so a reload or a
restarted web app shows it; a job whose process died is shown failed. ``POST .../{id}/cancel``
ends a running job as cancelled by the editor and stops its process group (the runner and its
``rasa train``); a job that is over, or that is loading its model already, is answered 409.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Dict, List

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bot.kb import editing, repository, training
from bot.retraining import comparing, jobs, process
from bot.users import User
from bot.web.auth import get_session, requires

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/editor/training", tags=["editor"])
editor_only = requires("editor")


def running(request: Request, error: jobs.JobRunning) -> JSONResponse:
    return JSONResponse({"detail": str(error), "job": error.job}, status_code=409)


def refused(request: Request, error: jobs.JobError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=409)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(jobs.JobRunning, running)  # type: ignore[arg-type]
    app.add_exception_handler(jobs.JobError, refused)  # type: ignore[arg-type]


def unlearned(request: Request, session: Session) -> List[Dict[str, Any]]:
    """The published articles the running model has not learned as they are now."""
    learned = training.trained_examples(request.app.state.trained_nlu)
    marked = []
    for article in repository.list_articles(session):
        live = editing.is_live(article)
        content = (article.title, article.question_texts) if live else None
        if training.needs_retraining(article.article_id, article.language, content, learned):
            marked.append(
                {
                    "article_id": article.article_id,
                    "language": article.language,
                    "title": article.title,
                }
            )
    return marked


@router.get("")
def overview(
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """The newest job (null before the first), whether one runs, the comparison rule, and the
    articles that need retraining."""
    job = jobs.latest(session)
    settings = request.app.state.settings
    return {
        "job": jobs.as_dict(job, jobs.timed_job(session)) if job is not None else None,
        "running": job is not None and job.status == "running",
        "needs_retraining": unlearned(request, session),
        "rule": comparing.rule_text(settings.training_tolerance),
        "eval_set": settings.training_eval_set.name,
    }


@router.post("", status_code=202)
def start(
    request: Request,
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Start retraining in the background: export the published articles, train, evaluate the
    new and the current model on the evaluation set, load the new one only if it is not worse.
    409 while another job runs."""
    job = jobs.start(session, started_by=me.username)
    session.commit()  # the process reads its row
    app = request.app
    settings = app.state.settings.copy(update={"trained_nlu": app.state.trained_nlu})
    try:
        started = process.start_process(settings, job.pk)
    except OSError as error:
        jobs.fail(job, f"the training process could not start: {error}")
        session.commit()
        raise HTTPException(
            status_code=503, detail="the training process could not start"
        ) from error
    jobs.attach(job, started.pid)
    logger.info("training job %s started by %s (pid %s)", job.pk, me.username, started.pid)
    return {"job": jobs.as_dict(job, jobs.timed_job(session))}


@router.get("/{job_id}")
def get_job(
    job_id: int = Path(..., ge=1, le=2**31 - 1),
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """One job: stage, progress, log tail, outcome, models, measures and the comparison."""
    job = jobs.get(session, job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no training job {job_id}")
    return {"job": jobs.as_dict(job, jobs.timed_job(session))}


@router.post("/{job_id}/cancel")
def cancel(
    job_id: int = Path(..., ge=1, le=2**31 - 1),
    me: User = Depends(editor_only),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    """Cancel a running job: it ends ``cancelled`` by you, its process and its children are
    stopped, nothing it made is loaded, and a new job can start at once. 409 for a job that is
    over or that is loading its model already; 404 for an unknown one."""
    job = jobs.lock(session, job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no training job {job_id}")
    jobs.settle(job)
    jobs.cancel(job, by=me.username)
    pid, host = job.pid, job.host
    session.commit()  # ended before its process is stopped: it can change nothing any more
    stopped = pid is not None and host == socket.gethostname() and process.stop_process(pid)
    logger.info(
        "training job %s cancelled by %s (process stopped: %s)", job.pk, me.username, stopped
    )
    return {"job": jobs.as_dict(job)}
