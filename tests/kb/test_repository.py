"""Saving articles: versions with who/when/what, conflicts, validation."""

from __future__ import annotations

import pytest

from bot.errors import ArticleError, ArticleNotFound, VersionConflict
from bot.kb import repository


def save(session, **changes):
    fields = dict(
        article_id="gift-cards",
        language="en",
        title="Gift cards",
        body="Valid 12 months.",
        questions=["do gift cards expire", "gift card validity"],
        tags=["ordering"],
        status="published",
        author="ana",
    )
    fields.update(changes)
    return repository.save_article(session, **fields)


def test_first_save_is_version_one(session) -> None:
    article = save(session)
    assert article.version == 1
    assert article.question_texts == ["do gift cards expire", "gift card validity"]
    (version,) = repository.article_versions(session, "gift-cards", "en")
    assert version.author == "ana" and version.created_at.tzinfo is not None


def test_identical_save_changes_nothing(session) -> None:
    save(session)
    assert save(session, author="ben").version == 1


def test_change_records_what_changed_and_who(session) -> None:
    save(session)
    article = save(session, body="Valid 24 months.", questions=["gift card expiry"], author="ben")
    assert article.version == 2
    assert article.updated_by == "ben"
    assert article.question_texts == ["gift card expiry"]
    latest = repository.article_versions(session, "gift-cards", "en")[-1]
    assert latest.changes == ["body", "questions"]
    assert latest.body == "Valid 24 months."


def test_questions_are_cleaned_and_deduplicated(session) -> None:
    article = save(session, questions=["  gift   card ", "Gift card", "", "x" * 900])
    assert article.question_texts == ["gift card", "x" * 500]


def test_stale_version_is_refused(session) -> None:
    save(session)
    save(session, body="Second editor's text.", expected_version=1)
    with pytest.raises(VersionConflict) as error:
        save(session, body="First editor's text.", expected_version=1)
    assert error.value.actual == 2
    assert repository.get_article(session, "gift-cards", "en").body == "Second editor's text."


@pytest.mark.parametrize(
    "changes", [{"title": "  "}, {"body": ""}, {"status": "live"}, {"audience": "all"}]
)
def test_invalid_values_are_refused(session, changes) -> None:
    with pytest.raises(ArticleError):
        save(session, **changes)


def test_published_articles_excludes_drafts_internal_and_other_languages(session) -> None:
    save(session)
    save(session, article_id="draft", status="draft")
    save(session, article_id="internal", audience="internal")
    save(session, language="lt", title="Dovanų kortelės", body="Galioja 12 mėnesių.")
    assert [a.article_id for a in repository.published_articles(session, "en")] == ["gift-cards"]


def test_missing_article(session) -> None:
    with pytest.raises(ArticleNotFound):
        repository.get_article(session, "nope", "en")


def test_fingerprint_changes_on_every_save(session) -> None:
    before = repository.kb_fingerprint(session)
    save(session)
    middle = repository.kb_fingerprint(session)
    save(session, body="Changed.")
    assert before != middle != repository.kb_fingerprint(session)


def test_rating_is_stored(session) -> None:
    rating = repository.record_rating(
        session,
        conversation_id="c1",
        article_id="gift-cards",
        language="en",
        version=1,
        helpful=False,
    )
    assert rating.pk is not None and rating.helpful is False


def test_revise_changes_only_the_given_fields(session) -> None:
    save(session)
    article = repository.revise_article(session, "gift-cards", "en", author="ben", body="New.")
    assert article.version == 2 and article.body == "New." and article.title == "Gift cards"
    assert article.question_texts == ["do gift cards expire", "gift card validity"]
    assert repository.article_versions(session, "gift-cards", "en")[-1].changes == ["body"]


def test_the_answer_is_read_as_the_article_row_holds_it(session) -> None:
    save(session)
    save(session, language="lt", title="Dovanų kortelės", body="Galioja 12 mėnesių.")
    save(session, article_id="internal", audience="internal", status="draft")
    save(session, body="Valid 24 months.")  # version 2
    article = repository.get_article(session, "gift-cards", "en")
    answer = repository.answer_of(session, "gift-cards", "en")
    assert answer == (article.body, article.version, article.status, article.audience)
    assert answer == ("Valid 24 months.", 2, "published", "public")
    assert repository.answer_of(session, "gift-cards", "lt").body == "Galioja 12 mėnesių."
    assert repository.answer_of(session, "internal", "en")[2:] == ("draft", "internal")
    assert repository.answer_of(session, "nope", "en") is None
    assert repository.answer_of(session, "x' OR '1'='1", "en") is None


def test_titles_are_read_in_one_query_for_the_articles_that_exist(session) -> None:
    save(session)
    save(session, language="lt", title="Dovanų kortelės", body="Galioja 12 mėnesių.")
    save(session, article_id="returns", title="Returns <b>& refunds</b>")
    assert repository.titles_of(session, ["returns", "gift-cards", "nope"], "en") == {
        "returns": "Returns <b>& refunds</b>",
        "gift-cards": "Gift cards",
    }
    assert repository.titles_of(session, ["gift-cards"], "lt") == {"gift-cards": "Dovanų kortelės"}
    assert repository.titles_of(session, [], "en") == {}
    assert repository.titles_of(session, ["x' OR '1'='1"], "en") == {}
