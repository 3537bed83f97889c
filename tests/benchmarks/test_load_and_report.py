"""The load generator's bookkeeping and the report's reading of results (no servers)."""

from __future__ import annotations

from benchmarks import load, report
from benchmarks.datasets import OOS_LABEL


def test_first_button_of_rest_and_socketio_replies() -> None:
    assert load.first_button([{"text": "x"}, {"buttons": [{"payload": "/a"}, {"payload": "/b"}]}])
    assert load.first_button([{"quick_replies": [{"title": "A", "payload": "/a"}]}]) == "/a"
    assert load.first_button([{"text": "no buttons"}]) is None


def test_kb_answer_is_recognised_by_its_payload() -> None:
    assert load.has_kb_answer([{"text": "x"}, {"custom": {"kb_answer": {"article_id": "a"}}}])
    assert not load.has_kb_answer([{"custom": {"kb_suggestions": []}}, {"custom": "text"}])


def test_summarise_a_level() -> None:
    level = load.Level("ours", "rest", 2)
    level.samples = [load.Sample(0, s / 1000, True, kb_answer=s > 50) for s in range(10, 110, 10)]
    level.samples.append(load.Sample(0, 60, False, error="timeout"))
    level.peak_rss_mb = {"rasa server": 700.0}
    summary = load.summarise(level, window=5.0)
    assert summary["requests"] == 11 and summary["errors"] == 1
    assert summary["error_kinds"] == {"timeout": 1}
    assert summary["throughput"] == 2.0  # 10 answered in 5 s
    assert round(summary["ms_p50"]) == 50 and round(summary["ms_p95"]) == 100
    assert summary["kb_answers"] == 5 and round(summary["kb_answer_ms_p95"]) == 100


def test_scenarios_pick_deterministically() -> None:
    import random

    picks = [load.pick(load.OURS, random.Random(1)) for _ in range(2)]
    assert picks[0] == picks[1]
    assert all(turns for _, turns in load.OURS + load.STOCK)


def test_customers_phrase_questions_in_their_own_words() -> None:
    import random

    rng = random.Random(7)
    question = "How many days do I have to return something?"
    texts = [load.phrase(question, rng) for _ in range(2000)]
    # nearly every message is new to the servers (and so to their caches)
    assert len(set(texts)) > 0.9 * len(texts)
    assert all("how many days do i have to return something" in t.lower() for t in texts)
    # payloads, slot values and one-word topics go as they are
    for turn in ("/affirm", "AM-100482", "ieva.kazlauskiene@example.com", "refund"):
        assert load.phrase(turn, rng) == turn
    # --fixed-texts: the scenario's text as written
    assert load.say(question, rng, own_words=False) == question


def test_summary_counts_the_share_of_new_texts() -> None:
    level = load.Level("ours", "rest", 1)
    level.samples = [load.Sample(0, 0.01, True, text=t) for t in ("a b", "a b", "c d", "e f")]
    assert load.summarise(level, window=1.0)["new_text_share"] == 0.75


def test_report_reads_old_and_new_prediction_layouts() -> None:
    row = {"label": "a", "top": "a", "intent": "a", "confidence": 0.9, "seconds": 0.01}
    assert report.predictions_by_split({"mode": "test", "predictions": [row]}) == {"test": [row]}
    assert report.predictions_by_split({"predictions": {"validation": [row]}}) == {
        "validation": [row]
    }


def test_clinc_summary_chooses_on_validation_and_reports_test() -> None:
    def rows(confidence_of_oos: float):
        return [
            {"label": "a", "top": "a", "intent": "a", "confidence": 0.9, "seconds": 0.01},
            {"label": "b", "top": "b", "intent": "b", "confidence": 0.8, "seconds": 0.01},
            {
                "label": OOS_LABEL,
                "top": "a",
                "intent": "a",
                "confidence": confidence_of_oos,
                "seconds": 0.01,
            },
        ]

    result = {
        "name": "ours",
        "train_seconds": 1.0,
        "model_bytes": 10,
        "predictions": {"validation": rows(0.5), "test": rows(0.85)},
    }
    summary = report.clinc_summary(result)
    assert summary["threshold"] == 0.51
    assert summary["validation"]["oos_recall"] == 1.0
    # on test the out-of-scope message is more confident than the threshold: not caught
    assert summary["test"]["oos_recall"] == 0.0 and summary["test"]["in_scope_accuracy"] == 1.0


def test_cpu_seconds_counts_this_process_work() -> None:
    import os
    import time

    from benchmarks.load import cpu_seconds, tree_cpu_seconds

    before = cpu_seconds(os.getpid())
    spent = time.process_time()
    while time.process_time() - spent < 0.3:  # busy: CPU time, not wall time
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.2
    assert cpu_seconds(-1) == 0.0  # a process that is gone counts nothing
    assert tree_cpu_seconds(os.getpid())["load client"] >= 0.3


def test_memory_of_a_kind_of_process_is_all_its_processes_together(tmp_path) -> None:
    """Two Rasa server processes count as one "rasa server" of their summed memory."""
    import asyncio
    import subprocess
    import sys
    import time

    from benchmarks.load import Level, process_tree, watch_memory

    # Two children named like Rasa server processes ("... run"), each holding 40 MB.
    child = tmp_path / "child.py"
    child.write_text("import time\nblock = bytearray(40_000_000)\ntime.sleep(30)\n")
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import subprocess, sys, time\n"
        f"children = [subprocess.Popen([sys.executable, {str(child)!r}, 'run']) for _ in range(2)]\n"
        "time.sleep(30)\n"
    )
    started = subprocess.Popen([sys.executable, str(parent)])
    try:
        level = Level("ours", "rest", 2)
        deadline = time.monotonic() + 20
        while level.peak_rss_mb.get("rasa server", 0) < 80 and time.monotonic() < deadline:
            asyncio.run(watch_memory(started.pid, level, time.monotonic() + 0.5))
        assert len(process_tree(started.pid)) == 3
        assert 80 <= level.peak_rss_mb["rasa server"] < 200  # both 40 MB blocks, not one
    finally:
        for pid in process_tree(started.pid):
            subprocess.run(["kill", str(pid)], check=False)
        started.wait(timeout=10)
