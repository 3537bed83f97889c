"""The training job's process: ``python -m bot.retraining.runner <job id>``, started in the
background by the web app (``bot.retraining.process``) with low priority (nice 10).

Stages (``bot.retraining.jobs``):
1. export: the published articles in the database become ``data/nlu/kb_questions.yml`` (as
   ``python -m bot kb nlu`` writes it) in the job's folder, beside copies of the config, the
   domain and the rest of ``data/``; the model is named ``amberline-<fingerprint>`` of that
   folder, as ``make train`` names it;
2. train: ``rasa train`` into the job's folder; progress is the share of its components trained
   (as many as the last job that trained to the end trained, or as many as the config names),
   within a component Rasa's own percentage where it prints one (``Epochs: 45%``, DIET, TED);
3. evaluate: the current model (the one the Rasa server runs) and the candidate parse every
   question of the evaluation set (``rasa_ext/parse_texts.py``; the current model's parses are
   read from ``parse_cache`` when an earlier job made them); the bot's rules decide the
   answers with the live articles (``bot.retraining.measuring``);
4. compare: ``bot.retraining.comparing``;
5. load: the candidate moves to the models folder and the Rasa server loads it (``PUT /model``);
   the generated NLU file of the running model is replaced by the job's, which clears the
   articles' "needs retraining" marks. A worse candidate is deleted and the current model kept.

A job cancelled by an editor (``bot/web/training_api.py``) is ended in the database first, then
its process group is stopped (``process.stop_process``: the runner and its ``rasa train`` or
parsing child). The runner also stops its child when its heartbeat finds the job over, so that
a cancel from another machine ends it too; every change it makes to the job then fails
(``jobs.JobOver``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence

import yaml
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot import db
from bot.errors import BotError
from bot.handoff.rasa_api import RasaClient, RasaUnavailable
from bot.kb import training
from bot.kb.deciding import thresholds_for
from bot.kb.retrieval import LiveIndex
from bot.retraining import comparing, jobs, measuring, parse_cache, serving
from bot.retraining.models import TrainingJob
from bot.retraining.process import STOP_GRACE_SECONDS
from bot.serve import rasa_env
from bot.settings import PROJECT_ROOT, Settings, get_settings, rasa_token
from bot.timeutil import utcnow

logger = logging.getLogger(__name__)
BIN = Path(sys.executable).parent
LOAD_TIMEOUT_SECONDS = 300.0  # several Rasa processes each pull and load the new model
NICENESS = 10
EPOCHS = re.compile(r"Epochs:\s*(\d{1,3})%")
COMPONENT = re.compile(r"Starting to train component '([^']+)'")
FINISHED = re.compile(r"(?:Finished training|Restored) component '([^']+)'")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_LINES = 60
COMPONENTS_FILE = "trained-components"  # in a job's folder: how many components it trained
PARSES_DIR = "parses"  # beside the jobs' folders: parses kept for the next job (parse_cache)
KEEP_MODELS = 3  # as `make train` keeps


class StageFailed(BotError):
    """A stage could not be done; the message says why, in plain words."""


@dataclasses.dataclass
class Plan:
    """What a job reads and writes. ``root`` holds ``domain.yml`` and ``data/``."""

    root: Path
    config: Path
    eval_set: Path
    models_dir: Path
    work_dir: Path
    trained_nlu: Path
    tolerance: float
    rasa: RasaClient
    settings: Settings

    @classmethod
    def of(cls, settings: Settings, job_pk: int) -> Plan:
        return cls(
            root=settings.rasa_project_dir,
            config=settings.training_config,
            eval_set=settings.training_eval_set,
            models_dir=settings.models_dir,
            work_dir=settings.training_dir / f"job-{job_pk}",
            trained_nlu=settings.trained_nlu,
            tolerance=settings.training_tolerance,
            rasa=RasaClient(settings.rasa_url, rasa_token(settings)),
            settings=settings,
        )


class Job:
    """The job's row, changed one short transaction at a time."""

    def __init__(self, engine: Engine, pk: int) -> None:
        self.engine = engine
        self.pk = pk
        self.child: Optional[subprocess.Popen] = None  # the command that runs now

    def change(self, action: Callable[[TrainingJob], Any]) -> Any:
        """``action`` on the job's row, locked (a cancel waits, or came first)."""
        with db.session_scope(self.engine) as session:
            job = jobs.lock(session, self.pk)
            if job is None:
                raise StageFailed(f"training job {self.pk} does not exist")
            return action(job)

    def beat(self) -> bool:
        """Refresh the heartbeat; returns whether the job still runs."""
        with db.session_scope(self.engine) as session:
            changed = session.execute(
                update(TrainingJob)
                .where(TrainingJob.pk == self.pk, TrainingJob.status == "running")
                .values(heartbeat_at=utcnow())
            ).rowcount
        return bool(changed)

    def stop_child(self) -> None:
        """Stop the command that runs now (the job ended meanwhile: it was cancelled)."""
        child = self.child
        if child is not None and child.poll() is None:
            logger.info("training job %s is over: stopping process %s", self.pk, child.pid)
            child.terminate()


def run(engine: Engine, pk: int, plan: Plan) -> str:
    """Run job ``pk`` to its end; returns its status. Every failure ends the job as failed with
    the reason; the heartbeat tells the web app that the process lives."""
    job = Job(engine, pk)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(jobs.HEARTBEAT_SECONDS):
            try:
                if not job.beat():
                    job.stop_child()
            except Exception:  # the next beat tries again; settle() judges a long silence
                logger.exception("training job %s: heartbeat not written", pk)

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        stages(job, plan)
    except jobs.JobOver:  # cancelled meanwhile: nothing more to do, nothing is loaded
        logger.info("training job %s was ended by someone else", pk)
    except Exception as error:  # a stage failed: the job says why, nothing is loaded
        logger.exception("training job %s failed", pk)
        reason = str(error) if isinstance(error, BotError) else f"unexpected error: {error!r}"
        job.change(lambda j: jobs.fail(j, reason) if j.status == "running" else None)
    finally:
        stop.set()
        beating.join(timeout=10)
    return str(job.change(lambda j: j.status))


def stages(job: Job, plan: Plan) -> None:
    job.change(lambda j: jobs.advance(j, "export", detail="exporting the published articles"))
    current = current_model(plan)
    fingerprint = export(job.engine, plan)
    name = f"amberline-{fingerprint}"
    kept = plan.models_dir / f"{name}.tar.gz"
    job.change(lambda j: setattr(j, "fingerprint", fingerprint))
    job.change(lambda j: setattr(j, "current_model", str(current) if current else None))

    job.change(lambda j: jobs.advance(j, "train", detail="starting rasa train"))
    if kept.exists():
        candidate = kept
        job.change(lambda j: jobs.report(j, progress=100, detail=f"{kept.name} exists already"))
    else:
        candidate = train(job, plan, name)
    job.change(lambda j: setattr(j, "candidate_model", str(candidate)))

    if current is not None and current.resolve() == candidate.resolve():
        job.change(lambda j: jobs.advance(j, "compare"))
        install_nlu(plan)
        job.change(
            lambda j: jobs.finish(
                j, "kept", reason="the running model was trained on these articles already"
            )
        )
        return

    job.change(lambda j: jobs.advance(j, "evaluate", detail="loading the models"))
    measures = evaluate(job, plan, current, candidate)

    job.change(lambda j: jobs.advance(j, "compare"))
    verdict = comparing.compare(
        measures.get("current"), measures["candidate"], tolerance=plan.tolerance
    )
    metrics: Dict[str, Any] = {"comparison": verdict, "eval_set": plan.eval_set.name}
    for name, measured in measures.items():
        metrics[name] = {k: v for k, v in measured.items() if k != "results"}
    job.change(lambda j: setattr(j, "metrics", metrics))
    if not verdict["not_worse"]:
        if candidate.parent == plan.work_dir:
            candidate.unlink(missing_ok=True)  # never loaded, never picked by `make run`
        reason = "the new model is worse, the current one is kept: " + "; ".join(verdict["reasons"])
        job.change(lambda j: jobs.finish(j, "kept", reason=reason))
        return

    job.change(lambda j: jobs.advance(j, "load", detail="loading into the Rasa server"))
    loaded = install_model(plan, candidate, kept)
    job.change(lambda j: setattr(j, "candidate_model", str(loaded)))
    load_into_rasa(plan, loaded)
    install_nlu(plan)
    prune_models(plan.models_dir, keep=[loaded, *([current] if current else [])])
    job.change(lambda j: jobs.finish(j, "loaded"))


def load_into_rasa(plan: Plan, model: Path) -> None:
    """Have the Rasa server run ``model``: ``PUT /model`` for one process; for several, name it
    to their model server and wait until every process runs it (``bot.retraining.serving``).
    Raises StageFailed when it does not."""
    workers = serving.rasa_workers()
    if workers == 1:
        try:
            plan.rasa.load_model(str(model))
        except RasaUnavailable as error:
            raise StageFailed(f"the Rasa server did not load the new model: {error}") from error
        running = running_model_name(plan)
        if running != model.name:
            raise StageFailed(f"the Rasa server runs {running}, not {model.name}")
        return
    serving.serve(plan.models_dir, model)
    if not every_process_runs(plan.rasa, model.name, workers, timeout=LOAD_TIMEOUT_SECONDS):
        raise StageFailed(
            f"not every one of the {workers} Rasa processes ran {model.name} within "
            f"{LOAD_TIMEOUT_SECONDS:.0f} s; they go on pulling it from the web app"
        )


def every_process_runs(rasa: RasaClient, name: str, workers: int, *, timeout: float) -> bool:
    """Whether the Rasa processes all run model ``name``: ``/status`` on a new connection each
    time (the port hands each to one process) says so 4 × ``workers`` times in a row."""
    deadline, in_a_row = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        try:
            runs = os.path.basename(str(rasa.status(fresh_connection=True).get("model_file")))
        except RasaUnavailable:
            runs = None
        in_a_row = in_a_row + 1 if runs == name else 0
        if in_a_row >= 4 * workers:
            return True
        time.sleep(0.05 if in_a_row else 0.5)
    return False


def current_model(plan: Plan) -> Optional[Path]:
    """The model file the Rasa server runs (in the models folder), None when it runs none.
    Raises StageFailed when the server does not answer or its model is not in the folder."""
    name = running_model_name(plan)
    if name is None:
        return None
    path = plan.models_dir / name
    if not path.exists():
        raise StageFailed(
            f"the Rasa server runs {name}, which is not in {plan.models_dir}: "
            "nothing to compare the new model with"
        )
    return path


def running_model_name(plan: Plan) -> Optional[str]:
    try:
        status = plan.rasa.status()
    except RasaUnavailable as error:
        raise StageFailed(f"the Rasa server is not answering ({error})") from error
    name = status.get("model_file")
    return os.path.basename(str(name)) if name else None


def export(engine: Engine, plan: Plan) -> str:
    """The job's training folder: the config as ``config.yml``, the domain, ``data/`` without
    the articles' sources, and the NLU file of the published articles. Returns its
    fingerprint (as ``python -m bot fingerprint`` computes it for the project)."""
    work = plan.work_dir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copyfile(plan.config, work / "config.yml")
    shutil.copyfile(plan.root / "domain.yml", work / "domain.yml")
    shutil.copytree(
        plan.root / "data",
        work / "data",
        ignore=lambda folder, names: ["kb"] if Path(folder) == plan.root / "data" else [],
    )
    # The fingerprint includes our NLU components' code, read from the project.
    (work / "rasa_ext").mkdir()
    shutil.copyfile(PROJECT_ROOT / "rasa_ext" / "nlu.py", work / "rasa_ext" / "nlu.py")
    with db.session_scope(engine) as session:
        sources = training.database_sources(session)
    training.write_nlu(sources, work / "data" / "nlu" / "kb_questions.yml")
    return training.training_fingerprint(work)


def train(job: Job, plan: Plan, name: str) -> Path:
    """``rasa train`` in the job's folder; the model file. Raises StageFailed."""
    work = plan.work_dir
    command = [
        str(BIN / "rasa"), "train",
        "--config", str(work / "config.yml"),
        "--domain", str(work / "domain.yml"),
        "--data", str(work / "data"),
        "--out", str(work),
        "--fixed-model-name", name,
        "--num-threads", "2",
    ]  # fmt: skip
    env = rasa_env()
    started = time.monotonic()
    watch = training_progress(expected_components(plan))
    code = follow(job, command, env, cwd=PROJECT_ROOT, watch=watch, log_path=work / "train.log")
    seconds = time.monotonic() - started
    model = work / f"{name}.tar.gz"
    if code != 0 or not model.exists():
        raise StageFailed(f"rasa train failed (exit code {code}); see the log")
    (work / f"{name}.train-seconds").write_text(f"{seconds:.0f}\n")
    (work / COMPONENTS_FILE).write_text(f"{components_trained(work / 'train.log')}\n")
    return model


def expected_components(plan: Plan) -> int:
    """How many components ``rasa train`` will report trained (or restored from its cache): as
    many as the newest earlier job that trained to the end reported (the same config trains
    the same ones; ``train`` writes the count), or, before there is one, as many as the config
    names."""
    counts = [
        found
        for found in plan.work_dir.parent.glob(f"job-*/{COMPONENTS_FILE}")
        if found.parent != plan.work_dir
    ]
    for found in sorted(counts, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            count = int(found.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        if count > 0:
            return count
    try:
        config = yaml.safe_load(plan.config.read_text(encoding="utf-8")) or {}
        named = len(config.get("pipeline") or []) + len(config.get("policies") or [])
    except (OSError, yaml.YAMLError, AttributeError):
        named = 0
    return max(1, named)


def components_trained(log: Path) -> int:
    """How many components a ``rasa train`` log reports trained or restored from the cache."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return len(FINISHED.findall(ANSI.sub("", text)))


def training_progress(expected: int) -> Callable[[str], Dict[str, Any]]:
    """A reader of Rasa's output lines: the share of the ``expected`` components trained, within
    a component the percentage Rasa prints (``Epochs: 45%``) when it prints one (at most 99
    until ``rasa train`` ends), and which component trains."""
    done: List[str] = []
    expected = max(1, expected)

    def share(within: float = 0.0) -> float:
        return min(99.0, 100.0 * (len(done) + within) / max(expected, len(done) + 1))

    def read(line: str) -> Dict[str, Any]:
        epochs = EPOCHS.search(line)
        if epochs:
            return {"progress": share(min(100.0, float(epochs.group(1))) / 100.0)}
        started = COMPONENT.search(line)
        if started:
            return {
                "progress": share(),
                "detail": f"training {started.group(1)} ({len(done)} of {expected} parts trained)",
            }
        finished = FINISHED.search(line)
        if finished:
            done.append(finished.group(1))
            return {
                "progress": share(),
                "detail": f"trained {finished.group(1)} ({len(done)} of {expected} parts trained)",
            }
        return {}

    return read


def follow(
    job: Job,
    command: List[str],
    env: Dict[str, str],
    *,
    cwd: Path,
    watch: Callable[[str], Dict[str, Any]],
    log_path: Path,
) -> int:
    """Run ``command``, keep the tail of its output in the job (all of it in ``log_path``), and
    report what ``watch`` reads in it at most once a second. Returns the exit code. Raises
    jobs.JobOver when the job ended meanwhile (the command is stopped)."""
    tail: Deque[str] = deque(maxlen=LOG_LINES)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    job.child = process
    assert process.stdout is not None
    pending: Dict[str, Any] = {}
    last = 0.0
    buffer = b""
    try:
        with open(log_path, "ab") as log:
            while True:
                chunk = process.stdout.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    break
                log.write(chunk)
                buffer += chunk
                *lines, buffer = re.split(rb"[\r\n]", buffer)
                for raw in lines:
                    line = ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip()
                    if not line:
                        continue
                    if not tail or tail[-1] != line:
                        tail.append(line)
                    pending.update(watch(line))
                if time.monotonic() - last >= 1.0:
                    last = time.monotonic()
                    report(job, "\n".join(tail), dict(pending))
                    pending.clear()
        code = process.wait()
    finally:  # the job ended meanwhile (cancelled) or an error: the command does not outlive it
        job.child = None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
    report(job, "\n".join(tail), pending)
    return code


def report(job: Job, log: str, found: Dict[str, Any]) -> None:
    job.change(lambda j: jobs.report(j, log=log, **found))


def evaluate(
    job: Job, plan: Plan, current: Optional[Path], candidate: Path
) -> Dict[str, Dict[str, Any]]:
    """Both models' measures on the evaluation set (``current`` absent without one)."""
    try:
        question_set = yaml.safe_load(plan.eval_set.read_text(encoding="utf-8")) or {}
        questions = measuring.questions_of(
            {
                "covered": question_set.get("covered") or [],
                "uncovered": question_set.get("uncovered") or [],
            }
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise StageFailed(f"the evaluation set {plan.eval_set} cannot be read: {error}") from error
    if not questions:
        raise StageFailed(f"the evaluation set {plan.eval_set} has no questions")
    work = plan.work_dir
    asked = [q["text"] for q in questions]
    texts = work / "eval-texts.json"
    texts.write_text(json.dumps(asked, ensure_ascii=False))
    models = {"candidate": candidate, **({"current": current} if current else {})}
    cache = plan.work_dir.parent / PARSES_DIR
    to_parse = {
        name: model
        for name, model in models.items()
        if not parse_cache.fetch(cache, model, asked, work / f"parses-{name}.json")
    }
    if len(to_parse) < len(models):
        job.change(
            lambda j: jobs.report(
                j,
                progress=40.0 * (len(models) - len(to_parse)),
                detail="the current model's answers are known from an earlier retraining",
            )
        )
    parse(job, to_parse, texts, len(asked), done=len(models) - len(to_parse))
    for name, model in to_parse.items():
        parse_cache.keep(cache, model, asked, work / f"parses-{name}.json")
    job.change(lambda j: jobs.report(j, progress=80, detail="deciding the answers"))
    index = LiveIndex(job.engine, use_embeddings=True).index(training.TRAINED_LANGUAGE)
    thresholds = thresholds_for(plan.settings)
    measures = {}
    for name in models:
        parses = json.loads((work / f"parses-{name}.json").read_text(encoding="utf-8"))
        measures[name] = measuring.measure(index, questions, parses, thresholds)
    return measures


def parse(job: Job, models: Dict[str, Path], texts: Path, count: int, *, done: int) -> None:
    """Each of ``models`` parses the ``count`` questions in ``texts`` into the job's folder
    (``parses-<name>.json``), ``done`` models parsed already. Raises StageFailed."""
    if not models:
        return
    work = texts.parent
    command = [str(BIN / "python"), "-m", "rasa_ext.parse_texts", "--texts", str(texts)]
    for name, model in models.items():
        command += ["--model", str(model), "--out", str(work / f"parses-{name}.json")]
    total = len(models) + done
    parsed: List[str] = []

    def watch(line: str) -> Dict[str, Any]:
        if line.startswith("parsed "):
            parsed.append(line)
            finished = done + len(parsed)
            return {
                "progress": 80.0 * finished / total,
                "detail": f"{finished} of {total} models asked {count} questions",
            }
        return {}

    log = work / "evaluate.log"
    code = follow(job, command, rasa_env(), cwd=PROJECT_ROOT, watch=watch, log_path=log)
    if code != 0:
        raise StageFailed(f"the models could not be evaluated (exit code {code}); see the log")


def install_model(plan: Plan, candidate: Path, target: Path) -> Path:
    """The candidate in the models folder (where ``make run`` finds it by its name)."""
    plan.models_dir.mkdir(parents=True, exist_ok=True)
    if candidate.resolve() != target.resolve():
        shutil.move(str(candidate), target)
        timing = candidate.with_name(candidate.name.replace(".tar.gz", ".train-seconds"))
        if timing.exists():
            shutil.move(str(timing), target.with_name(timing.name))
    return target.resolve()


def prune_models(models_dir: Path, *, keep: Sequence[Path]) -> List[Path]:
    """Delete all but the newest ``KEEP_MODELS`` models (as ``make train`` does), never one
    in ``keep`` (the loaded and the replaced model); returns the deleted."""
    models = sorted(
        models_dir.glob("amberline-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    kept = {p.resolve() for p in keep}
    deleted = []
    for model in models[KEEP_MODELS:]:
        if model.resolve() in kept or model.is_symlink():
            continue
        model.unlink()
        model.with_name(model.name.replace(".tar.gz", ".train-seconds")).unlink(missing_ok=True)
        deleted.append(model)
    return deleted


def install_nlu(plan: Plan) -> None:
    """The running model's generated NLU file is now the job's: the marks clear."""
    source = plan.work_dir / "data" / "nlu" / "kb_questions.yml"
    plan.trained_nlu.parent.mkdir(parents=True, exist_ok=True)
    temporary = plan.trained_nlu.with_name(plan.trained_nlu.name + ".tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, plan.trained_nlu)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m bot.retraining.runner <job id>", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    os.nice(NICENESS)
    import bot.models  # noqa: F401  (every table's mapper, for the relationships)

    settings = get_settings()
    pk = int(args[0])
    engine = db.make_engine(settings.database_url)
    status = run(engine, pk, Plan.of(settings, pk))
    return 0 if status == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
