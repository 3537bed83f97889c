"""The paired A/B's bookkeeping: settings, the alternating order, the ratios (no servers)."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import paired


def level(throughput: float, kb_p95, rasa_cpu: float) -> dict:
    return {
        "throughput": throughput,
        "ms_p50": 100.0,
        "ms_p95": 200.0,
        "kb_answer_ms_p95": kb_p95,
        "cpu_ms_per_message": {"rasa server": rasa_cpu, "action server": 5.0},
    }


def test_settings_are_key_value_pairs() -> None:
    assert paired.settings(["A=1", "URL=sqlite:///x?a=b"]) == {"A": "1", "URL": "sqlite:///x?a=b"}
    assert paired.settings([]) == {}
    for bad in ("novalue", "=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            paired.settings([bad])


def test_rounds_alternate_which_stack_goes_first() -> None:
    assert [paired.order(r) for r in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]


def test_ratios_are_taken_round_by_round() -> None:
    # the machine slows down by half in the second round: each round's ratio is still 1.2
    a = [level(50.0, 100.0, 10.0), level(25.0, 200.0, 20.0), level(40.0, 150.0, 12.0)]
    b = [level(60.0, 90.0, 8.0), level(30.0, 180.0, 16.0), level(48.0, 135.0, 9.6)]
    comparison = paired.compare(a, b)
    assert comparison["throughput"]["ratio"] == pytest.approx(1.2)
    assert comparison["throughput"]["ratio_low"] == pytest.approx(1.2)
    assert comparison["throughput"]["a"] == 40.0 and comparison["throughput"]["b"] == 48.0
    assert comparison["kb_answer_ms_p95"]["ratio"] == pytest.approx(0.9)
    assert comparison["rasa_cpu_ms"]["ratio"] == pytest.approx(0.8)
    assert comparison["action_cpu_ms"]["rounds"] == 3
    assert any("throughput" in line and "1.200" in line for line in paired.describe(comparison))


def test_a_round_without_a_figure_gives_no_ratio() -> None:
    a = [level(50.0, None, 10.0), level(50.0, 100.0, 10.0)]
    b = [level(60.0, 80.0, 10.0), level(60.0, 120.0, 10.0)]
    comparison = paired.compare(a, b)
    assert comparison["kb_answer_ms_p95"]["rounds"] == 1
    assert comparison["kb_answer_ms_p95"]["ratio"] == pytest.approx(1.2)
    assert paired.compare([], [])["throughput"]["ratio"] is None
    assert paired.describe(paired.compare([], []))[0].endswith("no figures")
