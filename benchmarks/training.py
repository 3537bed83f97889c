"""Training and start-up of the demo assistant, and of the stock ``rasa init`` assistant.

``python -m benchmarks.training`` copies what training reads (config.yml, domain.yml, data/) into a
temporary directory and times, each in a fresh process as ``make train`` runs it:
- training from scratch: no Rasa training cache, no sentence-embedding cache (a first install);
- training again after a small change (one NLU example added), with the caches the first
  training filled (what an editor's change costs);
- the start of the full stack (``python -m bot serve``: action server, Rasa server, web app)
  until it prints ``ready``;
- the model's size;
- and the same for the stock assistant (``rasa init --no-prompt``, which trains; ``rasa run`` until
  it answers).
It writes ``benchmarks/results/training.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.environment import describe_machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SMALL_CHANGE = "    - is there a shop in Vilnius where I can pick up my order\n"


def copy_project(target: Path) -> None:
    """What training reads; ``data/nlu/kb_questions.yml`` must exist (``python -m bot kb nlu``)."""
    if not (ROOT / "data" / "nlu" / "kb_questions.yml").exists():
        raise RuntimeError("data/nlu/kb_questions.yml is missing: run `python -m bot kb nlu`")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "data", target / "data", ignore=shutil.ignore_patterns("kb"))


def add_small_change(project: Path) -> None:
    """One new example for an existing intent, as an editor would add it."""
    path = project / "data" / "nlu" / "basics.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == "examples: |":
            lines.insert(index + 1, SMALL_CHANGE)
            break
    else:
        raise RuntimeError(f"no examples block in {path}")
    path.write_text("".join(lines), encoding="utf-8")


def train_once(project: Path, cache: Path, *, cold: bool) -> Dict[str, Any]:
    """``rasa train`` in a fresh process, as ``make train`` runs it; seconds and model size."""
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "RASA_CACHE_DIRECTORY": str(cache),
        "PYTHONPATH": str(ROOT),
    }
    if cold:
        env["RASA_MAX_CACHE_SIZE"] = "0"
    out = project / "models"
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.training", "--inner-train", str(project),
         *(["--cold"] if cold else [])],
        check=True, cwd=project, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.monotonic() - began
    model = max(out.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return {"seconds": seconds, "model": str(model), "model_bytes": model.stat().st_size}


def inner_train(project: Path, cold: bool) -> None:
    """The child process: Rasa's own training; a cold one computes every sentence embedding."""
    if cold:
        from bot.kb.embeddings import default_encoder

        encoder = default_encoder()
        if encoder is not None:
            encoder.cache_file = None
            encoder._cache.clear()
    else:
        # Warm: the embeddings of the first training are kept in the project copy, not in var/.
        from bot.kb.embeddings import default_encoder

        encoder = default_encoder()
        if encoder is not None:
            encoder._cache.clear()
            encoder.cache_file = project / "embedding-cache.npz"
            encoder._load(encoder.cache_file)
    from rasa.api import train

    result = train(
        domain=str(project / "domain.yml"),
        config=str(project / "config.yml"),
        training_files=[str(project / "data")],
        output=str(project / "models"),
        fixed_model_name=f"demo-{time.time_ns()}",
        core_additional_arguments={},
        nlu_additional_arguments={},
    )
    if result.code != 0:
        raise SystemExit(result.code)


def start_ours(model: Path, workdir: Path) -> float:
    from bot.stack import Stack

    stack = Stack(workdir, model)
    stack.setup_database()
    began = time.monotonic()
    stack.start()
    seconds = time.monotonic() - began
    stack.stop()
    return seconds


def run(include_stock: bool) -> Dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    items: List[Dict[str, Any]] = []
    raw: Dict[str, Any] = {}
    try:
        project = work / "project"
        copy_project(project)
        cold = train_once(project, work / "cache", cold=True)
        raw["ours_cold"] = cold
        # Fill the caches as `make train` would have, then change one example.
        raw["ours_warm_fill"] = train_once(project, work / "cache", cold=False)
        add_small_change(project)
        raw["ours_small_change"] = train_once(project, work / "cache", cold=False)
        raw["ours_start_seconds"] = start_ours(Path(cold["model"]), work)
        items += [
            {"what": "ours: train from scratch (`rasa train`, no caches)",
             "value": f"{cold['seconds']:.0f} s"},
            {"what": "ours: train again after one NLU example added (Rasa's cache)",
             "value": f"{raw['ours_small_change']['seconds']:.0f} s"},
            {"what": "ours: start of the full stack to ready (`python -m bot serve`)",
             "value": f"{raw['ours_start_seconds']:.0f} s"},
            {"what": "ours: model size", "value": f"{cold['model_bytes'] / 1e6:.1f} MB"},
        ]  # fmt: skip
        if include_stock:
            from benchmarks.load import init_stock, start_stock

            (work / "stock").mkdir()
            stock = init_stock(work / "stock")
            running = start_stock(work / "stock", stock["model"])
            running.stop()
            raw["stock"] = {
                **stock,
                "start_seconds": running.started_seconds,
                "model_bytes": Path(stock["model"]).stat().st_size,
            }
            items += [
                {"what": "stock `rasa init --no-prompt` (creates and trains DIET + TED)",
                 "value": f"{stock['init_and_train_seconds']:.0f} s"},
                {"what": "stock: start of `rasa run` to ready",
                 "value": f"{running.started_seconds:.0f} s"},
                {"what": "stock: model size",
                 "value": f"{raw['stock']['model_bytes'] / 1e6:.1f} MB"},
            ]  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"machine": describe_machine(), "items": items, "raw": raw}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training")
    parser.add_argument("--no-stock", action="store_true")
    parser.add_argument("--inner-train", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner_train:
        inner_train(args.inner_train, args.cold)
        return 0
    report = run(include_stock=not args.no_stock)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "training.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    for item in report["items"]:
        print(f"{item['what']}: {item['value']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
