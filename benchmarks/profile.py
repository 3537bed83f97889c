"""Where the time goes under load: py-spy on each server process while customers talk to it.

``python -m benchmarks.profile --py-spy /path/to/py-spy`` starts the full stack
(``bot.stack.Stack``), sends the REST load of ``benchmarks.load`` at ``--concurrency`` for
``--duration`` seconds and meanwhile samples the Rasa server and the action server with py-spy
(``--format raw``: collapsed stacks). It writes ``benchmarks/results/profile-<process>.txt`` and
prints the functions that were on the stack in most samples (inclusive) and at the top of the
stack (own time). py-spy is not a dependency of the product: install it anywhere
(``pip install --target /tmp/pyspy py-spy``) and pass its path.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from benchmarks.load import OURS, process_name, process_tree, run_level, start_ours, warm_up

RESULTS = Path(__file__).resolve().parent / "results"


def read_collapsed(path: Path) -> List[Tuple[List[str], int]]:
    """py-spy's raw format: ``frame;frame;frame count`` per line."""
    stacks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if head and count.isdigit():
            stacks.append((head.split(";"), int(count)))
    return stacks


# Where a thread waits for work: py-spy counts these threads as active (the wait is in C with the
# GIL released, but not in a state py-spy calls idle), so they would hide the busy time.
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py:81)",  # a thread pool's worker waiting for a task
    "serve (sanic/server/runners.py:155)",  # Sanic's event loop waiting in select()
    "wait (threading.py:",
    "select (selectors.py:",
)


def is_idle(frames: List[str]) -> bool:
    return bool(frames) and frames[-1].startswith(IDLE_LEAVES)


def hot_spots(
    stacks: List[Tuple[List[str], int]], top: int = 25
) -> Tuple[int, List[Tuple[str, int]], List[Tuple[str, int]]]:
    """Busy samples (threads waiting for work left out), the most frequent frames anywhere on
    the stack, and at its top."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for frames, count in stacks:
        if is_idle(frames):
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    return total, inclusive.most_common(top), own.most_common(top)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--py-spy", required=True)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL: Python's CPU time, not waits in C",
    )
    args = parser.parse_args(argv)
    from bot.serve import model_for_tests

    model = (args.model or model_for_tests() or Path("missing")).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    running = start_ours(model, work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(warm_up(running.url, OURS))
        targets: Dict[str, int] = {}
        for pid in process_tree(running.pid):
            name = process_name(pid)
            if name in ("rasa server", "action server"):
                targets[name] = pid
        spies = []
        for name, pid in targets.items():
            out = RESULTS / f"profile-{name.replace(' ', '-')}.txt"
            spies.append(
                (
                    name,
                    out,
                    subprocess.Popen(
                        [args.py_spy, "record", "--pid", str(pid), "--format", "raw",
                         "--duration", str(int(args.duration)), "--rate", "100",
                         "--output", str(out), "--nonblocking", *(["--gil"] if args.gil else [])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    ),
                )
            )  # fmt: skip
        result: Dict[str, object] = {}

        def load() -> None:
            result.update(
                asyncio.run(
                    run_level(
                        "ours", "rest", running.url, OURS, args.concurrency, args.duration,
                        running.pid, warmup=0,
                    )
                )
            )  # fmt: skip

        thread = threading.Thread(target=load)
        thread.start()
        thread.join()
        for _, _, spy in spies:
            spy.wait(timeout=60)
        print(
            f"load: {result.get('throughput', 0):.1f} messages/s, "
            f"p50 {result.get('ms_p50', 0):.0f} ms, p95 {result.get('ms_p95', 0):.0f} ms"
        )
        for name, out, _ in spies:
            if not out.exists():
                print(f"{name}: no profile (py-spy needs ptrace permission)")
                continue
            total, inclusive, own = hot_spots(read_collapsed(out))
            print(f"\n== {name}: {total} busy samples; on the stack (inclusive) ==")
            for frame, count in inclusive:
                print(f"{100 * count / total:5.1f}%  {frame}")
            print(f"-- {name}: own time --")
            for frame, count in own[:12]:
                print(f"{100 * count / total:5.1f}%  {frame}")
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
