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
from typing import Any, Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """One value as a safe CSV cell: None empty, numbers as they are, risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
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
