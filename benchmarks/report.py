"""The benchmark report: ``benchmarks/results/report.md``, ``summary.json`` and PNG charts.

``python -m benchmarks.report`` reads what the runs wrote to ``benchmarks/results/``
(``<dataset>-<name>.json`` from ``benchmarks.nlu``, ``load.json`` from ``benchmarks.load``,
``training.json`` from ``benchmarks.training``), computes the metrics (``benchmarks.metrics``) and
writes the report. A part that was not run is left out, with the command that runs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks import metrics
from benchmarks.datasets import OOS_LABEL
from benchmarks.environment import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"

# Reference points, not measured by this suite (issue 5 and the datasets' papers).
BANKING77_REFERENCES = [
    ("TF-IDF (word + char n-grams) + LinearSVC, scikit-learn (issue 5)", 0.913),
    ("Rasa default pipeline, DIET 100 epochs, 110 min (issue 5)", 0.906),
    ("fine-tuned BERT (Casanueva et al. 2020)", 0.9366),
]
CLINC150_REFERENCES = [
    ("BERT-large + threshold (Larson et al. 2019)", 0.962, 0.523),
    ("BERT-large + oos intent (Larson et al. 2019)", 0.969, 0.403),
]


def load_json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def predictions_by_split(result: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    """Predictions keyed by split (an older result kept one list, of its test split)."""
    predictions = result.get("predictions") or {}
    if isinstance(predictions, list):
        return {"test" if result.get("mode", "test") == "test" else "validation": predictions}
    return predictions


def nlu_summary(result: Dict[str, Any]) -> Dict[str, Any]:
    """One pipeline's BANKING77 figures, per predicted split."""
    return {
        "name": result["name"],
        "train_examples": result["train_examples"],
        "train_seconds": result["train_seconds"],
        "model_bytes": result["model_bytes"],
        "machine": result.get("machine", {}),
        "splits": {
            split: metrics.classification_summary(rows)
            for split, rows in predictions_by_split(result).items()
        },
    }


def clinc_summary(result: Dict[str, Any]) -> Dict[str, Any]:
    """Threshold chosen on validation; scores on validation and, once, on test."""
    splits = predictions_by_split(result)
    validation = splits["validation"]
    chosen = metrics.choose_threshold(validation)
    summary: Dict[str, Any] = {
        "name": result["name"],
        "train_seconds": result["train_seconds"],
        "model_bytes": result["model_bytes"],
        "machine": result.get("machine", {}),
        "threshold": chosen["threshold"],
        "rule": "highest out-of-scope recall with validation in-scope accuracy >= 95%",
        "validation": chosen,
        "validation_intent_only": metrics.scope_scores(validation, 0.0),
        "curves": {name: metrics.scope_curve(rows) for name, rows in splits.items()},
    }
    if "test" in splits:
        summary["test"] = metrics.scope_scores(splits["test"], chosen["threshold"])
        summary["test_intent_only"] = metrics.scope_scores(splits["test"], 0.0)
        in_scope = [r for r in splits["test"] if r["label"] != OOS_LABEL]
        summary["test_parse"] = metrics.classification_summary(in_scope)
    return summary


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def megabytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def banking77_section(runs: List[Dict[str, Any]]) -> List[str]:
    lines = [
        "## BANKING77 (intent accuracy)",
        "",
        "Trained on the whole training split (10,003), tested once on the test split (3,080). "
        "Accuracy and macro-F1 of the classifier's top intent; *answered* is the share the "
        "pipeline's FallbackClassifier lets through, and *answered acc.* the accuracy among those. "
        "Parse time: one message at a time through the loaded model (`Agent.parse_message`).",
        "",
        "| pipeline | accuracy | macro-F1 | answered | answered acc. | training | model | "
        "parse p50 / p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        for split, s in run["splits"].items():
            label = run["name"] + ("" if split == "test" else f" ({split} slice)")
            lines.append(
                f"| {label} | {pct(s['accuracy'])} | {pct(s['macro_f1'])} | "
                f"{pct(s['answered'])} | {pct(s['answered_accuracy'])} | "
                f"{run['train_seconds'] / 60:.1f} min ({run['train_examples']} ex.) | "
                f"{megabytes(run['model_bytes'])} | "
                f"{s['parse_ms_p50']:.0f} / {s['parse_ms_p95']:.0f} ms |"
            )
    lines += ["", "Reference points (not measured in this run):", ""]
    lines += [f"- {name}: {pct(value)}" for name, value in BANKING77_REFERENCES]
    return [*lines, ""]


def clinc_section(run: Dict[str, Any], title: str, chart: str) -> List[str]:
    lines = [
        f"## {title}",
        "",
        "Trained on `train` + `oos_train` (an `out_of_scope` intent). A message is not answered "
        "when the classifier says `out_of_scope` or its confidence is under the threshold. "
        f"Threshold chosen on validation ({run['rule']}): **{run['threshold']:.2f}**.",
        "",
        "| split | setting | in-scope accuracy | out-of-scope recall | out-of-scope precision |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows = [
        ("validation", "chosen threshold", run["validation"]),
        ("validation", "oos intent only", run["validation_intent_only"]),
    ]
    if "test" in run:
        rows += [
            ("**test**", "**chosen threshold**", run["test"]),
            ("test", "oos intent only", run["test_intent_only"]),
        ]
    for split, setting, s in rows:
        lines.append(
            f"| {split} | {setting} | {pct(s['in_scope_accuracy'])} | {pct(s['oos_recall'])} | "
            f"{pct(s['oos_precision'])} |"
        )
    if "test_parse" in run:
        lines += [
            "",
            f"Training {run['train_seconds'] / 60:.1f} min, model {megabytes(run['model_bytes'])}, "
            f"parse p50 {run['test_parse']['parse_ms_p50']:.0f} ms.",
        ]
    lines += ["", "Reference points (in-scope accuracy / out-of-scope recall):", ""]
    lines += [f"- {name}: {pct(a)} / {pct(r)}" for name, a, r in CLINC150_REFERENCES]
    lines += ["", f"![precision/recall]({chart})", ""]
    return lines


def load_section(load: Dict[str, Any]) -> List[str]:
    lines = [
        "## Load (simulated customers)",
        "",
        load.get("description", ""),
        "",
        "| assistant | channel | concurrent | messages/s | p50 | p95 | p99 | KB answer p95 "
        "| errors | peak memory (MB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in load.get("levels", []):
        memory = ", ".join(f"{k} {v:.0f}" for k, v in level.get("peak_rss_mb", {}).items())
        kb = level.get("kb_answer_ms_p95")
        lines.append(
            f"| {level['assistant']} | {level['channel']} | {level['concurrency']} | "
            f"{level['throughput']:.1f} | {level['ms_p50']:.0f} | {level['ms_p95']:.0f} | "
            f"{level['ms_p99']:.0f} | {'' if kb is None else f'{kb:.0f}'} | "
            f"{level['errors']} / {level['requests']} | {memory} |"
        )
    lines += ["", "![latency](load-latency.png) ![throughput](load-throughput.png)", ""]
    return lines


def training_section(training: Dict[str, Any]) -> List[str]:
    lines = ["## Training and start-up (the demo assistant)", "", "| what | value |"]
    lines.append("| --- | --- |")
    for item in training.get("items", []):
        lines.append(f"| {item['what']} | {item['value']} |")
    return [*lines, ""]


def clinc_chart(clinc: Dict[str, Any], filename: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for split, curve in clinc["curves"].items():
        ax.plot([c["oos_recall"] for c in curve], [c["oos_precision"] for c in curve], label=split)
    for split in ("validation", "test"):
        if split in clinc:
            point = clinc[split]
            ax.scatter([point["oos_recall"]], [point["oos_precision"]], zorder=3)
            ax.annotate(
                f"{split}: t={clinc['threshold']:.2f}",
                (point["oos_recall"], point["oos_precision"]),
            )
    ax.set_xlabel("out-of-scope recall")
    ax.set_ylabel("out-of-scope precision")
    ax.set_title("CLINC150: not answering, by threshold")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(RESULTS / filename, dpi=120)
    plt.close(fig)


def charts(banking: List[Dict[str, Any]], clinc: Optional[Dict[str, Any]], load: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if banking:
        names = [r["name"] for r in banking if "test" in r["splits"]]
        values = [100 * r["splits"]["test"]["accuracy"] for r in banking if "test" in r["splits"]]
        if names:
            fig, ax = plt.subplots(figsize=(6, 3))
            refs = [(n.split(",")[0].split(" (")[0], 100 * v) for n, v in BANKING77_REFERENCES]
            ax.barh(names + [n for n, _ in refs], values + [v for _, v in refs],
                    color=["#7a3e00"] * len(names) + ["#bbbbbb"] * len(refs))  # fmt: skip
            ax.set_xlim(80, 100)
            ax.set_xlabel("BANKING77 test accuracy (%)")
            fig.tight_layout()
            fig.savefig(RESULTS / "banking77-accuracy.png", dpi=120)
            plt.close(fig)
    if clinc:
        clinc_chart(clinc, "clinc150-oos-curve.png")
    if load and load.get("levels"):
        series: Dict[str, List[Dict[str, Any]]] = {}
        for level in load["levels"]:
            series.setdefault(f"{level['assistant']} {level['channel']}", []).append(level)
        for key, ylabel, filename in (
            ("ms_p95", "p95 latency (ms)", "load-latency.png"),
            ("throughput", "messages per second", "load-throughput.png"),
        ):
            fig, ax = plt.subplots(figsize=(5, 3.5))
            for name, levels in series.items():
                ax.plot([lv["concurrency"] for lv in levels], [lv[key] for lv in levels],
                        marker="o", label=name)  # fmt: skip
            ax.set_xscale("log")
            ax.set_xlabel("concurrent conversations")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(RESULTS / filename, dpi=120)
            plt.close(fig)


def build() -> Dict[str, Any]:
    banking = []
    for name in ("ours", "rasa-default"):
        for suffix in ("", "-validation"):
            result = load_json(RESULTS / f"banking77-{name}{suffix}.json")
            if result:
                banking.append(nlu_summary(result))
    clinc_result = load_json(RESULTS / "clinc150-ours.json")
    clinc = clinc_summary(clinc_result) if clinc_result else None
    plus_result = load_json(RESULTS / "clinc150-oos-plus-ours.json")
    plus = clinc_summary(plus_result) if plus_result else None
    load = load_json(RESULTS / "load.json")
    training = load_json(RESULTS / "training.json")
    machine = describe_machine()
    lines = [
        "# Benchmark report",
        "",
        f"Written {machine['date']} on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gb']} GB; Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
        + f"; commit {machine['commit']}. Each part below says when it ran and the load average "
        "then (the machine is shared).",
        "",
    ]
    if banking:
        lines += banking77_section(banking)
        runs = [
            f"{r['name']} {r['machine'].get('date', '?')} "
            f"(load average {r['machine'].get('load_average')})"
            for r in banking
        ]
        lines += ["Runs: " + "; ".join(runs), "", "![accuracy](banking77-accuracy.png)", ""]
    else:
        lines += ["## BANKING77", "", "Not run: `make bench-nlu`.", ""]
    if clinc:
        lines += clinc_section(
            clinc, "CLINC150 (in scope and out of scope)", "clinc150-oos-curve.png"
        )
    if plus:
        lines += clinc_section(
            plus,
            "CLINC150, OOS+ setting (250 out-of-scope training examples, data_oos_plus.json)",
            "clinc150-oos-plus-oos-curve.png",
        )
    if not clinc:
        lines += ["## CLINC150", "", "Not run: `make bench-nlu`.", ""]
    lines += load_section(load) if load else ["## Load", "", "Not run: `make bench-load`.", ""]
    if training:
        lines += training_section(training)
    else:
        lines += ["## Training and start-up", "", "Not run: `make bench-train`.", ""]
    charts(banking, clinc, load)
    if plus:
        clinc_chart(plus, "clinc150-oos-plus-oos-curve.png")
    summary = {
        "machine": machine,
        "banking77": [{k: v for k, v in r.items()} for r in banking],
        "clinc150": {k: v for k, v in clinc.items() if k != "curves"} if clinc else None,
        "clinc150_oos_plus": {k: v for k, v in plus.items() if k != "curves"} if plus else None,
        "load": load,
        "training": training,
    }
    (RESULTS / "report.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    build()
    print(f"wrote {RESULTS / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
