"""Outgoing webhooks: signed, ordered, retried with backoff, claimed once, against a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.db import make_engine, session_scope
from bot.handoff import queue, webhooks
from bot.handoff.models import WebhookDelivery
from bot.settings import Settings
from bot.timeutil import utcnow
from bot.users import create_user

SECRET = "s3cret-for-tests"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers scripted statuses."""

    def __init__(self, statuses: Optional[List[int]] = None, delay: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.delay = delay
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/amberline"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_and_claim(engine: Engine) -> None:
    """A handoff is requested and claimed in one transaction: two events in the outbox."""
    with session_scope(engine) as session:
        handoff, _ = queue.request_handoff(
            session,
            conversation_id="c1",
            reason="asked_for_person",
            language="en",
            channel="rest",
            last_question="where is my refund",
            context={"version": 1, "summary": "refund for order 1042, ąčę"},
            team="support",
        )
        ona = create_user(
            session,
            username="ona",
            password="a long enough password",
            display_name="Ona",
            teams=["support"],
        )
        queue.claim(session, handoff, ona)


def only_request(engine: Engine) -> None:
    with session_scope(engine) as session:
        queue.request_handoff(
            session,
            conversation_id="c1",
            reason="asked_for_person",
            language="en",
            channel="rest",
            last_question="hello",
            context={"version": 1},
        )


def deliveries(engine: Engine) -> List[WebhookDelivery]:
    with session_scope(engine) as session:
        return list(session.execute(select(WebhookDelivery).order_by(WebhookDelivery.pk)).scalars())


def test_events_are_posted_in_order_signed_with_the_stored_payload(
    engine: Engine, receiver: Receiver
) -> None:
    request_and_claim(engine)
    stored = deliveries(engine)
    assert [d.event_type for d in stored] == ["handoff.requested", "handoff.claimed"]
    now = utcnow()

    counts = webhooks.deliver_due(engine, url=receiver.url, secret=SECRET, max_attempts=3, now=now)

    assert counts == {"delivered": 2, "retrying": 0, "failed": 0}
    assert [r["path"] for r in receiver.requests] == ["/hooks/amberline"] * 2
    for sent, delivery in zip(receiver.requests, stored, strict=True):
        headers, body = sent["headers"], sent["body"]
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"] == "amberline-webhooks/1"
        assert headers["X-Amberline-Event"] == delivery.event_type
        assert headers["Idempotency-Key"] == delivery.event_id == delivery.payload["id"]
        assert headers["X-Amberline-Timestamp"] == str(int(now.timestamp()))
        assert webhooks.verify(
            SECRET,
            headers["X-Amberline-Timestamp"],
            body,
            headers["X-Amberline-Signature"],
            now=now,
        )
        assert body == webhooks.body_bytes(delivery.payload)
        assert json.loads(body) == delivery.payload
    first = json.loads(receiver.requests[0]["body"])
    assert first["handoff"]["status"] == "queued" and first["handoff"]["agent"] is None
    second = json.loads(receiver.requests[1]["body"])
    assert second["handoff"]["status"] == "assigned" and second["handoff"]["agent"] == "ona"
    assert "ąčę" in receiver.requests[0]["body"].decode("utf-8")  # UTF-8, not \\u escapes
    after = deliveries(engine)
    assert [d.status for d in after] == ["delivered", "delivered"]
    assert all(d.delivered_at == now and d.attempts == 0 for d in after)
    # Nothing is due any more.
    again = webhooks.deliver_due(engine, url=receiver.url, secret=SECRET, max_attempts=3, now=now)
    assert again == {"delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 2


def test_a_server_error_is_retried_after_the_backoff(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    receiver.statuses = [500, 200]
    now = utcnow()

    first = webhooks.deliver_due(engine, url=receiver.url, secret=SECRET, max_attempts=5, now=now)

    assert first == {"delivered": 0, "retrying": 1, "failed": 0}
    (delivery,) = deliveries(engine)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=webhooks.backoff_seconds(1))
    assert delivery.next_attempt_at > now

    early = delivery.next_attempt_at - dt.timedelta(seconds=1)
    too_soon = webhooks.deliver_due(
        engine, url=receiver.url, secret=SECRET, max_attempts=5, now=early
    )
    assert too_soon == {"delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 1

    later = delivery.next_attempt_at + dt.timedelta(seconds=1)
    second = webhooks.deliver_due(
        engine, url=receiver.url, secret=SECRET, max_attempts=5, now=later
    )
    assert second == {"delivered": 1, "retrying": 0, "failed": 0}
    (delivery,) = deliveries(engine)
    assert delivery.status == "delivered" and delivery.delivered_at == later
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys == [delivery.event_id, delivery.event_id]  # at least once: the receiver dedupes
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_connection_refused_is_retried_until_max_attempts(engine: Engine) -> None:
    only_request(engine)
    url = f"http://127.0.0.1:{free_port()}/hook?token=t0ps3cr3t"
    now = utcnow()
    results = []
    for _ in range(3):
        results.append(
            webhooks.deliver_due(engine, url=url, secret=SECRET, max_attempts=3, now=now)
        )
        (delivery,) = deliveries(engine)
        assert delivery.last_error is not None and "ConnectionError" in delivery.last_error
        assert len(delivery.last_error) <= 500
        assert "t0ps3cr3t" not in delivery.last_error  # a token in the URL is not stored
        now = delivery.next_attempt_at + dt.timedelta(seconds=1)

    assert [r["retrying"] for r in results] == [1, 1, 0]
    assert results[-1]["failed"] == 1
    (delivery,) = deliveries(engine)
    assert delivery.status == "failed" and delivery.attempts == 3
    # A failed delivery is never picked again.
    later = now + dt.timedelta(days=1)
    idle = webhooks.deliver_due(engine, url=url, secret=SECRET, max_attempts=3, now=later)
    assert idle == {"delivered": 0, "retrying": 0, "failed": 0}


def test_410_gone_fails_at_once(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    receiver.statuses = [410]
    counts = webhooks.deliver_due(
        engine, url=receiver.url, secret=None, max_attempts=8, now=utcnow()
    )
    assert counts == {"delivered": 0, "retrying": 0, "failed": 1}
    (delivery,) = deliveries(engine)
    assert delivery.status == "failed" and delivery.last_error == "HTTP 410"


def test_redirects_are_not_followed(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    receiver.statuses = [302]
    counts = webhooks.deliver_due(
        engine, url=receiver.url, secret=SECRET, max_attempts=8, now=utcnow()
    )
    assert counts["retrying"] == 1 and len(receiver.requests) == 1


def test_without_a_secret_there_is_no_signature(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    counts = webhooks.deliver_due(
        engine, url=receiver.url, secret=None, max_attempts=3, now=utcnow()
    )
    assert counts["delivered"] == 1
    headers = receiver.requests[0]["headers"]
    assert "X-Amberline-Signature" not in headers
    assert headers["Idempotency-Key"] and headers["X-Amberline-Timestamp"]


def test_verify_rejects_tampering_wrong_secrets_and_old_requests() -> None:
    now = utcnow()
    timestamp = str(int(now.timestamp()))
    body = b'{"id":"abc","type":"handoff.claimed"}'
    signature = webhooks.sign(SECRET, timestamp, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64

    assert webhooks.verify(SECRET, timestamp, body, signature, now=now)
    assert webhooks.verify(SECRET, timestamp, body, signature, now=now.timestamp() + 299)
    assert not webhooks.verify(SECRET, timestamp, body + b" ", signature, now=now)
    assert not webhooks.verify(SECRET, timestamp, body.replace(b"abc", b"abd"), signature, now=now)
    assert not webhooks.verify("another secret", timestamp, body, signature, now=now)
    old = now + dt.timedelta(seconds=301)
    assert not webhooks.verify(SECRET, timestamp, body, signature, now=old)
    assert webhooks.verify(SECRET, timestamp, body, signature, now=old, tolerance=600)
    # The timestamp is signed: moving it forward breaks the signature.
    newer = str(int(now.timestamp()) + 10)
    assert not webhooks.verify(SECRET, newer, body, signature, now=now)
    assert not webhooks.verify(SECRET, "not a number", body, signature, now=now)
    assert not webhooks.verify(SECRET, timestamp, body, "sha256=00", now=now)
    assert not webhooks.verify(SECRET, timestamp, body, "sha256=ž", now=now)


def test_concurrent_workers_send_a_delivery_once(engine: Engine) -> None:
    only_request(engine)
    slow = Receiver(delay=0.2)
    try:
        now = utcnow()
        barrier = threading.Barrier(2)
        results: List[Dict[str, int]] = []

        def worker() -> None:
            barrier.wait()
            results.append(
                webhooks.deliver_due(
                    engine, url=slow.url, secret=SECRET, max_attempts=3, now=now, timeout=2.0
                )
            )

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        slow.close()
    assert len(slow.requests) == 1
    assert sum(r["delivered"] for r in results) == 1
    assert sum(sum(r.values()) for r in results) == 1
    (delivery,) = deliveries(engine)
    assert delivery.status == "delivered"


def test_a_leased_delivery_is_not_sent_again_until_the_lease_ends(
    engine: Engine, receiver: Receiver
) -> None:
    only_request(engine)
    now = utcnow()
    (delivery,) = deliveries(engine)
    # A worker claimed it and died before recording the outcome.
    assert webhooks._claim(engine, delivery.pk, now, lease=10.0) is not None
    kwargs: Dict[str, Any] = {"url": receiver.url, "secret": SECRET, "max_attempts": 3}
    assert webhooks.deliver_due(engine, now=now, **kwargs)["delivered"] == 0
    after = now + dt.timedelta(seconds=11)
    assert webhooks.deliver_due(engine, now=after, **kwargs)["delivered"] == 1
    assert len(receiver.requests) == 1


def test_limit_takes_the_oldest_first(engine: Engine, receiver: Receiver) -> None:
    request_and_claim(engine)
    now = utcnow()
    kwargs: Dict[str, Any] = {"url": receiver.url, "secret": SECRET, "max_attempts": 3, "now": now}
    assert webhooks.deliver_due(engine, limit=1, **kwargs)["delivered"] == 1
    assert receiver.requests[0]["headers"]["X-Amberline-Event"] == "handoff.requested"
    assert webhooks.deliver_due(engine, limit=1, **kwargs)["delivered"] == 1
    assert receiver.requests[1]["headers"]["X-Amberline-Event"] == "handoff.claimed"


def test_backoff_grows_and_is_capped() -> None:
    waits = [webhooks.backoff_seconds(n) for n in range(1, 12)]
    assert waits[:4] == [5, 10, 20, 40]
    assert all(a < b or a == b == 3600 for a, b in itertools.pairwise(waits))
    assert max(waits) == 3600 and waits[-1] == 3600
    assert webhooks.backoff_seconds(1000) == 3600
    assert webhooks.backoff_seconds(0) == 5


async def test_the_worker_delivers_in_the_background(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    settings = Settings(webhook_url=receiver.url, webhook_secret=SECRET)
    task = asyncio.create_task(webhooks.run_worker(engine, settings, every=0.01))
    try:
        for _ in range(300):
            if deliveries(engine)[0].status == "delivered":
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["X-Amberline-Signature"]
    (delivery,) = deliveries(engine)
    assert delivery.status == "delivered"


async def test_the_worker_survives_a_failing_round(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An unmigrated database: every round fails with "no such table".
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    settings = Settings(webhook_url="http://127.0.0.1:9/")
    task = asyncio.create_task(webhooks.run_worker(empty, settings, every=0.01))
    try:
        for _ in range(300):
            if len([r for r in caplog.records if r.levelno == logging.ERROR]) >= 2:
                break
            await asyncio.sleep(0.01)
        assert not task.done()  # errors are logged, the loop goes on
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        empty.dispose()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) >= 2 and "webhook delivery round failed" in failures[0].getMessage()


async def test_the_worker_is_idle_without_a_url(engine: Engine, receiver: Receiver) -> None:
    only_request(engine)
    task = asyncio.create_task(webhooks.run_worker(engine, Settings(webhook_url=None), every=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert receiver.requests == []
    (delivery,) = deliveries(engine)
    assert delivery.status == "pending"
