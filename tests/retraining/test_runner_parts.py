"""Parts of the job's process: the exported training data and its fingerprint, reading Rasa's
progress from its output (the share of the components the last job trained), pruning old
models, and a cancelled job's process stopped with its children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from bot import db
from bot.kb.sources import import_sources, load_sources
from bot.kb.training import GENERATED_NLU, nlu_yaml, training_fingerprint
from bot.retraining import jobs
from bot.retraining.process import stop_process
from bot.retraining.runner import (
    COMPONENTS_FILE,
    KEEP_MODELS,
    Job,
    Plan,
    components_trained,
    expected_components,
    export,
    follow,
    prune_models,
    run,
    training_progress,
)
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import process_group, wait_until


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Epochs:  45%|####5     | 45/100 [00:10<00:12, 4.5it/s, t_loss=1.2]"],
            {"progress": 11.25},  # 45% of the first of four components
        ),
        (
            [
                "2026-11-23 INFO rasa.engine.training.hooks  - Starting to train component 'RulePolicy'."
            ],
            {"progress": 0.0, "detail": "training RulePolicy (0 of 4 parts trained)"},
        ),
        (
            [
                "INFO rasa.engine.training.hooks  - Finished training component 'CountVectorsFeaturizer'.",
                "INFO rasa.engine.training.hooks  - Restored component 'LinearClassifier' from cache.",
            ],
            {"progress": 50.0, "detail": "trained LinearClassifier (2 of 4 parts trained)"},
        ),
        (
            [
                "INFO rasa.engine.training.hooks  - Finished training component 'CountVectorsFeaturizer'.",
                "Epochs: 100%|##########| 100/100",
            ],
            {"progress": 50.0, "detail": "trained CountVectorsFeaturizer (1 of 4 parts trained)"},
        ),
        (  # more components than expected: one more is to come, never 100% before the end
            [f"INFO - Finished training component 'C{i}'." for i in range(6)],
            {"progress": pytest.approx(600 / 7), "detail": "trained C5 (6 of 4 parts trained)"},
        ),
        (["Processed trackers: 100%|##########| 21/21"], {}),  # not the model's progress
        (["<script>alert(1)</script>"], {}),
    ],
)
def test_progress_read_from_rasa_output(lines, expected) -> None:
    read = training_progress(4)
    found: dict = {}
    for line in lines:
        found.update(read(line))
    assert found == expected


def test_the_components_to_train_are_as_many_as_the_last_job_trained(tmp_path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: A\n  - name: B\n  - name: C\npolicies:\n  - name: D\n")
    plan = Plan.of(Settings(training_dir=tmp_path / "training", training_config=config), 3)
    assert expected_components(plan) == 4  # no job trained before: as many as the config names
    for pk, count in ((1, 2), (2, 7)):
        log = tmp_path / "training" / f"job-{pk}" / "train.log"
        log.parent.mkdir(parents=True)
        log.write_text(
            "\x1b[0m... - Starting to train component 'X'.\n"
            + "... - Finished training component 'X'.\n" * (count - 1)
            + "... - Restored component 'Y' from cache.\n"
        )
        assert components_trained(log) == count
        (log.parent / COMPONENTS_FILE).write_text(f"{count}\n")
        os.utime(log.parent / COMPONENTS_FILE, (1_000_000 + pk, 1_000_000 + pk))
    assert expected_components(plan) == 7  # the newest job's
    cancelled = tmp_path / "training" / "job-4" / "train.log"  # no count: it did not finish
    cancelled.parent.mkdir(parents=True)
    cancelled.write_text("... - Finished training component 'X'.\n")
    own = tmp_path / "training" / "job-3" / COMPONENTS_FILE
    own.parent.mkdir(parents=True)
    own.write_text("1\n")
    assert expected_components(plan) == 7  # never its own


def test_old_models_are_pruned_but_never_the_running_ones(tmp_path) -> None:
    models = []
    for age in range(6):  # the oldest first
        model = tmp_path / f"amberline-{age:012d}.tar.gz"
        model.write_bytes(b"x")
        model.with_name(model.name[:-7] + ".train-seconds").write_text("1\n")
        os.utime(model, (1_000_000 + age, 1_000_000 + age))
        models.append(model)
    linked = tmp_path / "amberline-linked00000.tar.gz"
    linked.symlink_to(models[0])
    os.utime(linked, (999_000, 999_000), follow_symlinks=False)
    deleted = prune_models(tmp_path, keep=[models[0]])
    assert sorted(deleted) == models[1 : 6 - KEEP_MODELS]
    assert all(m.exists() for m in [models[0], *models[-KEEP_MODELS:], linked])
    assert not (tmp_path / "amberline-000000000001.train-seconds").exists()


def test_the_exported_training_data_has_the_projects_fingerprint(
    tmp_path, database_url: str, kb_dir
) -> None:
    """With the database holding the articles as the files do, a job's model has the name
    `make train` gives the project's: `make run` finds it instead of training again."""
    files = load_sources(kb_dir)[0]
    if not GENERATED_NLU.exists() or GENERATED_NLU.read_text() != nlu_yaml(files):
        pytest.skip("data/nlu/kb_questions.yml is not the files' (make train writes it)")
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        import_sources(session, files)
    settings = Settings(database_url=database_url, training_dir=tmp_path)
    plan = Plan.of(settings, 7)
    assert export(engine, plan) == training_fingerprint(PROJECT_ROOT)
    assert (tmp_path / "job-7" / "data" / "nlu" / "kb_questions.yml").read_text() == (
        GENERATED_NLU.read_text()
    )
    assert not (tmp_path / "job-7" / "data" / "kb").exists()  # read at run time, not trained
    engine.dispose()


SLEEPER = "import time; print('started', flush=True); time.sleep(60)"


def test_a_cancelled_job_stops_the_command_it_runs_and_changes_nothing_more(
    engine, tmp_path
) -> None:
    """A cancel from anywhere: the runner's heartbeat finds the job over and stops its child."""
    with db.session_scope(engine) as session:
        row = jobs.start(session, started_by="edita")
        jobs.advance(row, "train")
        pk = row.pk
    job = Job(engine, pk)
    log = tmp_path / "train.log"
    ended: list = []

    def command() -> None:
        try:
            follow(
                job,
                [sys.executable, "-c", SLEEPER],
                dict(os.environ),
                cwd=tmp_path,
                watch=lambda line: {},
                log_path=log,
            )
        except jobs.JobOver as over:
            ended.append(over)

    following = threading.Thread(target=command)
    following.start()
    assert wait_until(lambda: job.child is not None)
    child = job.child
    assert job.beat()  # still running
    with db.session_scope(engine) as session:
        jobs.cancel(jobs.lock(session, pk), by="ben")
    assert not job.beat()
    job.stop_child()
    following.join(timeout=20)
    assert not following.is_alive() and job.child is None
    assert child.returncode == -signal.SIGTERM
    assert len(ended) == 1  # its last report: the job is over
    with pytest.raises(jobs.JobOver):
        job.change(lambda j: jobs.advance(j, "evaluate"))
    assert job.change(lambda j: (j.status, j.reason)) == ("cancelled", "cancelled by ben")


def test_the_run_of_a_job_cancelled_before_it_began_does_nothing(engine, tmp_path) -> None:
    with db.session_scope(engine) as session:
        row = jobs.start(session, started_by="edita")
        jobs.cancel(row, by="ben")
        pk = row.pk
    settings = Settings(
        database_url=str(engine.url), rasa_url="http://127.0.0.1:9", training_dir=tmp_path
    )
    assert run(engine, pk, Plan.of(settings, pk)) == "cancelled"
    assert not (tmp_path / f"job-{pk}").exists()


def test_stopping_a_job_process_stops_its_children_too() -> None:
    with process_group() as (leader, child):
        assert jobs.process_alive(child)
        assert stop_process(leader.pid)
        assert leader.wait(timeout=20) == -signal.SIGTERM
        assert wait_until(lambda: not jobs.process_alive(child))
    assert not stop_process(leader.pid)  # gone: nothing to stop


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    leader = subprocess.Popen(
        [sys.executable, "-c", stubborn], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    try:
        assert leader.stdout.readline().strip() == "ready"
        assert stop_process(leader.pid, grace=0.5)
        assert leader.wait(timeout=20) == -signal.SIGKILL
    finally:
        leader.kill()
        leader.wait()
        leader.stdout.close()


def test_a_process_that_leads_no_group_is_not_stopped() -> None:
    """A job's pid taken by another process since: only a group leader is a job's process."""
    other = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.DEVNULL)
    try:
        assert not stop_process(other.pid)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
