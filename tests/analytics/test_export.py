"""CSV export: RFC 4180 quoting, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from bot.analytics.export import cell, to_csv


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain words", "plain words"),
        ("a=b", "a=b"),
        (None, ""),
        (True, "yes"),
        (-3, -3),
        (0.25, 0.25),
        (["gift wrap", "do you wrap?"], "gift wrap | do you wrap?"),
        (["=1+1", "x"], "'=1+1 | x"),
        ([], ""),
    ],
)
def test_cells(value, written) -> None:
    assert cell(value) == written


def test_quoting_survives_a_round_trip() -> None:
    rows = [["a, b", 'she said "hi"', "two\nlines", "=cmd|' /C calc'!A0", -1, None]]
    text = to_csv(["topic", "quote", "lines", "formula", "number", "empty"], rows)
    assert text.startswith("topic,quote,lines,formula,number,empty\r\n")
    back = list(csv.reader(io.StringIO(text)))
    assert back[1] == ["a, b", 'she said "hi"', "two\nlines", "'=cmd|' /C calc'!A0", "-1", ""]
