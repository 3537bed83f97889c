"""Train a Rasa NLU pipeline on a benchmark split, predict a split through the trained model.

``python -m benchmarks.nlu --dataset banking77 --config config.yml --name ours`` trains the config
with Rasa's own training (``rasa.model_training.train_nlu``, no training cache), loads the model
archive with ``rasa.core.agent.Agent`` (what ``rasa run`` serves) and parses every test message one
at a time, as a server would. It writes ``benchmarks/results/<dataset>-<name>.json``: the training
time, the model's size, each message's prediction (top intent before and after the
FallbackClassifier, its confidence) and the time each parse took. Metrics come from
``benchmarks.metrics`` and the report from ``benchmarks.report``.

The sentence-embedding cache (``bot.kb.embeddings``) is switched off for the run: a text encoded
in an earlier run would make training and inference look faster than they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from benchmarks import datasets
from benchmarks.datasets import Example
from benchmarks.environment import describe_machine

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FALLBACK_INTENT = "nlu_fallback"


def splits(dataset: str, mode: str) -> Dict[str, Any]:
    """What a run trains on and the splits it predicts: ``{"train": [...], "predict": {...}}``.

    BANKING77, ``mode`` ``test``: the whole training split; predicts the test split (once).
    BANKING77, ``mode`` ``validation``: the training split minus the held-out slice; predicts that
    slice (for tuning).
    CLINC150 trains on ``train`` + ``oos_train`` (the ``out_of_scope`` intent) and predicts ``val``
    (where the threshold is chosen) and, in ``mode`` ``test``, ``test`` with the same model;
    ``clinc150-oos-plus`` is the same with the 250 ``oos_train`` examples of ``data_oos_plus.json``.
    """
    if dataset == "banking77":
        train = datasets.read_banking77("train")
        if mode == "validation":
            train, held = datasets.split_validation(train)
            return {"train": train, "predict": {"validation": held}}
        return {"train": train, "predict": {"test": datasets.read_banking77("test")}}
    if dataset in ("clinc150", "clinc150-oos-plus"):
        variant = "oos_plus" if dataset.endswith("oos-plus") else "full"
        data = datasets.read_clinc150(variant=variant)
        predict = {"validation": data["val"]}
        if mode == "test":
            predict["test"] = data["test"]
        return {"train": data["train"], "predict": predict}
    raise ValueError(f"unknown dataset {dataset}")


def first_per_label(examples: Sequence[Example], count: int) -> List[Example]:
    seen: Dict[str, int] = {}
    kept = []
    for text, label in examples:
        if seen.get(label, 0) < count:
            seen[label] = seen.get(label, 0) + 1
            kept.append((text, label))
    return kept


def _no_embedding_cache() -> None:
    """Make the process's sentence encoder compute every text (no disk or memory cache)."""
    from bot.kb.embeddings import default_encoder

    encoder = default_encoder()
    if encoder is not None:
        encoder.cache_file = None
        encoder._cache.clear()


def train(config: Path, data: Path, out_dir: Path, name: str) -> Dict[str, Any]:
    """Train; the model's path, the wall-clock seconds and the archive's size."""
    from rasa.model_training import train_nlu

    _no_embedding_cache()
    start = time.perf_counter()
    model = train_nlu(str(config), str(data), str(out_dir), fixed_model_name=name)
    seconds = time.perf_counter() - start
    if not model:
        raise RuntimeError(f"training {config} on {data} produced no model")
    return {"model": model, "train_seconds": seconds, "model_bytes": Path(model).stat().st_size}


def predict(model: str, named: Dict[str, Sequence[Example]]) -> Dict[str, Any]:
    """Parse every example of every named split through the model, one message at a time."""
    from rasa.core.agent import Agent

    start = time.perf_counter()
    agent = Agent.load(model)
    load_seconds = time.perf_counter() - start
    _no_embedding_cache()

    async def run() -> Dict[str, List[Dict[str, Any]]]:
        await agent.parse_message("warm up")  # first call builds lazy state
        out: Dict[str, List[Dict[str, Any]]] = {}
        for split, examples in named.items():
            rows = out.setdefault(split, [])
            for text, label in examples:
                began = time.perf_counter()
                parsed = await agent.parse_message(text)
                seconds = time.perf_counter() - began
                rows.append(prediction_row(text, label, parsed, seconds))
        return out

    return {"load_seconds": load_seconds, "predictions": asyncio.run(run())}


def prediction_row(text: str, label: str, parsed: Dict[str, Any], seconds: float) -> Dict[str, Any]:
    """What the report needs of one parse: the classifier's top intent and the final one.

    ``top``/``confidence``: the best intent other than ``nlu_fallback`` (the classifier's answer);
    ``intent``: what Rasa finally set (``nlu_fallback`` when the FallbackClassifier fired).
    """
    final = (parsed.get("intent") or {}).get("name")
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    top = ranking[0] if ranking else {"name": None, "confidence": 0.0}
    return {
        "text": text,
        "label": label,
        "top": top["name"],
        "confidence": float(top.get("confidence") or 0.0),
        "intent": final,
        "seconds": seconds,
    }


def run(dataset: str, config: Path, name: str, mode: str, keep_model: bool, limit: int = 0) -> Path:
    data = splits(dataset, mode)
    if limit:  # a smoke test: a few examples of every label, a few test messages
        data = {
            "train": first_per_label(data["train"], limit),
            "predict": {k: v[: limit * 5] for k, v in data["predict"].items()},
        }
    work = Path(tempfile.mkdtemp(prefix=f"bench-{dataset}-{name}-"))
    try:
        nlu_file = datasets.write_rasa_nlu(data["train"], work / "nlu.yml")
        config_copy = work / "config.yml"
        shutil.copy(config, config_copy)
        trained = train(config_copy, nlu_file, work / "models", f"{dataset}-{name}")
        predicted = predict(trained["model"], data["predict"])
        result = {
            "dataset": dataset,
            "name": name,
            "mode": mode,
            "config": str(config),
            "config_text": config.read_text(encoding="utf-8"),
            "train_examples": len(data["train"]),
            "predicted_examples": {k: len(v) for k, v in data["predict"].items()},
            "train_seconds": trained["train_seconds"],
            "model_bytes": trained["model_bytes"],
            "load_seconds": predicted["load_seconds"],
            "machine": describe_machine(),
            "predictions": predicted["predictions"],
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        suffix = ("" if mode == "test" else "-validation") + ("-smoke" if limit else "")
        out = RESULTS / f"{dataset}-{name}{suffix}.json"
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        if keep_model:
            shutil.copy(trained["model"], RESULTS / Path(trained["model"]).name)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def quiet_logs() -> None:
    """Warnings and errors only (Rasa's structlog logs every parse at debug level otherwise)."""
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    except ImportError:
        pass


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nlu")
    parser.add_argument(
        "--dataset", choices=["banking77", "clinc150", "clinc150-oos-plus"], required=True
    )
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--name", required=True, help="ours, rasa-default, ...")
    parser.add_argument("--mode", choices=["test", "validation"], default="test")
    parser.add_argument("--keep-model", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="smoke test: N examples per label")
    args = parser.parse_args(argv)
    quiet_logs()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # train from scratch, every time
    out = run(
        args.dataset, args.config.resolve(), args.name, args.mode, args.keep_model, args.limit
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
