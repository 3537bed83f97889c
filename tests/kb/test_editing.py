"""The editor's work on articles: drafts beside what is published, publishing, rolling back,
conflicts, validation, the diff, ratings and the list's filters."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import ArticleInvalid, ArticleNotFound, VersionConflict
from bot.kb import editing, history, repository, training
from bot.kb.models import ArticleRating


def text(**changes: Any) -> editing.Content:
    fields = dict(
        title="Gift cards",
        body="Valid **12 months**.",
        questions=["do gift cards expire", "gift card validity"],
        tags=["Ordering"],
    )
    fields.update(changes)
    return editing.content(**fields)


@pytest.fixture
def published(session) -> None:
    """gift-cards, version 1, published (as an import leaves it)."""
    repository.save_article(
        session,
        article_id="gift-cards",
        language="en",
        author="import",
        **text().snapshot("published"),
    )


def draft(session, base: int, **changes: Any):
    return editing.save_draft(
        session,
        article_id="gift-cards",
        language="en",
        content=text(**changes),
        author="edita",
        base_version=base,
    )


def test_a_draft_leaves_what_customers_get(session, published) -> None:
    saved = draft(session, 1, body="Valid **24 months**.")
    assert (saved.version, saved.status, saved.author) == (2, "draft", "edita")
    assert saved.changes == ["body", "status"]
    article = repository.get_article(session, "gift-cards", "en")
    assert article.version == 1 and article.body == "Valid **12 months**."
    assert [a.body for a in repository.published_articles(session, "en")] == [
        "Valid **12 months**."
    ]
    assert history.state_of(article, editing.head_of(article)) == "changed"


def test_publishing_the_draft_makes_it_what_customers_get(session, published) -> None:
    draft(session, 1, body="Valid **24 months**.", questions=["gift card expiry"])
    done = editing.publish(
        session, article_id="gift-cards", language="en", author="ben", base_version=2
    )
    assert (done.version, done.status, done.author, done.changes) == (
        3,
        "published",
        "ben",
        ["status"],
    )
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.version, article.body, article.updated_by) == (3, "Valid **24 months**.", "ben")
    assert article.question_texts == ["gift card expiry"]
    # Publishing again changes nothing.
    again = editing.publish(
        session, article_id="gift-cards", language="en", author="ben", base_version=3
    )
    assert again.version == 3


def test_same_text_saves_nothing(session, published) -> None:
    assert draft(session, 1).version == 1


def test_a_new_article_is_a_draft_nobody_sees(session) -> None:
    article = editing.create(
        session,
        article_id="gift-wrap",
        language="en",
        content=text(title="Gift wrap"),
        author="edita",
    )
    assert (article.version, article.status) == (1, "draft")
    assert repository.published_articles(session, "en") == []
    with pytest.raises(ArticleInvalid, match="exists already"):
        editing.create(session, article_id="gift-wrap", language="en", content=text(), author="x")
    with pytest.raises(ArticleInvalid, match="lower-case") as error:
        editing.create(session, article_id="Gift Wrap!", language="en", content=text(), author="x")
    assert error.value.field == "article_id"


def test_a_draft_of_an_unpublished_article_updates_it(session) -> None:
    editing.create(session, article_id="gift-cards", language="en", content=text(), author="edita")
    draft(session, 1, body="Changed.")
    article = repository.get_article(session, "gift-cards", "en")
    assert (article.version, article.body, article.status) == (2, "Changed.", "draft")


def test_second_save_from_the_same_version_is_refused(session, published) -> None:
    draft(session, 1, body="Ona's text.")
    with pytest.raises(VersionConflict) as error:
        draft(session, 1, body="Ben's text.")
    assert (error.value.actual, error.value.author) == (2, "edita")
    assert error.value.saved_at is not None
    assert (
        editing.head_of(repository.get_article(session, "gift-cards", "en")).body == "Ona's text."
    )
    with pytest.raises(VersionConflict):
        editing.publish(session, article_id="gift-cards", language="en", author="b", base_version=1)


def test_roll_back_publishes_an_earlier_version_as_a_new_one(session, published) -> None:
    editing.publish(
        session, article_id="gift-cards", language="en", author="edita", base_version=1,
        content=text(body="Wrong!"),
    )  # fmt: skip
    back = editing.roll_back(
        session, article_id="gift-cards", language="en", to_version=1, author="ben", base_version=2
    )
    assert (back.version, back.status, back.note) == (3, "published", "rolled back to version 1")
    assert repository.get_article(session, "gift-cards", "en").body == "Valid **12 months**."
    assert [v.version for v in repository.article_versions(session, "gift-cards", "en")] == [
        1,
        2,
        3,
    ]
    with pytest.raises(ArticleNotFound):
        editing.roll_back(
            session, article_id="gift-cards", language="en", to_version=9, author="b",
            base_version=3,
        )  # fmt: skip


def test_roll_back_as_a_draft(session, published) -> None:
    draft(session, 1, body="Draft.")
    back = editing.roll_back(
        session, article_id="gift-cards", language="en", to_version=1, author="b",
        base_version=2, published=False,
    )  # fmt: skip
    assert back.status == "draft" and back.body == "Valid **12 months**."


def test_an_import_after_a_draft_numbers_after_it(session, published) -> None:
    draft(session, 1, body="Draft.")
    article = repository.revise_article(
        session, "gift-cards", "en", author="import", body="From the file."
    )
    assert article.version == 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "   "}, "title", "the title is empty"),
        ({"body": " \n "}, "body", "the answer is empty"),
        ({"title": "x" * 201}, "title", "longer than 200"),
        ({"body": "x" * 20_001}, "body", "longer than 20,000"),
        ({"questions": ["refund", "gift", "Gift  "]}, "questions", "variant 3 repeats variant 2"),
        ({"questions": ["q" * 501]}, "questions", "variant 1 is longer than 500"),
        ({"questions": [f"q{i}" for i in range(201)]}, "questions", "at most 200"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags", "at most 20 tags"),
        ({"audience": "everyone"}, "audience", "public, internal"),
        ({"title": "bad \ud800 text"}, "title", "not valid text"),
    ],
)
def test_invalid_text_says_which_field_and_why(changes, field, message) -> None:
    with pytest.raises(ArticleInvalid, match=message) as error:
        text(**changes)
    assert error.value.field == field


def test_text_is_normalised() -> None:
    content = text(
        title="  Gift\n cards ",
        body="\x00<b>Hi</b>\n",
        questions=["", " a  b ", "\t"],
        tags=["Ordering", "ordering", " "],
    )
    assert content.title == "Gift cards"
    assert content.body == "<b>Hi</b>"  # stored as text, escaped where shown
    assert content.questions == ("a b",)
    assert content.tags == ("ordering",)


def test_diff_says_what_changed(session, published) -> None:
    draft(session, 1, body="Valid **24 months**.\nAsk us.", questions=["gift card validity", "new"])
    article = repository.get_article(session, "gift-cards", "en")
    result = history.diff(editing.version_of(article, 1), editing.version_of(article, 2))
    changes = result["changes"]
    assert set(changes) == {"body", "questions", "status"}
    assert [line["op"] for line in changes["body"]] == ["@", "-", "+", "+"]
    assert changes["body"][2] == {"op": "+", "text": "Valid **24 months**."}
    assert changes["questions"] == {
        "added": ["new"],
        "removed": ["do gift cards expire"],
        "reordered": False,
    }
    assert changes["status"] == {"before": "published", "after": "draft"}


def test_ratings_and_filters(session, published) -> None:
    editing.create(
        session,
        article_id="gift-wrap",
        language="en",
        content=text(title="Wrap", tags=["extras"], questions=["wrapping paper"]),
        author="e",
    )
    for helpful in (True, False, False):
        session.add(
            ArticleRating(
                conversation_id="c", article_id="gift-cards", language="en", version=1,
                helpful=helpful,
            )
        )  # fmt: skip
    session.flush()
    stars = history.ratings(session)[("gift-cards", "en")]
    assert (stars.helpful, stars.unhelpful, stars.share) == (1, 2, 0.333)
    assert history.version_ratings(session, "gift-cards", "en")[1].total == 3

    def ids(**filters: Any):
        return [a.article_id for a, _, _ in history.find(session, **filters)]

    assert ids() == ["gift-cards", "gift-wrap"]
    assert ids(helpfulness="low") == ["gift-cards"]
    assert ids(helpfulness="unrated") == ["gift-wrap"]
    assert ids(helpfulness="high") == []
    assert ids(state="draft") == ["gift-wrap"]
    assert ids(state="published") == ["gift-cards"]
    assert ids(tag="Extras") == ["gift-wrap"]
    assert ids(q="WRAP") == ["gift-wrap"]
    assert ids(q="validity") == ["gift-cards"]  # a question variant
    assert ids(language="lt") == []
    draft(session, 1, body="Draft.")
    assert ids(state="draft") == ["gift-cards", "gift-wrap"]
    assert ids(state="changed") == ["gift-cards"]


def test_what_needs_retraining(tmp_path) -> None:
    path = tmp_path / "kb_questions.yml"
    source = training.nlu_yaml([])
    path.write_text(
        source.replace(
            "nlu: []",
            "nlu:\n- intent: faq/gift-cards\n  examples: |\n    - Gift cards\n    - gift card expiry\n",
        )
    )
    learned = training.trained_examples(path)
    assert learned == {"gift-cards": frozenset({"gift cards", "gift card expiry"})}

    def needs(article_id: str, content, language: str = "en") -> bool:
        return training.needs_retraining(article_id, language, content, learned)

    assert not needs("gift-cards", ("Gift cards", ["Gift card  expiry"]))  # as learned
    assert needs("gift-cards", ("Gift cards", ["gift card expiry", "voucher"]))  # a new variant
    assert needs("gift-cards", ("Vouchers", ["gift card expiry"]))  # the title is an example
    assert needs("gift-wrap", ("Gift wrap", []))  # the model has never seen it
    assert not needs("gift-wrap", None)  # not published: nothing to learn
    assert not needs("gift-wrap", ("Dovanų kortelės", []), language="lt")  # not its language
    assert training.trained_examples(tmp_path / "missing.yml") == {}
