"""Simulated customers against a running assistant, over REST and socket.io.

``python -m benchmarks.load`` starts our full stack as ``make run`` does (``bot.stack.Stack``: a
fresh SQLite database, SQL tracker store, action server, web app) and, as the baseline, the stock
assistant that ``rasa init --no-prompt`` creates and trains (in-memory tracker store, no action
server). Against each, for every concurrency level, that many customers hold conversations for a
fixed time, one after another without pause (a closed loop: each customer sends its next message
when the reply to the last one has come). Measured per message: latency (REST: the whole reply;
socket.io: the first ``bot_uttered``), errors (HTTP error, timeout, an empty reply), and every
second the resident memory of each server process.

Why not locust: it needs gevent (monkey-patching beside Rasa's asyncio client libraries) and has no
socket.io user; aiohttp and python-socketio's client are already pinned by Rasa.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmarks.environment import describe_machine
from benchmarks.metrics import percentile

RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent
REQUEST_TIMEOUT = 60.0

# A turn is a text, or BUTTON: the payload of the first button of the last reply.
BUTTON = object()

# Our demo store's customers (questions of the knowledge base, a vague question and its
# clarification, an order lookup, a request for a person), weighted as a help desk sees them.
OURS: List[tuple] = [
    (4, ["How many days do I have to return something?", "/affirm"]),
    (3, ["how long does delivery to latvia take", "/affirm"]),
    (3, ["Do gift cards expire?", "/deny"]),
    (2, ["can I pay with BLIK?"]),
    (2, ["refund", BUTTON]),
    (2, ["where is my order?", "AM-100482", "ieva.kazlauskiene@example.com"]),
    (1, ["How long does a refund take?", "let me talk to a real person"]),
    (1, ["hello there", "What will the weather be in Riga tomorrow?"]),
]
# Customers put their questions in their own words: each free-text turn (one with a space, not a
# /payload, an order number or an e-mail address) gets an opener, the case and the punctuation a
# customer gives it, a closing and a signature. Nearly every message is then new to the servers,
# as on a real help desk; the same dozen texts over and over would let every cache (the sentence
# embeddings' above all) hide what a new message costs.
OPENERS = [
    "",
    "",
    "",
    "",
    "hi, ",
    "Hi! ",
    "hello, ",
    "Hello. ",
    "hey ",
    "good morning, ",
    "Good evening! ",
    "quick question: ",
    "sorry to bother you, ",
    "hi there, ",
    "excuse me, ",
    "Hello, I have a question. ",
]
CLOSINGS = [
    "",
    "",
    "",
    "",
    " thanks",
    " thank you!",
    " thx",
    " pls",
    " please help",
    " :)",
    " thanks in advance",
    " Regards",
    " asap please",
    " cheers",
    " many thanks.",
    " ty",
]
SIGNATURES = [""] * 8 + [
    f" - {name}"
    for name in (
        "Ieva",
        "Jonas",
        "Rūta",
        "Mantas",
        "Agnė",
        "Tomas",
        "Laura",
        "Darius",
        "Ilze",
        "Jānis",
        "Anna",
        "Kārlis",
        "Līga",
        "Andris",
        "Zane",
        "Māris",
        "Kasia",
        "Piotr",
        "Magda",
        "Tomasz",
        "Ola",
        "Marek",
        "Ewa",
        "Paweł",
        "Gintarė",
        "Vytautas",
        "Inese",
        "Edgars",
        "Agnieszka",
        "Krzysztof",
        "Eglė",
        "Lukas",
    )
]
ENDINGS = ["", "?", "??", "."]


def phrase(turn: str, rng: random.Random) -> str:
    """``turn`` as one customer would type it (see OPENERS); a turn without a space, or a
    /payload, is sent as it is."""
    if turn.startswith("/") or " " not in turn or "@" in turn:
        return turn
    body = turn.rstrip("?.! ")
    if rng.random() < 0.4:
        body = body.lower()
    return (
        rng.choice(OPENERS)
        + body
        + rng.choice(ENDINGS)
        + rng.choice(CLOSINGS)
        + rng.choice(SIGNATURES)
    )


def say(turn: str, rng: random.Random, own_words: bool) -> str:
    return phrase(turn, rng) if own_words else turn


# The stock `rasa init` assistant's own conversations (its data/stories.yml).
STOCK: List[tuple] = [
    (3, ["hello", "I am sad", "yes"]),
    (3, ["hi", "great"]),
    (2, ["hey", "my day was horrible", "no"]),
    (1, ["are you a bot?", "bye"]),
]


@dataclass
class Sample:
    started: float
    seconds: float
    ok: bool
    kb_answer: bool = False
    error: str = ""
    text: str = ""


@dataclass
class Level:
    assistant: str
    channel: str
    concurrency: int
    samples: List[Sample] = field(default_factory=list)
    peak_rss_mb: Dict[str, float] = field(default_factory=dict)
    cpu_seconds: Dict[str, float] = field(default_factory=dict)


def pick(scenarios: Sequence[tuple], rng: random.Random) -> List[Any]:
    weights = [w for w, _ in scenarios]
    return list(rng.choices([s for _, s in scenarios], weights=weights)[0])


def first_button(replies: Sequence[Dict[str, Any]]) -> Optional[str]:
    """The payload of the first button (REST ``buttons``, socket.io ``quick_replies``)."""
    for reply in replies:
        for key in ("buttons", "quick_replies"):
            for button in reply.get(key) or []:
                if button.get("payload"):
                    return str(button["payload"])
    return None


def has_kb_answer(replies: Sequence[Dict[str, Any]]) -> bool:
    for reply in replies:
        custom = reply.get("custom") or {}
        if isinstance(custom, dict) and "kb_answer" in custom:
            return True
    return False


def summarise(level: Level, window: float) -> Dict[str, Any]:
    """The figures of one level: latency percentiles, throughput, errors, memory."""
    seconds = [s.seconds for s in level.samples if s.ok]
    kb = [s.seconds for s in level.samples if s.ok and s.kb_answer]
    errors = [s for s in level.samples if not s.ok]
    texts = [s.text for s in level.samples if s.text]
    kinds: Dict[str, int] = {}
    for e in errors:
        kinds[e.error] = kinds.get(e.error, 0) + 1
    return {
        "assistant": level.assistant,
        "channel": level.channel,
        "concurrency": level.concurrency,
        "seconds": window,
        "requests": len(level.samples),
        # the share of messages whose text no earlier message of this level had
        "new_text_share": len(set(texts)) / len(texts) if texts else 0.0,
        "errors": len(errors),
        "error_kinds": kinds,
        "throughput": len(seconds) / window if window else 0.0,
        "ms_p50": 1000 * percentile(seconds, 0.5),
        "ms_p95": 1000 * percentile(seconds, 0.95),
        "ms_p99": 1000 * percentile(seconds, 0.99),
        "kb_answers": len(kb),
        "kb_answer_ms_p50": 1000 * percentile(kb, 0.5) if kb else None,
        "kb_answer_ms_p95": 1000 * percentile(kb, 0.95) if kb else None,
        "peak_rss_mb": level.peak_rss_mb,
        # CPU time of each process over the counted window, per answered message: what a
        # message costs, whatever else the machine was doing (unlike throughput).
        "cpu_seconds": {k: round(v, 3) for k, v in level.cpu_seconds.items()},
        "cpu_ms_per_message": {
            k: round(1000 * v / len(seconds), 2) for k, v in level.cpu_seconds.items()
        }
        if seconds
        else {},
    }


# --- customers ---------------------------------------------------------------------------------


async def rest_customer(
    session: Any,
    url: str,
    scenarios: Sequence[tuple],
    level: Level,
    stop: float,
    seed: int,
    own_words: bool = True,
) -> None:
    import aiohttp

    rng = random.Random(seed)  # noqa: S311  (reproducible sampling, not security)
    while time.monotonic() < stop:
        sender = uuid.uuid4().hex
        replies: List[Dict[str, Any]] = []
        for turn in pick(scenarios, rng):
            text = first_button(replies) if turn is BUTTON else say(turn, rng, own_words)
            if text is None or time.monotonic() >= stop:
                break
            began = time.monotonic()
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
                ) as response:
                    body = (
                        await response.json(content_type=None) if response.status == 200 else None
                    )
                    status = response.status
            except asyncio.TimeoutError:
                level.samples.append(
                    Sample(began, time.monotonic() - began, False, error="timeout", text=text)
                )
                break
            except aiohttp.ClientError as error:
                level.samples.append(
                    Sample(
                        began,
                        time.monotonic() - began,
                        False,
                        error=type(error).__name__,
                        text=text,
                    )
                )
                await asyncio.sleep(0.1)
                break
            took = time.monotonic() - began
            if status != 200 or not isinstance(body, list) or not body:
                failure = f"http {status}" if status != 200 else "empty"
                level.samples.append(Sample(began, took, False, error=failure, text=text))
                break
            replies = body
            level.samples.append(
                Sample(began, took, True, kb_answer=has_kb_answer(body), text=text)
            )


async def socketio_customer(
    url: str,
    scenarios: Sequence[tuple],
    level: Level,
    stop: float,
    seed: int,
    quiet: float,
    own_words: bool = True,
) -> None:
    import socketio

    rng = random.Random(seed)  # noqa: S311  (reproducible sampling, not security)
    while time.monotonic() < stop:
        session_id = uuid.uuid4().hex
        # request_timeout: engineio's handshake gives up after 5 s by default (a browser's
        # socket.io waits 20 s): under load that counted a slow connection as an error.
        client = socketio.AsyncClient(reconnection=False, request_timeout=REQUEST_TIMEOUT)
        inbox: asyncio.Queue = asyncio.Queue()
        confirmed = asyncio.Event()
        client.on("bot_uttered", inbox.put_nowait)
        client.on("session_confirm", lambda *_, event=confirmed: event.set())
        began = time.monotonic()
        try:
            # Long-polling, as tests/e2e does: engineio's websocket client needs a newer aiohttp.
            # wait_timeout: python-socketio gives up after 1 s by default, a client-side
            # failure under load that the server did not cause.
            await client.connect(
                url,
                socketio_path="/socket.io",
                transports=["polling"],
                wait_timeout=REQUEST_TIMEOUT,
            )
            await client.emit("session_request", {"session_id": session_id})
            await asyncio.wait_for(confirmed.wait(), REQUEST_TIMEOUT)
        except (asyncio.TimeoutError, socketio.exceptions.ConnectionError) as error:
            level.samples.append(
                Sample(
                    began, time.monotonic() - began, False, error=f"connect {type(error).__name__}"
                )
            )
            await client.disconnect()
            await asyncio.sleep(0.5)
            continue
        replies: List[Dict[str, Any]] = []
        try:
            for turn in pick(scenarios, rng):
                text = first_button(replies) if turn is BUTTON else say(turn, rng, own_words)
                if text is None or time.monotonic() >= stop:
                    break
                began = time.monotonic()
                await client.emit("user_uttered", {"message": text, "session_id": session_id})
                try:
                    first = await asyncio.wait_for(inbox.get(), REQUEST_TIMEOUT)
                except asyncio.TimeoutError:
                    level.samples.append(
                        Sample(began, REQUEST_TIMEOUT, False, error="timeout", text=text)
                    )
                    break
                took = time.monotonic() - began
                replies = [first]
                while True:  # the rest of this turn's replies: until none for `quiet` seconds
                    try:
                        replies.append(await asyncio.wait_for(inbox.get(), quiet))
                    except asyncio.TimeoutError:
                        break
                level.samples.append(
                    Sample(began, took, True, kb_answer=has_kb_answer(replies), text=text)
                )
        finally:
            await client.disconnect()


# --- memory ------------------------------------------------------------------------------------


def process_tree(pid: int) -> List[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                todo.extend(int(c) for c in children)
        except OSError:
            continue
    return pids


def process_name(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in args)
    for needle, name in (
        ("rasa_ext.action_server", "action server"),
        ("uvicorn", "web app"),
        ("bot serve", "supervisor"),
        (" run", "rasa server"),
    ):
        if needle in text:
            return name
    return Path(args[0].decode(errors="replace")).name or "?"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (all its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()  # the name may hold spaces; fields from state on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> Dict[str, float]:
    """CPU time by process name (``process_name``) under ``root``, and this load client's."""
    totals: Dict[str, float] = {"load client": cpu_seconds(os.getpid())}
    for pid in process_tree(root):
        name = process_name(pid)
        totals[name] = totals.get(name, 0.0) + cpu_seconds(pid)
    return totals


async def watch_cpu(root: int, level: Level, counted: float, stop: float) -> None:
    """The CPU each process spent between ``counted`` and ``stop`` (monotonic times)."""
    await asyncio.sleep(max(0.0, counted - time.monotonic()))
    before = tree_cpu_seconds(root)
    await asyncio.sleep(max(0.0, stop - time.monotonic()))
    after = tree_cpu_seconds(root)
    level.cpu_seconds = {k: after[k] - before.get(k, 0.0) for k in after}


async def watch_memory(root: int, level: Level, stop: float) -> None:
    """The peak resident memory of each kind of process, all its processes together (two Rasa
    server processes and their parent count as one "rasa server")."""
    while time.monotonic() < stop:
        now: Dict[str, float] = {}
        for pid in process_tree(root):
            name = process_name(pid)
            now[name] = now.get(name, 0.0) + rss_mb(pid)
        for name, megabytes in now.items():
            level.peak_rss_mb[name] = max(level.peak_rss_mb.get(name, 0.0), megabytes)
        await asyncio.sleep(1)


# --- a level -----------------------------------------------------------------------------------


async def run_level(
    assistant: str,
    channel: str,
    url: str,
    scenarios: Sequence[tuple],
    concurrency: int,
    duration: float,
    root_pid: int,
    warmup: float = 3.0,
    quiet: float = 0.25,
    own_words: bool = True,
) -> Dict[str, Any]:
    """``concurrency`` customers for ``warmup`` + ``duration`` seconds; only the last counted."""
    import aiohttp

    level = Level(assistant, channel, concurrency)
    start = time.monotonic()
    stop = start + warmup + duration
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        customers: List[Any] = []
        for i in range(concurrency):
            seed = zlib.crc32(f"{assistant} {channel} {concurrency} {i}".encode())
            if channel == "rest":
                customers.append(
                    rest_customer(session, url, scenarios, level, stop, seed, own_words)
                )
            else:
                customers.append(
                    socketio_customer(url, scenarios, level, stop, seed, quiet, own_words)
                )
        counted = start + warmup
        await asyncio.gather(
            watch_memory(root_pid, level, stop),
            watch_cpu(root_pid, level, counted, stop),
            *customers,
        )
    level.samples = [s for s in level.samples if s.started >= counted]
    return summarise(level, duration)


# --- the assistants ----------------------------------------------------------------------------


class Running:
    """A started assistant: its URL, the root process and how to stop it."""

    def __init__(self, url: str, pid: int, stop: Callable[[], None], started_seconds: float):
        self.url, self.pid, self.stop, self.started_seconds = url, pid, stop, started_seconds


def start_ours(model: Path, workdir: Path, *, workers: int = 1) -> Running:
    """Our stack as ``make run`` starts it, with ``workers`` Rasa server processes."""
    from bot.stack import Stack

    stack = Stack(workdir, model, env={"SANIC_WORKERS": str(workers)})
    stack.setup_database()
    began = time.monotonic()
    stack.start()
    assert stack.process is not None
    return Running(stack.url, stack.process.pid, stack.stop, time.monotonic() - began)


def init_stock(workdir: Path) -> Dict[str, Any]:
    """``rasa init --no-prompt`` (which trains) in ``workdir``; how long it took."""
    began = time.monotonic()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(workdir)],
        check=True,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "RASA_MAX_CACHE_SIZE": "0"},
    )
    seconds = time.monotonic() - began
    model = sorted((workdir / "models").glob("*.tar.gz"))[-1]
    (workdir / "bench-credentials.yml").write_text(
        "rest:\nsocketio:\n  user_message_evt: user_uttered\n  bot_message_evt: bot_uttered\n"
        "  session_persistence: true\n",
        encoding="utf-8",
    )
    return {"init_and_train_seconds": seconds, "model": str(model)}


def start_stock(workdir: Path, model: str) -> Running:
    from bot.serve import wait_until_up
    from bot.stack import free_port

    port = free_port()
    log = open(workdir / "rasa.log", "a")  # noqa: SIM115  (open for the process's life)
    began = time.monotonic()
    process = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--model", model, "--port", str(port), "--enable-api",
         "--credentials", str(workdir / "bench-credentials.yml")],
        cwd=workdir, stdout=log, stderr=log,
    )  # fmt: skip
    wait_until_up(f"http://localhost:{port}/", process, 300)
    # Ready means the model answers: rasa's / answers before the model is loaded.
    import requests

    while True:
        status = requests.get(f"http://localhost:{port}/status", timeout=5)
        if status.status_code in (200, 401, 403):
            break
        time.sleep(0.5)
    started = time.monotonic() - began

    def stop() -> None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    return Running(f"http://localhost:{port}", process.pid, stop, started)


async def warm_up(url: str, scenarios: Sequence[tuple]) -> None:
    """Each text the scenarios send, once, in a new conversation (button payloads are not
    texts a customer types)."""
    import aiohttp

    texts = [t for _, conversation in scenarios for t in conversation if isinstance(t, str)]
    async with aiohttp.ClientSession() as session:
        for text in texts:
            async with session.post(
                f"{url}/webhooks/rest/webhook", json={"sender": uuid.uuid4().hex, "message": text}
            ) as response:
                await response.read()


def measure(
    assistant: str,
    running: Running,
    scenarios: Sequence[tuple],
    levels: Sequence[int],
    channels: Sequence[str],
    duration: float,
    own_words: bool = True,
) -> List[Dict[str, Any]]:
    asyncio.run(warm_up(running.url, scenarios))
    out = []
    for channel in channels:
        for concurrency in levels:
            result = asyncio.run(
                run_level(
                    assistant,
                    channel,
                    running.url,
                    scenarios,
                    concurrency,
                    duration,
                    running.pid,
                    own_words=own_words,
                )
            )
            result["load_average"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps({k: v for k, v in result.items() if k != "error_kinds"}), flush=True)
            out.append(result)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--model", type=Path, default=None, help="default: the newest model")
    parser.add_argument("--levels", default="1,10,50,200")
    parser.add_argument("--channels", default="rest,socketio")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level")
    parser.add_argument(
        "--assistants",
        default="ours,ours-2,stock",
        help="ours (one Rasa process, as `make run`), ours-2 (SANIC_WORKERS=2), stock",
    )
    parser.add_argument("--out", default="load.json", help="file name in benchmarks/results/")
    parser.add_argument(
        "--fixed-texts",
        action="store_true",
        help="send the scenarios' texts as they are written (the load before 2026-12-06), not "
        "in each customer's own words",
    )
    args = parser.parse_args(argv)
    own_words = not args.fixed_texts
    from bot.serve import model_for_tests

    levels = [int(x) for x in args.levels.split(",")]
    channels = args.channels.split(",")
    assistants = args.assistants.split(",")
    model = args.model or model_for_tests()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    results: List[Dict[str, Any]] = []
    startup: Dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        for name, workers in (("ours", 1), ("ours-2", 2)):
            if name not in assistants:
                continue
            if model is None:
                print("no trained model: run `make train` first", file=sys.stderr)
                return 2
            (work / name).mkdir()
            running = start_ours(model.resolve(), work / name, workers=workers)
            startup[f"{name}_start_seconds"] = running.started_seconds
            try:
                results += measure(name, running, OURS, levels, channels, args.duration, own_words)
            finally:
                running.stop()
        if "stock" in assistants:
            (work / "stock").mkdir()
            stock = init_stock(work / "stock")
            startup["stock_init_and_train_seconds"] = stock["init_and_train_seconds"]
            running = start_stock(work / "stock", stock["model"])
            startup["stock_start_seconds"] = running.started_seconds
            try:
                results += measure(
                    "stock", running, STOCK, levels, channels, args.duration, own_words
                )
            finally:
                running.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "description": (
            f"Closed loop: each of N customers sends its next message as soon as the reply came, "
            f"starting a new conversation when one ends; {args.duration:.0f} s per level after 3 s "
            "of warm-up. Latency: REST, the whole reply; socket.io, the first bot message. "
            "*KB answer p95*: messages answered with a knowledge-base article. The load generator "
            "runs on the same 2 cores. Ours: the full stack of `make run` (SQLite, SQL tracker "
            "store, action server, web app), with one Rasa server process (ours) or two (ours-2, "
            "SANIC_WORKERS=2). Stock: `rasa init --no-prompt` (in-memory tracker, "
            "no action server). "
            + (
                "Customers put each question in their own words (opener, case, punctuation, "
                "closing, signature): about half the messages are texts new to the servers."
                if own_words
                else "Fixed texts: the scenarios' dozen texts, repeated (every cache warm)."
            )
        ),
        "own_words": own_words,
        "machine": describe_machine(),
        "model": str(model),
        "startup": startup,
        "levels": results,
    }
    (RESULTS / args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"wrote {RESULTS / args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
