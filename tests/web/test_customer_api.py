"""The customer's side of a handoff over the web app: state, leaving the queue, leaving a
message (with e-mail through a real local SMTP server), and the survey; plus the agent's notes,
transfers, ticket replies by e-mail and knowledge-base search."""

from __future__ import annotations

import time
from typing import Iterator, List

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot import db
from bot.handoff.models import Handoff, HandoffNote, Survey, WrongAnswerReport
from bot.kb.sources import import_sources, load_sources
from bot.settings import PROJECT_ROOT
from bot.stack import free_port
from bot.timeutil import utcnow
from bot.users import User
from tests.web.conftest import Web, open_handoff, serve


class Inbox:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: List[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {"to": envelope.rcpt_tos, "body": envelope.content.decode("utf-8", "replace")}
        )
        return "250 OK"

    def wait(self, count: int, timeout: float = 5.0) -> List[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def inbox() -> Iterator[tuple]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mailing_web(database_url: str, inbox) -> Iterator[Web]:
    """The web app with SMTP configured (and, as in `web`, no Rasa server behind it)."""
    _, port = inbox
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "no-rasa",
        smtp_host="127.0.0.1",
        smtp_port=port,
        team_inbox="team@amberline.example",
    )
    url = next(gen)
    yield Web(url, database_url)
    gen.close()


def test_state_of_a_conversation_without_a_person_is_bot(web) -> None:
    assert requests.get(f"{web.url}/api/conversations/nobody/handoff").json() == {"status": "bot"}


def test_queued_customer_sees_position_and_can_leave(web) -> None:
    open_handoff(web, "a")
    open_handoff(web, "b")
    state = requests.get(f"{web.url}/api/conversations/b/handoff").json()
    assert state["status"] == "queued" and state["position"] == 2
    left = requests.post(f"{web.url}/api/conversations/a/leave")
    assert left.json()["status"] == "abandoned"
    assert requests.get(f"{web.url}/api/conversations/b/handoff").json()["position"] == 1
    again = requests.post(f"{web.url}/api/conversations/a/leave")
    assert again.status_code == 409
    with db.session_scope(db.make_engine(web.database_url)) as session:
        handoff = session.execute(
            select(Handoff).where(Handoff.conversation_id == "a")
        ).scalar_one()
        assert handoff.status == "abandoned" and handoff.closed_at is not None


def test_leaving_a_message_from_the_queue_makes_a_ticket_and_emails(mailing_web, inbox) -> None:
    handler, _ = inbox
    pk = open_handoff(mailing_web, "c")
    reply = requests.post(
        f"{mailing_web.url}/api/conversations/c/ticket",
        json={"email": "ieva@example.com", "message": "Please call me back <b>today</b>"},
    )
    body = reply.json()
    assert body["status"] == "ticket" and body["email_confirmation"] is True
    messages = handler.wait(2)
    assert [m["to"] for m in messages] == [["ieva@example.com"], ["team@amberline.example"]]
    assert body["reference"] in messages[0]["body"]
    assert "Wants: my tv is broken" in messages[1]["body"]
    with db.session_scope(db.make_engine(mailing_web.database_url)) as session:
        handoff = session.get(Handoff, pk)
        assert handoff.status == "ticket" and handoff.customer_email == "ieva@example.com"
        assert handoff.events[-1].note == "Please call me back <b>today</b>"


def test_a_ticket_when_nobody_is_on_duty_gets_the_address(web) -> None:
    reply = requests.post(
        f"{web.url}/api/conversations/night-owl/ticket", json={"email": "owl@example.com"}
    )
    assert reply.json()["status"] == "ticket"
    assert reply.json()["email_confirmation"] is False  # no SMTP server configured: not promised
    with db.session_scope(db.make_engine(web.database_url)) as session:
        ticket = session.execute(
            select(Handoff).where(Handoff.conversation_id == "night-owl")
        ).scalar_one()
        assert ticket.status == "ticket" and ticket.customer_email == "owl@example.com"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not an address"},
        {"email": "<script>@x.com"},
        {"email": "a@b.c", "message": "x" * 5000},
        {},
    ],
)
def test_bad_ticket_input_is_refused_clearly(web, body) -> None:
    reply = requests.post(f"{web.url}/api/conversations/z/ticket", json=body)
    assert reply.status_code == 422 and reply.json()["detail"] == "invalid input"


def test_an_overlong_conversation_id_is_refused(web) -> None:
    assert requests.get(f"{web.url}/api/conversations/{'x' * 200}/handoff").status_code == 422


def test_no_ticket_while_an_agent_is_in_the_chat(web) -> None:
    pk = open_handoff(web, "d")
    web.add_user("ona", "agent")
    web.client("ona").post(f"{web.url}/api/handoffs/{pk}/claim")
    reply = requests.post(f"{web.url}/api/conversations/d/ticket", json={"email": "d@example.com"})
    assert reply.status_code == 409


def test_survey_after_a_chat_with_a_person(web) -> None:
    pk = open_handoff(web, "e")
    assert (
        requests.post(f"{web.url}/api/conversations/e/survey", json={"score": 5}).status_code == 404
    )  # nobody has talked to them yet
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    ona.post(f"{web.url}/api/handoffs/{pk}/resolve", json={"outcome": "solved"})
    assert requests.post(
        f"{web.url}/api/conversations/e/survey", json={"score": 4, "comment": "quick"}
    ).json() == {"reference": "H-000001", "score": 4}
    requests.post(f"{web.url}/api/conversations/e/survey", json={"score": 5})  # changed mind
    bad = requests.post(f"{web.url}/api/conversations/e/survey", json={"score": 9})
    assert bad.status_code == 422
    with db.session_scope(db.make_engine(web.database_url)) as session:
        (survey,) = session.execute(select(Survey)).scalars()
        assert (survey.score, survey.comment) == (5, None)


def test_notes_travel_with_a_transfer_to_a_colleague(web) -> None:
    pk = open_handoff(web, "f")
    web.add_user("ona", "agent")
    web.add_user("jonas", "agent")
    ona, jonas = web.client("ona"), web.client("jonas")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    offline = ona.post(f"{web.url}/api/handoffs/{pk}/transfer", json={"agent": "jonas"})
    assert offline.status_code == 409 and "not online" in offline.json()["detail"]
    jonas.post(f"{web.url}/api/presence", json={"presence": "online"})
    moved = ona.post(
        f"{web.url}/api/handoffs/{pk}/transfer",
        json={"agent": "jonas", "note": "wants a replacement, order AM-100482"},
    )
    assert moved.json()["status"] == "assigned"
    detail = jonas.get(f"{web.url}/api/handoffs/{pk}").json()
    assert detail["mine"] and detail["notes"][0]["text"] == "wants a replacement, order AM-100482"
    assert detail["events"][-1]["action"] == "transfer"
    assert ona.post(f"{web.url}/api/handoffs/{pk}/messages", json={"text": "hi"}).status_code == 409


def test_transfer_to_a_team_requeues(web) -> None:
    pk = open_handoff(web, "g")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    both = ona.post(f"{web.url}/api/handoffs/{pk}/transfer", json={"agent": "x", "team": "y"})
    assert both.status_code == 422
    unknown = ona.post(f"{web.url}/api/handoffs/{pk}/transfer", json={"team": "nope"})
    assert unknown.status_code == 404
    moved = ona.post(f"{web.url}/api/handoffs/{pk}/transfer", json={"team": "escalations"})
    assert moved.json()["status"] == "queued"
    listed = ona.get(f"{web.url}/api/handoffs?view=queued").json()
    assert listed[0]["team"] == "escalations"


def test_earlier_conversations_and_their_notes(web) -> None:
    first = open_handoff(web, "h")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{first}/notes", json={"text": "prefers e-mail"})
    ona.post(f"{web.url}/api/handoffs/{first}/resolve", json={"outcome": "solved"})
    second = open_handoff(web, "h")
    earlier = ona.get(f"{web.url}/api/handoffs/{second}/earlier").json()
    assert [e["id"] for e in earlier] == [first]
    assert earlier[0]["notes"][0]["text"] == "prefers e-mail"


def test_the_bot_got_this_wrong_is_recorded(web) -> None:
    pk = open_handoff(web, "i")
    web.add_user("ona", "agent")
    reply = web.client("ona").post(
        f"{web.url}/api/handoffs/{pk}/wrong-answer",
        json={
            "bot_text": "Returns are free.",
            "article_id": "return-costs",
            "comment": "not for TVs",
        },
    )
    assert reply.json()["status"] == "open"
    with db.session_scope(db.make_engine(web.database_url)) as session:
        (report,) = session.execute(select(WrongAnswerReport)).scalars()
        assert (report.article_id, report.comment) == ("return-costs", "not for TVs")


def test_agent_answers_a_ticket_by_email(mailing_web, inbox) -> None:
    handler, _ = inbox
    pk = open_handoff(mailing_web, "j", queue=False)
    mailing_web.add_user("ona", "agent")
    ona = mailing_web.client("ona")
    assert (
        ona.post(f"{mailing_web.url}/api/handoffs/{pk}/email", json={"text": "Hi"}).status_code
        == 409
    )
    with db.session_scope(db.make_engine(mailing_web.database_url)) as session:
        session.get(Handoff, pk).customer_email = "j@example.com"
    sent = ona.post(
        f"{mailing_web.url}/api/handoffs/{pk}/email", json={"text": "Your refund is on its way."}
    )
    assert sent.json() == {"sent": True}
    (message,) = handler.wait(1)
    assert message["to"] == ["j@example.com"] and "Your refund is on its way." in message["body"]
    with db.session_scope(db.make_engine(mailing_web.database_url)) as session:
        note = session.execute(select(HandoffNote)).scalar_one()
        assert note.text.startswith("E-mail to j@example.com")


def test_email_without_smtp_is_reported_not_sent(web) -> None:
    pk = open_handoff(web, "k", queue=False)
    with db.session_scope(db.make_engine(web.database_url)) as session:
        session.get(Handoff, pk).customer_email = "k@example.com"
    web.add_user("ona", "agent")
    reply = web.client("ona").post(f"{web.url}/api/handoffs/{pk}/email", json={"text": "Hi"})
    assert reply.status_code == 503 and reply.json()["detail"].startswith("not sent")


def test_agents_search_the_knowledge_base(web) -> None:
    with db.session_scope(db.make_engine(web.database_url)) as session:
        import_sources(session, load_sources(PROJECT_ROOT / "data" / "kb")[0])
    web.add_user("ona", "agent")
    found = (
        web.client("ona")
        .get(f"{web.url}/api/kb/search", params={"q": "how long do refunds take"})
        .json()
    )
    assert found[0]["article_id"] in {"refund-timing", "order-cancellation-refund"}
    assert found[0]["body"] and found[0]["title"]
    hostile = web.client("ona").get(
        f"{web.url}/api/kb/search", params={"q": "<script>' OR 1=1 --", "language": "lt"}
    )
    assert hostile.status_code == 200


def test_presence_marks_last_seen(web) -> None:
    web.add_user("ona", "agent")
    web.client("ona").post(f"{web.url}/api/presence", json={"presence": "away"})
    with db.session_scope(db.make_engine(web.database_url)) as session:
        ona = session.execute(select(User).where(User.username == "ona")).scalar_one()
        assert ona.presence == "away" and (utcnow() - ona.last_seen_at).total_seconds() < 30


def test_the_running_web_app_delivers_handoff_webhooks(database_url) -> None:
    """End to end: a claim through the API reaches a real HTTP receiver, signed."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot.handoff import webhooks

    received: List[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gen = serve(
        database_url,
        f"http://127.0.0.1:{free_port()}",
        "no-rasa",
        webhook_url=f"http://127.0.0.1:{server.server_port}/hooks",
        webhook_secret="s3cret",
    )
    web = Web(next(gen), database_url)
    try:
        pk = open_handoff(web, "hooked")
        web.add_user("ona", "agent")
        web.client("ona").post(f"{web.url}/api/handoffs/{pk}/claim")
        deadline = time.monotonic() + 15
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        gen.close()
        server.shutdown()
    types = [json.loads(r["body"])["type"] for r in received]
    assert types == ["handoff.requested", "handoff.claimed"]
    last = received[-1]
    assert webhooks.verify(
        "s3cret",
        last["headers"]["X-Amberline-Timestamp"],
        last["body"],
        last["headers"]["X-Amberline-Signature"],
    )
    assert json.loads(last["body"])["handoff"]["agent"] == "ona"


def test_customer_typing_shows_only_while_a_person_has_the_chat(web) -> None:
    nobody = requests.post(f"{web.url}/api/conversations/lonely/typing", json={"typing": True})
    assert nobody.json() == {"shown": False}
    pk = open_handoff(web, "typist")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    assert ona.get(f"{web.url}/api/handoffs/{pk}").json()["customer_typing"] is False
    requests.post(f"{web.url}/api/conversations/typist/typing", json={"typing": True})
    assert ona.get(f"{web.url}/api/handoffs/{pk}").json()["customer_typing"] is True
    requests.post(f"{web.url}/api/conversations/typist/typing", json={"typing": False})
    assert ona.get(f"{web.url}/api/handoffs/{pk}").json()["customer_typing"] is False


def test_agent_typing_needs_the_chat_and_reports_if_not_shown(web) -> None:
    pk = open_handoff(web, "t2")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    assert ona.post(f"{web.url}/api/handoffs/{pk}/typing", json={}).status_code == 409
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    assert ona.post(f"{web.url}/api/handoffs/{pk}/typing", json={}).json() == {"shown": False}


def test_a_promised_follow_up_goes_by_email_when_the_address_is_known(mailing_web, inbox) -> None:
    handler, _ = inbox
    pk = open_handoff(mailing_web, "promise")
    mailing_web.add_user("ona", "agent")
    ona = mailing_web.client("ona")
    ona.post(f"{mailing_web.url}/api/handoffs/{pk}/claim")
    early = ona.post(f"{mailing_web.url}/api/handoffs/{pk}/follow-up", json={"text": "x"})
    assert early.status_code == 409  # still open: write in the chat
    ona.post(f"{mailing_web.url}/api/handoffs/{pk}/resolve", json={"outcome": "follow_up"})
    todo = ona.get(f"{mailing_web.url}/api/handoffs?view=follow_up").json()
    assert [h["id"] for h in todo] == [pk]
    with db.session_scope(db.make_engine(mailing_web.database_url)) as session:
        session.get(Handoff, pk).customer_email = "promise@example.com"
    written = ona.post(
        f"{mailing_web.url}/api/handoffs/{pk}/follow-up",
        json={"text": "The warehouse found your parcel; it ships today."},
    )
    assert written.json()["delivered_by"] == "email"
    (message,) = handler.wait(1)
    assert message["to"] == ["promise@example.com"] and "ships today" in message["body"]
    assert ona.get(f"{mailing_web.url}/api/handoffs?view=follow_up").json() == []


def test_without_an_address_the_follow_up_waits_for_the_chat(web) -> None:
    pk = open_handoff(web, "later")
    web.add_user("ona", "agent")
    ona = web.client("ona")
    ona.post(f"{web.url}/api/handoffs/{pk}/claim")
    ona.post(f"{web.url}/api/handoffs/{pk}/resolve", json={"outcome": "follow_up"})
    written = ona.post(f"{web.url}/api/handoffs/{pk}/follow-up", json={"text": "Found it."})
    assert written.json()["delivered_by"] == "chat on the customer's return"
    from bot.handoff.follow_ups import take_due, waiting_conversations

    engine = db.make_engine(web.database_url)
    with engine.connect() as connection:
        assert waiting_conversations(connection) == {"later"}
    with db.session_scope(engine) as session:
        assert take_due(session, "later") == [{"author": "Ona", "text": "Found it."}]
    with db.session_scope(engine) as session:
        assert take_due(session, "later") == []  # exactly once
    with engine.connect() as connection:
        assert "later" not in waiting_conversations(connection)
    engine.dispose()
