"""Tables as CSV that opens safely in a spreadsheet.

Quoting is the ``csv`` module's (RFC 4180: fields with commas, quotes or line breaks are quoted,
quotes doubled). A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be run as a formula by Excel, LibreOffice or Google Sheets (OWASP, "CSV injection"):
it gets a leading apostrophe, which those programs show as text. Numbers are written as numbers
(a negative number is a number, not a formula).
"""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterable, List, Sequence, Tuple

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """One value as a safe CSV cell: None empty, numbers as they are, a list as its items
    joined by " | ", risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = " | ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The header ``columns`` and ``rows`` as CSV text (CRLF line ends, as RFC 4180 says)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


# The report's tables as CSV: name -> its columns (keys of the report's rows, in order).
TABLES: Dict[str, Sequence[str]] = {
    "series": (
        "bucket",
        "conversations",
        "decided",
        "resolved",
        "resolution_rate",
        "with_handoff",
        "handoff_rate",
        "answers",
        "unhelpful",
        "wrong_answer_rate",
        "surveys",
        "csat_mean",
        "csat_satisfied_share",
        "wait_median_seconds",
        "first_response_median_seconds",
    ),
    "handoff_reasons": ("reason", "handoffs", "rate"),
    "articles": (
        "article_id",
        "language",
        "views",
        "helped",
        "did_not_help",
        "helpful_share",
        "conversations",
        "handoffs_after",
        "handoff_after_rate",
    ),
    "unanswered": ("topic", "count", "conversations", "wordings"),
    "summary": ("metric", "value"),
}


def _flat(summary: Dict[str, Any]) -> List[Tuple[str, Any]]:
    rows: List[Tuple[str, Any]] = []
    for key, value in summary.items():
        if isinstance(value, dict):
            rows.extend((f"{key}_{part}", v) for part, v in value.items())
        else:
            rows.append((key, value))
    return rows


def table_csv(report: Dict[str, Any], name: str) -> str:
    """One table of ``report`` (``TABLES``) as CSV; raises KeyError for an unknown name."""
    columns = TABLES[name]
    if name == "summary":
        return to_csv(columns, _flat(report["summary"]))
    return to_csv(columns, ([row.get(c) for c in columns] for row in report[name]))
