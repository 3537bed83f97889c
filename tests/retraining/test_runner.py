"""A real training job end to end, small: a tiny config and data in a temporary folder (the same
code path, with the config override), five demo articles in a real database, the held-out
questions of eval/dev.yml about them, and a real Rasa server (HTTP API) to load models into.

1. The Rasa server runs no model: the first job trains, has nothing to compare with, loads its
   model, and the generated NLU file is replaced (the marks clear). A job with nothing changed
   since keeps that model without training.
2. An editor puts one article's question variants into another article and publishes: the next
   job trains a model that answers those questions with the wrong article; it is refused, the
   questions that got worse are listed, and the Rasa server keeps the first model. The first
   model's parses of the evaluation set are read from the first job's, not made again.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import yaml

from bot import db
from bot.handoff.rasa_api import RasaClient
from bot.kb import editing, repository, sources, training
from bot.retraining import jobs, runner
from bot.retraining.models import TrainingJob
from bot.serve import BIN, service_env, wait_until_up
from bot.settings import PROJECT_ROOT, Settings
from bot.stack import free_port

ARTICLES = ("gift-cards", "return-policy", "refund-timing", "cancel-order", "change-order")
TINY_CONFIG = """\
recipe: default.v1
assistant_id: tiny
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: rasa_ext.nlu.LinearClassifier
  - name: rasa_ext.nlu.LinearClassifier
    retrieval_intent: faq
policies:
  - name: RulePolicy
"""
TINY_DOMAIN = """\
version: "3.1"
intents: [greet, faq]
responses:
  utter_greet:
  - text: Hello!
"""
TINY_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
"""
TINY_RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
"""


def tiny_project(folder: Path) -> Tuple[Path, Path]:
    """The config (outside the project folder, as an override) and the evaluation set."""
    (folder / "data" / "nlu").mkdir(parents=True)
    (folder / "data" / "rules").mkdir(parents=True)
    (folder / "domain.yml").write_text(TINY_DOMAIN)
    (folder / "data" / "nlu" / "basics.yml").write_text(TINY_NLU)
    (folder / "data" / "rules" / "basics.yml").write_text(TINY_RULES)
    config = folder / "tiny-config.yml"
    config.write_text(TINY_CONFIG)
    dev = yaml.safe_load((PROJECT_ROOT / "eval" / "dev.yml").read_text())
    chosen = {
        "covered": [q for q in dev["covered"] if set(q["expected"]) <= set(ARTICLES)],
        "uncovered": dev["uncovered"][:8],
    }
    assert len(chosen["covered"]) >= 12
    eval_set = folder / "eval.yml"
    eval_set.write_text(yaml.safe_dump(chosen))
    return config, eval_set


@pytest.fixture
def rasa_server(tmp_path: Path) -> Iterator[RasaClient]:
    """Rasa's server with its HTTP API and no model yet."""
    port, token = free_port(), "t-" + uuid.uuid4().hex
    empty = tmp_path / "no-model"
    empty.mkdir()
    command = [
        str(BIN / "rasa"), "run", "--enable-api", "--auth-token", token,
        "--port", str(port), "--model", str(empty),
    ]  # fmt: skip
    log = open(tmp_path / "rasa.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        command, env=service_env(free_port()), cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        wait_until_up(f"http://localhost:{port}/", process, 180)
        yield RasaClient(f"http://localhost:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_job_loads_a_model_that_is_not_worse_and_refuses_a_worse_one(
    tmp_path: Path, database_url: str, rasa_server: RasaClient
) -> None:
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        parsed = [sources.parse_article(PROJECT_ROOT / "data/kb/en" / f"{a}.md") for a in ARTICLES]
        sources.import_sources(session, parsed)
    config, eval_set = tiny_project(tmp_path / "project")
    settings = Settings(
        database_url=database_url,
        rasa_url=rasa_server.url,
        rasa_token=rasa_server.token,
        models_dir=tmp_path / "models",
        training_dir=tmp_path / "training",
        trained_nlu=tmp_path / "trained" / "kb_questions.yml",
        training_config=config,
        rasa_project_dir=tmp_path / "project",
        training_eval_set=eval_set,
    )

    def run_job() -> TrainingJob:
        with db.session_scope(engine) as session:
            pk = jobs.start(session, started_by="edita").pk
        runner.run(engine, pk, runner.Plan.of(settings, pk))
        with db.session_scope(engine) as session:
            return session.get(TrainingJob, pk)

    # 1. Nothing runs yet: the new model is loaded.
    first = run_job()
    assert (first.status, first.outcome, first.reason) == ("finished", "loaded", None)
    model = Path(first.candidate_model)
    assert model == settings.models_dir / f"amberline-{first.fingerprint}.tar.gz"
    assert model.exists() and model.with_name(model.name[:-7] + ".train-seconds").exists()
    assert rasa_server.status()["model_file"] == model.name
    assert first.metrics["comparison"]["note"] == "no current model to compare with"
    measured = first.metrics["candidate"]["covered"]
    assert measured["questions"] >= 12 and measured["top1_accuracy"] > 0.5
    assert first.log_tail.rstrip().endswith(f"parsed {measured['questions'] + 8} {model.name}")
    assert (
        "component 'LinearClassifier'"
        in (settings.training_dir / f"job-{first.pk}" / "train.log").read_text()
    )
    # How many components it trained: the next job's progress is its share of them.
    counted = settings.training_dir / f"job-{first.pk}" / runner.COMPONENTS_FILE
    assert int(counted.read_text()) >= 5  # two featurizers, two classifiers, the rule policy
    trained = training.trained_examples(settings.trained_nlu)
    assert set(trained) == set(ARTICLES)  # the marks clear: the model knows every article
    assert parse_of(rasa_server, "can I still return the kettle after 10 days") == "return-policy"

    # Nothing changed since: no training, no evaluation, the running model stays.
    same = run_job()
    assert (same.status, same.outcome) == ("finished", "kept")
    assert same.reason == "the running model was trained on these articles already"
    assert same.candidate_model == str(model) and same.metrics is None

    # 2. One article's variants pasted into another, and published.
    with db.session_scope(engine) as session:
        policy = repository.get_article(session, "return-policy", "en")
        refund = repository.get_article(session, "refund-timing", "en")
        head = editing.head_of(refund)
        content = editing.content(
            title=refund.title,
            body=refund.body,
            questions=[*refund.question_texts, *policy.question_texts],
            tags=list(refund.tags),
            audience="public",
        )
        editing.publish(
            session,
            article_id="refund-timing",
            language="en",
            author="edita",
            base_version=head.version,
            content=content,
        )
    second = run_job()
    assert (second.status, second.outcome) == ("finished", "kept"), second.reason
    verdict = second.metrics["comparison"]
    assert not verdict["not_worse"] and verdict["reasons"]
    assert second.reason.startswith("the new model is worse, the current one is kept")
    assert any(
        item["expected"] == ["return-policy"] and "refund-timing" in item["candidate"]
        for item in verdict["worse"]
    ), verdict["worse"]
    assert rasa_server.status()["model_file"] == model.name  # the current model stays
    # The current model's parses were kept from the first job (its candidate then): only the
    # new model parsed the evaluation set.
    evaluated = (settings.training_dir / f"job-{second.pk}" / "evaluate.log").read_text()
    assert "parsed " in evaluated and model.name not in evaluated
    folder = settings.training_dir
    assert (folder / f"job-{second.pk}" / "parses-current.json").read_text() == (
        folder / f"job-{first.pk}" / "parses-candidate.json"
    ).read_text()
    assert not Path(second.candidate_model).exists()  # never in the models folder
    assert sorted(p.name for p in settings.models_dir.glob("*.tar.gz")) == [model.name]
    assert training.trained_examples(settings.trained_nlu) == trained  # still marked
    engine.dispose()


def parse_of(rasa: RasaClient, text: str) -> str:
    """The article the running model ranks first for ``text``."""
    parse = rasa.parse(text, timeout=30)
    ranking = parse["response_selector"]["faq"]["ranking"]
    return ranking[0]["intent_response_key"].split("/", 1)[1]
