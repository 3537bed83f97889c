"""The ``training_jobs`` table: one retraining started from the editor, kept for good."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.timeutil import UTCDateTime, utcnow


class TrainingJob(Base):
    """A training job: its stage while it runs, then its outcome.

    ``status`` is ``running``, ``finished`` (``outcome`` ``loaded`` or ``kept``), ``failed``
    (``reason`` says why) or ``cancelled`` (``reason``: by whom). ``running`` is true only
    while the job runs and is unique: a second job cannot start while one runs, whatever the
    race (NULLs never collide). ``heartbeat_at`` is refreshed by the job's process; a job whose
    process is gone is marked failed.
    """

    __tablename__ = "training_jobs"

    pk = Column(Integer, primary_key=True)
    started_by = Column(String(100), nullable=False)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="running")
    running = Column(Boolean, nullable=True, unique=True, default=True)
    stage = Column(String(16), nullable=False, default="queued")
    stage_started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    progress = Column(Float, nullable=True)
    detail = Column(String(500), nullable=True)
    heartbeat_at = Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = Column(UTCDateTime, nullable=True)
    host = Column(String(255), nullable=True)
    pid = Column(Integer, nullable=True)
    log_tail = Column(Text, nullable=False, default="")
    outcome = Column(String(16), nullable=True)
    reason = Column(Text, nullable=True)
    fingerprint = Column(String(32), nullable=True)
    current_model = Column(String(1000), nullable=True)
    candidate_model = Column(String(1000), nullable=True)
    metrics = Column(JSON, nullable=True)
    # Seconds each stage took, by stage name, as they end.
    stage_times = Column(JSON, nullable=True)
