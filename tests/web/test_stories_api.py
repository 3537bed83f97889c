"""The story editor's API on the running web app, a real database (Rasa's tracker store rows
written by Rasa's own store) and a copy of the project's data: roles, stories and rules as
conversations, real conversations found and shown masked, saving and refusals, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import requests

from bot.stack import free_port
from tests.web.conftest import Web, serve

STORIES = "/api/editor/stories"


@pytest.fixture
def web(database_url: str, rasa_project: Path) -> Iterator[Web]:
    """The web app (no Rasa server) on ``rasa_project``, an editor, an admin and an agent."""
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "no-rasa",
        rasa_project_dir=str(rasa_project),
    )
    running = Web(next(gen), database_url)
    running.add_user("edita", "editor")
    running.add_user("root", "admin")
    running.add_user("ona", "agent")
    yield running
    gen.close()


def story(**changes: Any) -> Dict[str, Any]:
    body = {
        "name": "a bot question, then thanks",
        "kind": "training",
        "turns": [
            {"kind": "customer", "intent": "bot_challenge"},
            {"kind": "bot", "action": "utter_iamabot"},
            {"kind": "customer", "intent": "thank"},
            {"kind": "bot", "action": "utter_you_are_welcome"},
        ],
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", STORIES),
        ("GET", f"{STORIES}/vocabulary"),
        ("POST", STORIES),
        ("GET", "/api/editor/conversations"),
        ("GET", "/api/editor/conversations/some-id"),
    ],
)
def test_every_route_is_for_editors_and_admins(web: Web, method: str, path: str) -> None:
    assert web.client().request(method, f"{web.url}{path}", json=story()).status_code == 401
    agent = web.client("ona").request(method, f"{web.url}{path}", json=story())
    assert agent.status_code == 403
    for who in ("edita", "root"):
        reply = web.client(who).request(method, f"{web.url}{path}", json=story(name=who))
        assert reply.status_code in (200, 201, 404), reply.text


def test_stories_and_rules_listed_searched_and_the_page_served(web: Web) -> None:
    http = web.client("edita")
    found = http.get(f"{web.url}{STORIES}", params={"q": "request_human"}).json()
    assert found["stories"] and found["needs_retraining"] is True  # no model in the copy
    assert {"story", "rule", "test"} == {s["kind"] for s in found["stories"]}
    rules = http.get(f"{web.url}{STORIES}", params={"kind": "rule", "q": "greet"}).json()
    assert [s["name"] for s in rules["stories"]] == ["greet"]
    words = http.get(f"{web.url}{STORIES}/vocabulary").json()
    assert any(i["name"] == "greet" and i["examples"] == ["hi", "hello"] for i in words["intents"])
    page = http.get(f"{web.url}/editor/stories")
    assert page.status_code == 200 and "Stories and rules" in page.text
    assert 'href="/editor/stories"' in http.get(f"{web.url}/editor").text


def test_saved_story_lands_in_the_project_copy_and_is_listed(web: Web, rasa_project: Path) -> None:
    http = web.client("edita")
    reply = http.post(f"{web.url}{STORIES}", json=story(conversation_id="conv-1"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["file"] == "data/stories/editor.yml"
    assert (
        "- story: a bot question, then thanks"
        in (rasa_project / "data/stories/editor.yml").read_text()
    )
    listed = http.get(f"{web.url}{STORIES}", params={"q": "question, then thanks"}).json()[
        "stories"
    ]
    assert [(s["name"], s["file"]) for s in listed] == [
        ("a bot question, then thanks", "data/stories/editor.yml")
    ]
    again = http.post(f"{web.url}{STORIES}", json=story())
    assert again.status_code == 422
    assert again.json()["problems"] == [
        {
            "field": "story",
            "problem": "A story named 'a bot question, then thanks' is already in "
            "data/stories/editor.yml: choose another.",
        }
    ]


def test_a_contradiction_is_a_422_in_plain_words(web: Web, rasa_project: Path) -> None:
    turns = [{"kind": "customer", "intent": "greet"}, {"kind": "bot", "action": "utter_goodbye"}]
    reply = web.client("edita").post(f"{web.url}{STORIES}", json=story(turns=turns))
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert detail.startswith("The story was not saved: This story contradicts the story")
    assert "after the customer says “hi” (greet)" in detail
    assert not (rasa_project / "data/stories/editor.yml").exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        story(kind="nlu"),
        story(name="x" * 1001),
        story(turns=[{"kind": "customer", "intent": "greet", "text": "x" * 4001}]),
        story(turns=[{"kind": "customer", "intent": "i" * 201}]),
        story(turns=[{"kind": "shout"}]),
        story(turns=[{"kind": "customer", "intent": "greet"}] * 1001),
        story(turns="- intent: greet"),
        story(name=None),
        story(turns=[{"kind": "customer", "intent": "greet", "entities": [{"value": "x"}]}]),
    ],
)
def test_malformed_bodies_are_422(web: Web, body: Dict[str, Any]) -> None:
    reply = web.client("edita").post(f"{web.url}{STORIES}", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"] == "invalid input"


@pytest.mark.parametrize(
    "name, turns",
    [
        ("", None),
        ("half \ud800 a char", None),
        ("unknown", [{"kind": "customer", "intent": "'; DROP TABLE events; --"}]),
        ("<script>alert(1)</script>", [{"kind": "bot", "action": "utter_greet"}]),
        ("too many", [{"kind": "customer", "intent": "greet"}] * 201),
    ],
)
def test_bad_stories_are_refused_with_problems(web: Web, name: str, turns: Any) -> None:
    body = story(name=name) if turns is None else story(name=name, turns=turns)
    reply = web.client("edita").post(
        f"{web.url}{STORIES}",
        data=requests.models.complexjson.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["problems"], reply.text


async def test_real_conversations_found_and_shown_masked(web: Web, conversations: Any) -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    await conversations.say(
        "conv-api-1",
        UserUttered("my mail is ieva@example.com", {"name": "inform", "confidence": 0.6}),
        ActionExecuted("utter_greet"),
        BotUttered("Hi!"),
    )
    await conversations.customer("conv-api-2", "<img src=x onerror=alert(1)> call 861234567")
    http = web.client("edita")
    found = http.get(f"{web.url}/api/editor/conversations").json()["conversations"]
    assert [c["conversation_id"] for c in found] == ["conv-api-2", "conv-api-1"]
    assert found[0]["snippet"] == "<img src=x onerror=alert(1)> call [phone]"  # the page escapes
    by_text = http.get(f"{web.url}/api/editor/conversations", params={"q": "MAIL IS"}).json()
    assert [c["snippet"] for c in by_text["conversations"]] == ["my mail is [email]"]
    by_id = http.get(f"{web.url}/api/editor/conversations", params={"id": "api-2"}).json()
    assert [c["conversation_id"] for c in by_id["conversations"]] == ["conv-api-2"]
    shown = http.get(f"{web.url}/api/editor/conversations/conv-api-1").json()
    assert [(t["kind"], t.get("intent"), t.get("action")) for t in shown["turns"]] == [
        ("customer", "inform", None),
        ("bot", None, "utter_greet"),
    ]
    assert shown["turns"][0]["text"] == "my mail is [email]"
    assert shown["turns"][1]["said"] == ["Hi!"]
    missing = http.get(f"{web.url}/api/editor/conversations/nobody")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "There is no conversation with this id."}
    too_long = http.get(f"{web.url}/api/editor/conversations", params={"q": "x" * 201})
    assert too_long.status_code == 422


def rule(**changes: Any) -> Dict[str, Any]:
    body = {
        "name": "a bot question answered at once",
        "kind": "rule",
        "turns": [
            {"kind": "customer", "intent": "bot_challenge"},
            {"kind": "bot", "action": "utter_iamabot"},
        ],
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    "method, params, body",
    [
        ("PUT", None, {**story(), "replaces": "nobody"}),
        ("DELETE", {"name": "nobody", "kind": "training"}, None),
    ],
)
def test_changing_and_deleting_are_for_editors_and_admins(
    web: Web, method: str, params: Any, body: Any
) -> None:
    url = f"{web.url}{STORIES}"
    assert web.client().request(method, url, params=params, json=body).status_code == 401
    assert web.client("ona").request(method, url, params=params, json=body).status_code == 403
    for who in ("edita", "root"):
        reply = web.client(who).request(method, url, params=params, json=body)
        assert reply.status_code == 404, reply.text
        assert "not in the editor's file" in reply.json()["detail"]


def test_a_rule_saved_changed_and_deleted(web: Web, rasa_project: Path) -> None:
    http = web.client("edita")
    saved = http.post(f"{web.url}{STORIES}", json=rule())
    assert saved.status_code == 201, saved.text
    assert saved.json()["file"] == "data/rules/editor.yml"
    assert saved.json()["yaml"].startswith("- rule: a bot question answered at once\n")
    rules = http.get(f"{web.url}{STORIES}", params={"kind": "rule", "q": "answered at once"})
    (listed,) = rules.json()["stories"]
    assert listed["editable"] is True and listed["file"] == "data/rules/editor.yml"
    assert (listed["conversation_start"], listed["wait_for_user_input"]) == (False, True)

    changed = rule(
        name="a bot question, then the bot goes on",
        replaces="a bot question answered at once",
        wait_for_user_input=False,
    )
    reply = http.put(f"{web.url}{STORIES}", json=changed)
    assert reply.status_code == 200, reply.text
    text = (rasa_project / "data/rules/editor.yml").read_text()
    assert "answered at once" not in text and "wait_for_user_input: false" in text
    again = http.put(f"{web.url}{STORIES}", json=changed)
    assert again.status_code == 404  # the old name is gone

    gone = http.delete(
        f"{web.url}{STORIES}",
        params={"kind": "rule", "name": "a bot question, then the bot goes on"},
    )
    assert gone.status_code == 200, gone.text
    assert not (rasa_project / "data/rules/editor.yml").exists()


def test_the_developers_stories_are_read_only(web: Web, rasa_project: Path) -> None:
    http = web.client("edita")
    listed = http.get(f"{web.url}{STORIES}", params={"kind": "rule", "q": "greet"}).json()
    assert [(s["name"], s["editable"]) for s in listed["stories"]] == [("greet", False)]
    before = (rasa_project / "data/rules/basics.yml").read_text()
    reply = http.delete(f"{web.url}{STORIES}", params={"kind": "rule", "name": "greet"})
    assert reply.status_code == 404
    changed = http.put(f"{web.url}{STORIES}", json=rule(replaces="greet"))
    assert changed.status_code == 404
    assert (rasa_project / "data/rules/basics.yml").read_text() == before
    tests = http.get(f"{web.url}{STORIES}", params={"kind": "test"}).json()["stories"]
    assert tests and all(s["file"] == "tests/conversations/stories.yml" for s in tests)


@pytest.mark.parametrize(
    "method, params, body",
    [
        ("PUT", None, story()),  # no replaces
        ("PUT", None, {**story(), "replaces": ""}),
        ("DELETE", {"kind": "rule"}, None),
        ("DELETE", {"kind": "nlu", "name": "x"}, None),
        ("DELETE", {"kind": "rule", "name": "x" * 1001}, None),
        ("POST", None, rule(conversation_start="sometimes")),
        ("POST", None, rule(turns=[{"kind": "form", "name": "x", "condition": "maybe"}])),
    ],
)
def test_malformed_changes_are_422(web: Web, method: str, params: Any, body: Any) -> None:
    reply = web.client("edita").request(method, f"{web.url}{STORIES}", params=params, json=body)
    assert reply.status_code == 422, reply.text


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "'; DROP TABLE events; --",
        "- story: injected\n  steps: []",
        "emoji 😀 שלום zero\u200bwidth",
        "../../domain.yml",
        " ",
    ],
)
def test_odd_names_to_change_or_delete_are_a_clear_404(
    web: Web, rasa_project: Path, name: str
) -> None:
    http = web.client("edita")
    assert http.post(f"{web.url}{STORIES}", json=rule()).status_code == 201
    before = (rasa_project / "data/rules/editor.yml").read_text()
    gone = http.delete(f"{web.url}{STORIES}", params={"kind": "rule", "name": name})
    assert gone.status_code == 404, gone.text
    changed = http.put(f"{web.url}{STORIES}", json=rule(name="x", replaces=name))
    assert changed.status_code == 404, changed.text
    assert changed.json()["detail"].startswith("This story is not in the editor's file")
    assert (rasa_project / "data/rules/editor.yml").read_text() == before
