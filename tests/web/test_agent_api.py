"""The agent API against the running web app and a real database: sign-in, roles on every route,
the claim race, and bad input."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import func, select

from bot import db
from bot.handoff.models import Handoff, HandoffEvent
from bot.settings import Settings
from bot.web.app import create_app
from tests.web.conftest import PASSWORD, open_handoff


def api_routes():
    """Every API route of the app with its methods, path parameters filled in."""
    app = create_app(Settings(database_url="sqlite://", web_secret="x" * 32, rasa_token="t"))
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/") or path in ("/api/openapi.json", "/api/docs"):
            continue
        for method in sorted(getattr(route, "methods", ()) - {"HEAD", "OPTIONS"}):
            yield method, re.sub(r"\{[^}]+\}", "1", path)


PUBLIC = {("POST", "/api/session"), ("DELETE", "/api/session"), ("GET", "/api/widget/config")}
# The customer's routes: the conversation id (random, the widget's) is their key.
CUSTOMER_PREFIX = "/api/conversations/"
EDITOR_PREFIX = "/api/editor/"
# Rasa's routes: Rasa's API token is their key, no staff member's session (tests/web/test_model_api.py).
RASA_PREFIX = "/api/rasa/"


def test_health_and_console_page(web) -> None:
    assert requests.get(f"{web.url}/health").json() == {"status": "ok"}
    page = requests.get(f"{web.url}/agent")
    assert page.status_code == 200 and "Agent console" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    schema = requests.get(f"{web.url}/api/openapi.json").json()
    assert "/api/handoffs/{pk}/claim" in schema["paths"]
    assert "handoff-event" in schema["webhooks"]  # the outgoing webhook, documented


def test_every_route_refuses_strangers_and_wrong_roles(web) -> None:
    """Agents' routes refuse editors, editors' routes (/api/editor/) refuse agents."""
    web.add_user("eddie", "editor")
    web.add_user("ona", "agent")
    stranger = web.client()
    editor, agent = web.client("eddie"), web.client("ona")
    checked = editors = 0
    for method, path in api_routes():
        if (method, path) in PUBLIC or path.startswith(CUSTOMER_PREFIX):
            continue
        body = {} if method in ("POST", "PUT", "PATCH") else None
        assert stranger.request(method, web.url + path, json=body).status_code == 401, path
        if path.startswith(RASA_PREFIX):  # a staff member is a stranger there too
            assert editor.request(method, web.url + path).status_code == 401, path
            continue
        wrong = agent if path.startswith(EDITOR_PREFIX) else editor
        if path != "/api/session":
            assert wrong.request(method, web.url + path, json=body).status_code == 403, path
        checked += 1
        editors += path.startswith(EDITOR_PREFIX)
    assert checked >= 24 and editors >= 9


def test_sign_in_out_and_wrong_password(web) -> None:
    web.add_user("ona", "agent")
    http = requests.Session()
    wrong = http.post(f"{web.url}/api/session", json={"username": "ona", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    assert (
        http.post(f"{web.url}/api/session", json={"username": "ona", "password": PASSWORD}).json()[
            "display_name"
        ]
        == "Ona"
    )
    cookie = http.cookies.get("amberline_session")
    assert cookie and PASSWORD not in cookie
    assert http.get(f"{web.url}/api/session").json()["username"] == "ona"
    http.delete(f"{web.url}/api/session")
    assert http.get(f"{web.url}/api/session").status_code == 401


def test_forged_cookie_is_refused(web) -> None:
    http = requests.Session()
    http.cookies.set("amberline_session", "eyJ1c2VyIjogeyJwayI6IDF9fQ==.forged.sig")
    assert http.get(f"{web.url}/api/session").status_code == 401


def test_queue_lists_waiting_customers_best_first(web) -> None:
    web.add_user("ona", "agent")
    first = open_handoff(web, "c1")
    urgent = open_handoff(web, "c2", priority=2)
    listed = web.client("ona").get(f"{web.url}/api/handoffs?view=queued").json()
    assert [h["id"] for h in listed] == [urgent, first]
    assert listed[0]["position"] == 1 and listed[1]["position"] == 2
    assert listed[1]["summary"].startswith("Wants:")
    assert listed[0]["waiting_seconds"] >= 0


def test_two_agents_claim_at_once_exactly_one_wins(web) -> None:
    pk = open_handoff(web)
    web.add_user("ona", "agent")
    web.add_user("jonas", "agent")
    clients = [web.client("ona"), web.client("jonas")]
    barrier = threading.Barrier(2)
    codes = []

    def claim(http) -> None:
        barrier.wait()
        codes.append(http.post(f"{web.url}/api/handoffs/{pk}/claim").status_code)

    threads = [threading.Thread(target=claim, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    with db.session_scope(db.make_engine(web.database_url)) as session:
        assert (
            session.execute(
                select(func.count(HandoffEvent.pk)).where(HandoffEvent.action == "claim")
            ).scalar_one()
            == 1
        )
        assert session.get(Handoff, pk).status == "assigned"


def test_the_loser_is_told_who_has_it(web) -> None:
    pk = open_handoff(web)
    web.add_user("ona", "agent")
    web.add_user("jonas", "agent")
    ona, jonas = web.client("ona"), web.client("jonas")
    claimed = ona.post(f"{web.url}/api/handoffs/{pk}/claim").json()
    assert claimed["status"] == "assigned"
    assert claimed["customer_told"] is False  # no Rasa server behind this web app
    late = jonas.post(f"{web.url}/api/handoffs/{pk}/claim")
    assert late.status_code == 409 and "assigned" in late.json()["detail"]
    # Only the owner may write, hand back or resolve.
    assert (
        jonas.post(f"{web.url}/api/handoffs/{pk}/messages", json={"text": "hi"}).status_code == 409
    )
    assert jonas.post(f"{web.url}/api/handoffs/{pk}/hand-back", json={}).status_code == 409


def test_a_message_that_cannot_be_delivered_says_so(web) -> None:
    pk = open_handoff(web)
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    reply = ona.post(f"{web.url}/api/handoffs/{pk}/messages", json={"text": "Hello!"})
    assert reply.status_code == 503 and "not delivered" in reply.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{"text": ""}, {"text": "   "}, {"text": "x" * 5000}, {"words": "hi"}, ["not", "an", "object"]],
)
def test_bad_replies_get_a_clear_422(web, body) -> None:
    pk = open_handoff(web)
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    reply = ona.post(f"{web.url}/api/handoffs/{pk}/messages", json=body)
    assert reply.status_code == 422 and reply.json()["detail"] == "invalid input"


def test_invalid_json_and_hostile_ids(web) -> None:
    web.add_user("ona", "agent")
    ona = web.client("ona")
    broken = ona.post(
        f"{web.url}/api/session", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert ona.get(f"{web.url}/api/handoffs/999999").status_code == 404
    assert ona.get(f"{web.url}/api/handoffs/1%20OR%201=1").status_code == 422
    assert ona.get(f"{web.url}/api/handoffs?view=<script>").status_code == 422
    huge = ona.post(f"{web.url}/api/session", json={"username": "a" * 10_000, "password": "x"})
    assert huge.status_code == 422


def test_resolve_a_queued_spam_conversation(web) -> None:
    pk = open_handoff(web)
    web.add_user("ona", "agent")
    ona = web.client("ona")
    done = ona.post(f"{web.url}/api/handoffs/{pk}/resolve", json={"outcome": "spam"})
    assert done.json()["status"] == "resolved"
    bad = ona.post(f"{web.url}/api/handoffs/{pk}/resolve", json={"outcome": "whatever"})
    assert bad.status_code == 422
    closed = ona.get(f"{web.url}/api/handoffs?view=closed").json()
    assert closed[0]["id"] == pk and closed[0]["status"] == "resolved"


def test_presence_heartbeat(web) -> None:
    web.add_user("ona", "agent")
    ona = web.client("ona")
    assert ona.post(f"{web.url}/api/presence", json={"presence": "online"}).json() == {
        "presence": "online"
    }
    assert ona.post(f"{web.url}/api/presence", json={"presence": "dancing"}).status_code == 422


def test_teams_and_online_colleagues_for_a_transfer(web) -> None:
    web.add_user("ona", "agent")
    web.add_user("jonas", "agent", teams=["support-baltics"], languages=["lt"])
    web.add_user("eddie", "editor")
    ona, jonas = web.client("ona"), web.client("jonas")
    teams = ona.get(f"{web.url}/api/teams").json()
    assert [t["name"] for t in teams] == ["support-baltics", "support-poland", "escalations"]
    assert all(isinstance(t["open"], bool) for t in teams)
    assert ona.get(f"{web.url}/api/agents").json() == []  # nobody else online
    jonas.post(f"{web.url}/api/presence", json={"presence": "online"})
    web.client("eddie")  # an editor signed in is not an agent to transfer to
    colleagues = ona.get(f"{web.url}/api/agents").json()
    assert colleagues == [
        {
            "username": "jonas",
            "display_name": "Jonas",
            "teams": ["support-baltics"],
            "languages": ["lt"],
            "load": 0,
            "capacity": 3,
        }
    ]


def test_agents_see_their_own_teams_queue(web) -> None:
    baltic = open_handoff(web, "b1")
    polish = open_handoff(web, "p1", team="support-poland")
    web.add_user("agata", "agent", teams=["support-poland"])
    web.add_user("any", "agent")  # no team: sees every queue
    agata, anyone = web.client("agata"), web.client("any")
    assert [h["id"] for h in agata.get(f"{web.url}/api/handoffs?view=queued").json()] == [polish]
    every = agata.get(f"{web.url}/api/handoffs?view=queued&every_team=true").json()
    assert {h["id"] for h in every} == {baltic, polish}
    assert {h["id"] for h in anyone.get(f"{web.url}/api/handoffs?view=queued").json()} == {
        baltic,
        polish,
    }
