"""Parts of the job's process: the exported training data and its fingerprint, reading Rasa's
progress from its output, pruning old models."""

from __future__ import annotations

import os

import pytest

from bot import db
from bot.kb.sources import import_sources, load_sources
from bot.kb.training import GENERATED_NLU, nlu_yaml, training_fingerprint
from bot.retraining.runner import KEEP_MODELS, Plan, export, prune_models, training_progress
from bot.settings import PROJECT_ROOT, Settings


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Epochs:  45%|####5     | 45/100 [00:10<00:12, 4.5it/s, t_loss=1.2]"],
            {"progress": 45.0},
        ),
        (
            [
                "2026-11-23 INFO rasa.engine.training.hooks  - Starting to train component 'RulePolicy'."
            ],
            {"detail": "training RulePolicy (0 parts trained)"},
        ),
        (
            [
                "INFO rasa.engine.training.hooks  - Finished training component 'CountVectorsFeaturizer'.",
                "INFO rasa.engine.training.hooks  - Restored component 'LinearClassifier' from cache.",
            ],
            {"detail": "trained LinearClassifier (2 parts trained)"},
        ),
        (["Processed trackers: 100%|##########| 21/21"], {}),  # not the model's progress
        (["<script>alert(1)</script>"], {}),
    ],
)
def test_progress_read_from_rasa_output(lines, expected) -> None:
    read = training_progress()
    found: dict = {}
    for line in lines:
        found.update(read(line))
    assert found == expected


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
