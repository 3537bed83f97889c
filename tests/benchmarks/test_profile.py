"""Reading py-spy's collapsed stacks: busy time only, threads waiting for work left out."""

from __future__ import annotations

from pathlib import Path

from benchmarks.profile import hot_spots, read_collapsed


def test_threads_waiting_for_work_are_not_counted_as_busy(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "run (threading.py:953);_worker (concurrent/futures/thread.py:81) 700\n"
        "main (rasa:8);serve (sanic/server/runners.py:155) 200\n"
        "run (threading.py:953);_worker (concurrent/futures/thread.py:58);"
        "save (rasa/core/tracker_store.py:1200);do_commit (sqlalchemy/engine/default.py:686) 60\n"
        "main (rasa:8);handle (rasa/core/processor.py:157);parse (rasa/nlu.py:10) 40\n"
        "a line that is not a stack\n",
        encoding="utf-8",
    )
    total, inclusive, own = hot_spots(read_collapsed(raw))
    assert total == 100
    assert dict(own) == {
        "do_commit (sqlalchemy/engine/default.py:686)": 60,
        "parse (rasa/nlu.py:10)": 40,
    }
    assert dict(inclusive)["main (rasa:8)"] == 40
    assert "_worker (concurrent/futures/thread.py:81)" not in dict(inclusive)
