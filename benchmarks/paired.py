"""A/B of two stacks under the same load, alternated in short windows so that drift cancels.

The machines this runs on change speed by a third from one minute to the next (a CPU-bound loop
took 0.95 to 1.44 s, idle, on 2026-12-07), more than most changes gain. Two runs of
``benchmarks.load`` one after the other compare the machine's moods as much as the code. Here
both stacks start first and stay up (the idle one costs nothing), then the REST load of
``benchmarks.load`` goes to A and B in turn, ``--seconds`` each, the order flipped every round
(AB, BA, AB...). Each round gives one ratio B/A per figure, measured a few seconds apart; the
report is the median of those ratios with their range.

``python -m benchmarks.paired --b-env KEY=VALUE`` compares the same code with a setting changed;
``--a-root DIR`` runs A from another checkout (``git worktree add DIR REV``) with the same
virtualenv and model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmarks.load import (
    OURS,
    RESULTS,
    STOCK,
    Running,
    init_stock,
    run_level,
    start_stock,
    warm_up,
)

FIGURES: Dict[str, Callable[[Dict[str, Any]], Optional[float]]] = {
    "throughput": lambda level: level["throughput"],
    "ms_p50": lambda level: level["ms_p50"],
    "ms_p95": lambda level: level["ms_p95"],
    "kb_answer_ms_p95": lambda level: level["kb_answer_ms_p95"],
    "rasa_cpu_ms": lambda level: level["cpu_ms_per_message"].get("rasa server"),
    "action_cpu_ms": lambda level: level["cpu_ms_per_message"].get("action server"),
}


def settings(pairs: Sequence[str]) -> Dict[str, str]:
    """``KEY=VALUE`` arguments as a dict (a value may contain ``=``)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"not KEY=VALUE: {pair!r}")
        out[key] = value
    return out


def compare(a: Sequence[Dict[str, Any]], b: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Per figure: the median of A and of B, and the median, lowest and highest of the rounds'
    ratios B/A (a round whose A or B lacks the figure, or has it at zero, gives no ratio)."""
    out: Dict[str, Any] = {}
    for name, figure in FIGURES.items():
        values_a = [v for v in map(figure, a) if v is not None]
        values_b = [v for v in map(figure, b) if v is not None]
        ratios = []
        for level_a, level_b in zip(a, b, strict=False):  # an interrupted round: A only
            x, y = figure(level_a), figure(level_b)
            if x and y is not None:
                ratios.append(y / x)
        out[name] = {
            "a": statistics.median(values_a) if values_a else None,
            "b": statistics.median(values_b) if values_b else None,
            "ratio": statistics.median(ratios) if ratios else None,
            "ratio_low": min(ratios) if ratios else None,
            "ratio_high": max(ratios) if ratios else None,
            "rounds": len(ratios),
        }
    return out


def order(round_number: int) -> List[int]:
    """Which stack goes first in a round: A, B, then B, A, and so on."""
    return [0, 1] if round_number % 2 == 0 else [1, 0]


def describe(comparison: Dict[str, Any]) -> List[str]:
    lines = []
    for name, c in comparison.items():
        if c["ratio"] is None:
            lines.append(f"{name:18} no figures")
            continue
        lines.append(
            f"{name:18} A {c['a']:8.1f}  B {c['b']:8.1f}  B/A {c['ratio']:.3f} "
            f"(rounds {c['rounds']}: {c['ratio_low']:.3f} to {c['ratio_high']:.3f})"
        )
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paired")
    parser.add_argument("--model", type=Path, default=None, help="default: the newest model")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=12.0, help="per stack and round")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--a-env", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--b-env", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--a-model", type=Path, default=None, help="A's model (default: --model)")
    parser.add_argument("--a-root", type=Path, default=None, help="A's checkout (default: this)")
    parser.add_argument("--b-root", type=Path, default=None, help="B's checkout (default: this)")
    parser.add_argument(
        "--b-stock",
        action="store_true",
        help="B is stock `rasa init` (trained first) with its own conversations, as in "
        "benchmarks.load: the same-run ratio against stock with the drift cancelled",
    )
    parser.add_argument("--fixed-texts", action="store_true", help="as benchmarks.load")
    parser.add_argument("--out", default="paired.json", help="file name in benchmarks/results/")
    args = parser.parse_args(argv)
    from bot.serve import model_for_tests
    from bot.stack import Stack

    model = args.model or model_for_tests()
    if model is None:
        print("no trained model: run `make train` first", file=sys.stderr)
        return 2
    sides = [
        (settings(args.a_env), args.a_root, args.a_model or model),
        (settings(args.b_env), args.b_root, model),
    ]
    running: List[Running] = []
    scenarios: List[Sequence[tuple]] = [OURS, STOCK if args.b_stock else OURS]
    levels: List[List[Dict[str, Any]]] = [[], []]
    try:
        for i, (env, root, served) in enumerate(sides):
            work = Path(tempfile.mkdtemp(prefix=f"bench-paired-{'ab'[i]}-"))
            if i == 1 and args.b_stock:
                running.append(start_stock(work, init_stock(work)["model"]))
                continue
            stack = Stack(work, served.resolve(), env={"SANIC_WORKERS": "1", **env}, root=root)
            stack.setup_database()
            stack.start()
            assert stack.process is not None
            running.append(Running(stack.url, stack.process.pid, stack.stop, 0.0))
        for side, scenario in zip(running, scenarios, strict=True):
            asyncio.run(warm_up(side.url, scenario))
        for round_number in range(args.rounds):
            for i in order(round_number):
                level = asyncio.run(
                    run_level(
                        "ab"[i], "rest", running[i].url, scenarios[i], args.concurrency,
                        args.seconds, running[i].pid, warmup=1.0,
                        own_words=not args.fixed_texts,
                    )
                )  # fmt: skip
                levels[i].append(level)
                print(
                    f"round {round_number} {'AB'[i]}: {level['throughput']:.1f} msg/s, "
                    f"KB answer p95 {level['kb_answer_ms_p95'] or 0:.0f} ms, "
                    f"errors {level['errors']}",
                    flush=True,
                )
    finally:
        for side in running:
            side.stop()
    comparison = compare(levels[0], levels[1])
    print("\n".join(describe(comparison)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    described: List[Dict[str, Any]] = [
        {"env": env, "root": str(root or ""), "model": str(served)} for env, root, served in sides
    ]
    if args.b_stock:
        described[1] = {"stock": "rasa init --no-prompt"}
    report = {
        "a": described[0],
        "b": described[1],
        "rounds": args.rounds,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "comparison": comparison,
        "levels": {"a": levels[0], "b": levels[1]},
    }
    (RESULTS / args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"wrote {RESULTS / args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
