"""Knowledge-base lint: each problem found, with a clear message; the shipped content is clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.lint import lint_dir, lint_sources
from bot.kb.sources import ArticleSource


def article(
    article_id: str,
    body: str = "An answer.",
    questions=("q one", "q two", "q three", "q four", "q five"),
    **kw,
) -> ArticleSource:
    return ArticleSource(
        article_id=article_id,
        language=kw.pop("language", "en"),
        title=kw.pop("title", article_id),
        body=body,
        questions=tuple(questions),
        **kw,
    )


def messages(problems):
    return [(p.level, p.message) for p in problems]


def test_shipped_knowledge_base_has_no_errors(kb_dir: Path) -> None:
    errors = [p for p in lint_dir(kb_dir) if p.level == "error"]
    assert errors == []


@pytest.mark.parametrize(
    "sources, level, fragment",
    [
        ([article("a", body="")], "error", "answer is empty"),
        (
            [article("a"), article("b", questions=("x1", "x2", "x3", "x4", "x5"))],
            "error",
            "same answer as a",
        ),
        (
            [
                article("a", questions=("where", "q2", "q3", "q4", "q5")),
                article("b", body="Other.", questions=("Where?", "z2", "z3", "z4", "z5")),
            ],
            "error",
            "also a question of a",
        ),
        ([article("a", body="See <b>this</b>.")], "error", "contains HTML"),
        ([article("a", body="[click](javascript:alert(1))")], "error", "unsafe link"),
        ([article("a", body="[x](/relative)")], "error", "broken or unsafe link"),
        ([article("a", questions=("only one",))], "warning", "only 1 question"),
        ([article("a", title="t" * 120)], "warning", "longer than 80"),
        (
            [
                article(
                    "a", questions=("how long does delivery to riga take", "q2", "q3", "q4", "q5")
                ),
                article(
                    "b",
                    body="Other.",
                    questions=("how long does delivery to riga take?!", "z2", "z3", "z4", "z5"),
                ),
            ],
            "error",
            "also a question of a",
        ),
        (
            [
                article(
                    "a",
                    questions=("how long does the delivery to riga take", "q2", "q3", "q4", "q5"),
                ),
                article(
                    "b",
                    body="Other.",
                    questions=("how long does delivery to riga take", "z2", "z3", "z4", "z5"),
                ),
            ],
            "warning",
            "nearly the same",
        ),
    ],
)
def test_problem_is_reported(sources, level: str, fragment: str) -> None:
    found = messages(lint_sources(sources))
    assert any(lvl == level and fragment in msg for lvl, msg in found), found


def test_missing_language_is_a_warning() -> None:
    found = messages(lint_sources([article("a")], required_languages=("en", "lt")))
    assert ("warning", "missing in lt") in found


def test_safe_links_pass() -> None:
    body = "[returns](https://amberline.example/returns), [mail](mailto:a@b.lt), [call](tel:+370 5 200 0100)"
    assert lint_sources([article("a", body=body)]) == []
