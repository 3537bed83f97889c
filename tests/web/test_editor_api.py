"""The editor's API against the running web app and a real database: roles, the list with its
filters, drafts beside what customers get, publishing, history, diff, roll back, conflicts,
validation, hostile input and "Try it" (here without a Rasa server: retrieval only)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import requests

from bot import db
from bot.kb import repository, sources, training
from bot.kb.models import ArticleRating
from bot.settings import PROJECT_ROOT
from bot.stack import free_port
from tests.web.conftest import Web, serve

ARTICLES = ("gift-cards", "return-policy", "refund-timing")
GIFT = "/api/editor/articles/en/gift-cards"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The web app (no Rasa server) with three demo articles, their files (a copy in
    ``tmp_path/kb``), a model trained on them (its generated NLU file), an editor ``edita``, a
    second editor ``ben`` and an agent ``ona``."""
    kb_dir = tmp_path / "kb"
    (kb_dir / "en").mkdir(parents=True)
    chosen = []
    for article_id in ARTICLES:
        path = kb_dir / "en" / f"{article_id}.md"
        shutil.copyfile(PROJECT_ROOT / "data" / "kb" / "en" / f"{article_id}.md", path)
        chosen.append(path)
    parsed = [sources.parse_article(path) for path in chosen]
    with db.session_scope(db.make_engine(database_url)) as session:
        sources.import_sources(session, parsed)
    trained = tmp_path / "kb_questions.yml"
    trained.write_text(training.nlu_yaml(parsed))
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "no-rasa",
        app_options={"trained_nlu": trained},
        kb_dir=kb_dir,
    )
    running = Web(next(gen), database_url)
    running.add_user("edita", "editor")
    running.add_user("ben", "editor")
    running.add_user("ona", "agent")
    yield running
    gen.close()


def text_of(article: Dict[str, Any], **changes: Any) -> Dict[str, Any]:
    """The editable fields of an article as the API returned it, with ``changes``."""
    fields = {k: article[k] for k in ("title", "body", "questions", "tags", "audience")}
    return {**fields, **changes}


def published_body(web: Web, article_id: str = "gift-cards") -> str:
    """What customers are answered with now."""
    with db.session_scope(db.make_engine(web.database_url)) as session:
        return {a.article_id: a.body for a in repository.published_articles(session, "en")}[
            article_id
        ]


def test_only_editors_and_admins(web) -> None:
    web.add_user("root", "admin")
    for name in ("edita", "root"):
        assert web.client(name).get(f"{web.url}/api/editor/articles").status_code == 200
    ona = web.client("ona")
    assert ona.get(f"{web.url}/api/editor/articles").status_code == 403
    assert ona.post(f"{web.url}/api/editor/try", json={"question": "hi"}).status_code == 403
    assert web.client().get(f"{web.url}{GIFT}").status_code == 401


def test_the_page_and_its_markdown_renderer(web) -> None:
    page = requests.get(f"{web.url}/editor")
    assert page.status_code == 200 and "<title>Editor" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    renderer = requests.get(f"{web.url}/editor/markdown.js")
    assert renderer.headers["content-type"].startswith("text/javascript")
    assert "export function render" in renderer.text
    assert "/api/editor/try" in requests.get(f"{web.url}/api/openapi.json").json()["paths"]


def test_list_search_and_filters(web) -> None:
    with db.session_scope(db.make_engine(web.database_url)) as session:
        for helpful in (False, False, True):
            session.add(
                ArticleRating(
                    conversation_id="c1", article_id="refund-timing", language="en",
                    version=1, helpful=helpful,
                )
            )  # fmt: skip
    edita = web.client("edita")

    def ids(**params: str):
        reply = edita.get(f"{web.url}/api/editor/articles", params=params)
        assert reply.status_code == 200, reply.text
        return [a["article_id"] for a in reply.json()["articles"]]

    assert ids() == ["gift-cards", "refund-timing", "return-policy"]
    assert ids(q="giftcard code") == ["gift-cards"]
    assert ids(q="return item")[0] == "return-policy"  # in its title: first
    assert sorted(ids(q="WITHDRAW")) == ["refund-timing", "return-policy"]  # any case
    assert ids(helpfulness="low") == ["refund-timing"]
    assert ids(helpfulness="unrated") == ["gift-cards", "return-policy"]
    assert ids(language="lt") == []
    assert ids(status="draft") == []
    assert ids(tag="Payments") == ["gift-cards"]
    listed = edita.get(f"{web.url}/api/editor/articles").json()
    assert listed["tags"] == ["ordering", "payments", "refunds", "returns"]
    refund = listed["articles"][1]
    assert refund["ratings"] == {"helpful": 1, "unhelpful": 2, "share": 0.333}
    assert refund["state"] == "published" and refund["needs_retraining"] is False
    for bad in ({"status": "<script>"}, {"helpfulness": "meh"}, {"language": "xx"}):
        assert edita.get(f"{web.url}/api/editor/articles", params=bad).status_code == 422


def test_how_each_article_stands_with_its_file(web, tmp_path: Path) -> None:
    edita = web.client("edita")

    def states(**params: str) -> Dict[str, str]:
        reply = edita.get(f"{web.url}/api/editor/articles", params=params)
        assert reply.status_code == 200, reply.text
        return {a["article_id"]: a["file_state"] for a in reply.json()["articles"]}

    assert states() == {a: "in_git" for a in ARTICLES}
    gift = edita.get(f"{web.url}{GIFT}").json()
    assert gift["file_state"] == "in_git"
    # a draft is not what the file should hold yet: still in git
    draft = text_of(gift, body="A draft.")
    saved = edita.post(f"{web.url}{GIFT}/draft", json={**draft, "base_version": gift["version"]})
    assert saved.json()["file_state"] == "in_git"
    published = edita.post(
        f"{web.url}{GIFT}/publish", json={"base_version": saved.json()["version"]}
    ).json()
    assert published["file_state"] == "not_exported"
    refund = tmp_path / "kb" / "en" / "refund-timing.md"
    refund.write_text(refund.read_text().replace("\n---\n", "\n---\nChanged in git. ", 1))
    return_policy = tmp_path / "kb" / "en" / "return-policy.md"
    return_policy.write_text("---\nid: [\n---\nbroken")
    assert states() == {
        "gift-cards": "not_exported",
        "refund-timing": "file_changed",
        "return-policy": "error",
    }
    assert list(states(file_state="not_exported")) == ["gift-cards"]
    assert list(states(file_state="error")) == ["return-policy"]
    assert states(file_state="conflict") == {}
    for bad in ("<script>", "in git", "x" * 500):
        reply = edita.get(f"{web.url}/api/editor/articles", params={"file_state": bad})
        assert reply.status_code == 422


def test_draft_publish_and_what_customers_get(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    assert article["version"] == 1 and article["published"]["version"] == 1
    assert [v["author"] for v in article["versions"]] == ["import"]
    before = published_body(web)

    saved = edita.post(
        f"{web.url}{GIFT}/draft",
        json={
            **text_of(article, body="Gift cards are valid for **24 months**."),
            "base_version": 1,
        },
    )
    assert saved.status_code == 200, saved.text
    draft = saved.json()
    assert (draft["version"], draft["state"], draft["head_status"]) == (2, "changed", "draft")
    assert draft["versions"][0]["author"] == "edita" and draft["versions"][0]["changes"] == [
        "body",
        "status",
    ]
    assert draft["published"]["version"] == 1 and draft["published"]["body"] == before
    assert published_body(web) == before  # customers keep the published answer
    assert draft["publishing_needs_retraining"] is False  # an answer needs no retraining

    done = edita.post(f"{web.url}{GIFT}/publish", json={"base_version": 2}).json()
    assert (done["version"], done["state"], done["live_version"]) == (3, "published", 3)
    assert published_body(web) == "Gift cards are valid for **24 months**."
    assert done["needs_retraining"] is False
    assert [v["status"] for v in done["versions"]] == ["published", "draft", "published"]


def test_new_question_variants_need_retraining(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    variants = [*article["questions"], "voucher still good after a year?"]
    draft = edita.post(
        f"{web.url}{GIFT}/draft", json={**text_of(article, questions=variants), "base_version": 1}
    ).json()
    assert draft["needs_retraining"] is False  # customers still get the learned version
    assert draft["publishing_needs_retraining"] is True
    done = edita.post(f"{web.url}{GIFT}/publish", json={"base_version": 2}).json()
    assert done["needs_retraining"] is True
    listed = edita.get(f"{web.url}/api/editor/articles", params={"q": "voucher still good"})
    assert [a["needs_retraining"] for a in listed.json()["articles"]] == [True]


def test_publish_with_text_in_one_step(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    done = edita.post(
        f"{web.url}{GIFT}/publish",
        json={"base_version": 1, "article": text_of(article, body="New answer."), "note": "typo"},
    ).json()
    assert done["version"] == 2 and done["versions"][0]["note"] == "typo"
    assert published_body(web) == "New answer."


def test_second_save_from_the_same_version_is_told_and_nothing_is_overwritten(web) -> None:
    edita, ben = web.client("edita"), web.client("ben")
    article = edita.get(f"{web.url}{GIFT}").json()
    first = edita.post(
        f"{web.url}{GIFT}/draft", json={**text_of(article, body="Edita's."), "base_version": 1}
    )
    assert first.status_code == 200
    second = ben.post(
        f"{web.url}{GIFT}/draft", json={**text_of(article, body="Ben's."), "base_version": 1}
    )
    assert second.status_code == 409
    answer = second.json()
    assert answer["conflict"]["author"] == "edita" and answer["conflict"]["version"] == 2
    assert answer["conflict"]["saved_at"]
    assert "edita saved version 2" in answer["detail"] and "nothing was saved" in answer["detail"]
    head = ben.get(f"{web.url}{GIFT}").json()
    assert head["body"] == "Edita's." and len(head["versions"]) == 2
    # Publishing or rolling back from the stale version is refused too.
    assert ben.post(f"{web.url}{GIFT}/publish", json={"base_version": 1}).status_code == 409
    stale = ben.post(f"{web.url}{GIFT}/rollback", json={"to_version": 1, "base_version": 1})
    assert stale.status_code == 409
    assert len(ben.get(f"{web.url}{GIFT}").json()["versions"]) == 2


def test_two_saves_at_once_exactly_one_wins(web) -> None:
    clients = [web.client("edita"), web.client("ben")]
    article = clients[0].get(f"{web.url}{GIFT}").json()
    barrier = threading.Barrier(2)
    codes = []

    def save(http: requests.Session, body: str) -> None:
        barrier.wait()
        reply = http.post(
            f"{web.url}{GIFT}/draft", json={**text_of(article, body=body), "base_version": 1}
        )
        codes.append(reply.status_code)

    threads = [threading.Thread(target=save, args=(c, f"Text {i}.")) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    assert len(clients[0].get(f"{web.url}{GIFT}").json()["versions"]) == 2


def test_diff_between_versions(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    edita.post(
        f"{web.url}{GIFT}/draft",
        json={
            **text_of(article, body=article["body"] + "\n\nAsk us <script>x</script>.",
                      questions=article["questions"][1:]),
            "base_version": 1,
        },
    )  # fmt: skip
    diff = edita.get(f"{web.url}{GIFT}/diff").json()  # the newest against the one before
    assert (diff["from"], diff["to"]) == (1, 2)
    assert {"op": "+", "text": "Ask us <script>x</script>."} in diff["changes"]["body"]
    assert diff["changes"]["questions"]["removed"] == article["questions"][:1]
    same = edita.get(f"{web.url}{GIFT}/diff", params={"from": 2, "to": 2}).json()
    assert same["changes"] == {}
    assert edita.get(f"{web.url}{GIFT}/diff", params={"from": 9}).status_code == 404
    assert edita.get(f"{web.url}{GIFT}/diff", params={"from": "x"}).status_code == 422
    one = edita.get(f"{web.url}{GIFT}/versions/1").json()
    assert one["body"] == article["body"] and one["author"] == "import"
    assert edita.get(f"{web.url}{GIFT}/versions/7").status_code == 404


def test_roll_back_to_any_version(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    original = article["body"]
    edita.post(
        f"{web.url}{GIFT}/publish",
        json={"base_version": 1, "article": text_of(article, body="A bad answer.")},
    )
    assert published_body(web) == "A bad answer."
    back = edita.post(f"{web.url}{GIFT}/rollback", json={"to_version": 1, "base_version": 2})
    assert back.status_code == 200, back.text
    rolled = back.json()
    assert (rolled["version"], rolled["state"], rolled["body"]) == (3, "published", original)
    assert rolled["versions"][0]["note"] == "rolled back to version 1"
    assert published_body(web) == original
    # As a draft: customers keep version 3.
    draft = edita.post(
        f"{web.url}{GIFT}/rollback", json={"to_version": 2, "base_version": 3, "publish": False}
    ).json()
    assert (draft["version"], draft["state"]) == (4, "changed")
    assert published_body(web) == original
    missing = edita.post(f"{web.url}{GIFT}/rollback", json={"to_version": 99, "base_version": 4})
    assert missing.status_code == 404


def test_new_article(web) -> None:
    edita = web.client("edita")
    new = {
        "article_id": "gift-wrap",
        "language": "en",
        "title": "Gift wrapping",
        "body": "We wrap gifts for **€3**.",
        "questions": ["can you wrap my gift", "gift wrapping price"],
        "tags": ["Ordering"],
    }
    created = edita.post(f"{web.url}/api/editor/articles", json=new)
    assert created.status_code == 201, created.text
    article = created.json()
    assert (article["version"], article["state"], article["tags"]) == (1, "draft", ["ordering"])
    assert article["publishing_needs_retraining"] is True  # the model has never seen it
    again = edita.post(f"{web.url}/api/editor/articles", json=new)
    assert again.status_code == 422 and "exists already" in again.json()["detail"]
    bad = edita.post(f"{web.url}/api/editor/articles", json={**new, "article_id": "Gift Wrap"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "article_id"
    done = edita.post(
        f"{web.url}/api/editor/articles/en/gift-wrap/publish", json={"base_version": 1}
    )
    assert done.json()["state"] == "published" and done.json()["needs_retraining"] is True


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"title": "  "}, "title", "the title is empty"),
        ({"body": ""}, "body", "the answer is empty"),
        ({"questions": ["refund", "Refund "]}, "questions", "variant 2 repeats variant 1"),
        ({"title": "x" * 300}, "title", "longer than 200 characters"),
        ({"body": "x" * 30_000}, "body", "longer than 20,000 characters"),
        ({"audience": "everybody"}, "audience", "public, internal"),
        ({"questions": "not a list"}, "questions", "list"),
        ({"body": "x" * 200_000}, "body", "at most 100000 characters"),
        ({"base_version": -1}, "base_version", "greater than or equal"),
        ({"base_version": None}, "base_version", "none is not an allowed value"),
    ],
)
def test_invalid_drafts_get_a_clear_422(web, changes, field, words) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    reply = edita.post(
        f"{web.url}{GIFT}/draft", json={**text_of(article), "base_version": 1, **changes}
    )
    assert reply.status_code == 422, reply.text
    problems = reply.json()["problems"]
    assert problems[0]["field"] == field and words in problems[0]["problem"], problems
    assert len(edita.get(f"{web.url}{GIFT}").json()["versions"]) == 1


def test_bad_requests_are_4xx(web) -> None:
    edita = web.client("edita")
    broken = edita.post(
        f"{web.url}{GIFT}/draft", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert edita.post(f"{web.url}{GIFT}/draft", json=["a"]).status_code == 422
    assert edita.get(f"{web.url}/api/editor/articles/en/no-such-article").status_code == 404
    assert edita.get(f"{web.url}/api/editor/articles/xx/gift-cards").status_code == 422
    assert edita.get(f"{web.url}/api/editor/articles/en/Gift%20Cards").status_code == 422
    assert edita.get(f"{web.url}/api/editor/articles/en/{'a' * 200}").status_code == 422
    assert edita.get(f"{web.url}/api/editor/articles?q={'x' * 300}").status_code == 422


def test_hostile_text_is_stored_as_text(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    hostile = {
        "title": "<img src=x onerror=alert(1)>",
        "body": "<script>alert('x')</script> [click](javascript:alert(1)) \x00 done",
        "questions": ["'; DROP TABLE kb_articles; --", "{{7*7}} ${7*7}"],
        "tags": ["<b>tag</b>"],
    }
    saved = edita.post(
        f"{web.url}{GIFT}/draft",
        json={**text_of(article, **hostile), "base_version": 1, "note": "<i>\x00why</i>"},
    )
    assert saved.status_code == 200, saved.text
    head = saved.json()
    assert head["versions"][0]["note"] == "<i>why</i>"
    assert head["title"] == hostile["title"]
    assert head["body"] == "<script>alert('x')</script> [click](javascript:alert(1))  done"
    assert head["questions"] == hostile["questions"] and head["tags"] == ["<b>tag</b>"]
    assert (
        edita.get(f"{web.url}/api/editor/articles").json()["articles"][0]["title"]
        == (hostile["title"])
    )


def test_try_it_without_the_rasa_server_uses_retrieval_alone(web) -> None:
    edita = web.client("edita")
    article = edita.get(f"{web.url}{GIFT}").json()
    question = "do gift cards expire"
    reply = edita.post(
        f"{web.url}/api/editor/try",
        json={
            "question": question,
            "draft": {
                **text_of(article, body="Draft: valid **24 months**."),
                "article_id": "gift-cards",
            },
        },
    )
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert result["understanding"]["available"] is False
    assert "not answering" in result["understanding"]["problem"]
    assert result["route"]["to"] == "knowledge_base"
    for side in ("published", "draft"):
        assert result[side]["outcome"] == "answer", result[side]
        assert result[side]["ranking"][0]["article_id"] == "gift-cards"
        assert result[side]["ranking"][0]["title"].startswith("Gift cards")
        assert 0 < result[side]["ranking"][0]["confidence"] <= 1
        assert result[side]["handoff"] is False
    assert result["published"]["answer"]["text"].startswith("You can buy gift cards")
    assert result["published"]["answer"]["version"] == 1
    assert result["draft"]["answer"] == {
        "article_id": "gift-cards",
        "title": article["title"],
        "text": "Draft: valid **24 months**.",
        "version": None,
    }


def test_try_it_a_new_article_and_a_handoff(web) -> None:
    edita = web.client("edita")
    draft = {
        "article_id": "parcel-lockers",
        "title": "Delivery to a parcel locker",
        "body": "Choose a **locker** at checkout.",
        "questions": ["can you deliver to a parcel locker", "parcel locker delivery"],
    }
    result = edita.post(
        f"{web.url}/api/editor/try", json={"question": "parcel locker delivery", "draft": draft}
    ).json()
    assert result["published"]["outcome"] != "answer"
    assert result["draft"]["outcome"] == "answer"
    assert result["draft"]["answer"]["article_id"] == "parcel-lockers"
    person = edita.post(
        f"{web.url}/api/editor/try", json={"question": "I want to speak to a person now"}
    ).json()
    assert person["route"]["to"] == "handoff" and person["draft"] is None
    assert person["published"]["handoff"] is True
    assert person["published"]["handoff_reason"] == "asked_for_person"


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "\x00\x01 \x7f"},
        {"question": "half a character \ud800"},
        {"question": "x" * 2001},
        {"question": "hi", "language": "de"},
        {"question": "hi", "draft": {"article_id": "x", "title": "", "body": "b"}},
        {"question": "hi", "draft": {"article_id": "<x>", "title": "t", "body": "b"}},
        {"words": "hi"},
    ],
)
def test_try_it_refuses_bad_input(web, body) -> None:
    reply = web.client("edita").post(f"{web.url}/api/editor/try", json=body)
    assert reply.status_code == 422, reply.text
