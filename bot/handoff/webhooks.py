"""Outgoing webhook on handoff events, so that a company can connect its helpdesk.

Every handoff event is written to the ``webhook_deliveries`` outbox in the same transaction as
the change itself (``enqueue``), so an event is never lost between the change and the delivery.
A background worker (``deliver_due``) posts due deliveries to ``BOT_WEBHOOK_URL``: JSON, signed
with HMAC-SHA256 (``BOT_WEBHOOK_SECRET``), retried with exponential backoff, delivered at least
once; the receiver de-duplicates by the ``Idempotency-Key`` header (the event's id).

A receiver checks a request with ``verify(secret, X-Amberline-Timestamp, raw body,
X-Amberline-Signature)``: the signature is ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>``
and requests older than five minutes are refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.handoff.models import Handoff, WebhookDelivery
from bot.timeutil import utcnow

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
EVENT_TYPES = (
    "handoff.requested",
    "handoff.claimed",
    "handoff.transferred",
    "handoff.requeued",
    "handoff.handed_back",
    "handoff.resolved",
    "handoff.abandoned",
    "handoff.ticket",
)
# Ownership actions (bot.handoff.ownership) and the event each becomes.
ACTION_EVENTS = {
    "request": "handoff.requested",
    "claim": "handoff.claimed",
    "transfer": "handoff.transferred",
    "requeue": "handoff.requeued",
    "hand_back": "handoff.handed_back",
    "resolve": "handoff.resolved",
    "leave": "handoff.abandoned",
    "leave_message": "handoff.ticket",
}


def handoff_data(handoff: Handoff) -> Dict[str, Any]:
    """What the receiver learns about the handoff (the package itself is behind the API)."""
    return {
        "id": handoff.pk,
        "reference": handoff.reference,
        "conversation_id": handoff.conversation_id,
        "status": handoff.status,
        "reason": handoff.reason,
        "language": handoff.language,
        "team": handoff.team,
        "priority": handoff.priority,
        "agent": handoff.agent.username if handoff.agent is not None else None,
        "last_question": handoff.last_question,
        "summary": (handoff.context or {}).get("summary"),
        "customer_email": handoff.customer_email,
        "outcome": handoff.outcome,
    }


def enqueue(
    session: Session,
    action: str,
    handoff: Handoff,
    *,
    note: Optional[str] = None,
) -> Optional[WebhookDelivery]:
    """Add the event for ``action`` on ``handoff`` to the outbox (in the caller's transaction)."""
    event_type = ACTION_EVENTS.get(action)
    if event_type is None:
        return None
    event_id = uuid.uuid4().hex
    now = utcnow()
    delivery = WebhookDelivery(
        event_id=event_id,
        event_type=event_type,
        payload={
            "version": PAYLOAD_VERSION,
            "id": event_id,
            "type": event_type,
            "created_at": now.isoformat(),
            "handoff": handoff_data(handoff),
            "note": note,
        },
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    return delivery


# --- Delivery -------------------------------------------------------------------------------

USER_AGENT = "amberline-webhooks/1"
SIGNATURE_HEADER = "X-Amberline-Signature"
TIMESTAMP_HEADER = "X-Amberline-Timestamp"
EVENT_HEADER = "X-Amberline-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Seconds between attempts: BACKOFF_BASE * 2**(attempts - 1), never more than BACKOFF_CAP.
BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0
MAX_ERROR_CHARS = 500


def body_bytes(payload: Dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for ``payload``: compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Amberline-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>``.

    ``timestamp`` is the ``X-Amberline-Timestamp`` header (unix seconds, as sent) and ``body`` the
    raw request body; signing the timestamp with the body stops replays of an old request.
    """
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: Union[dt.datetime, float, None] = None,
    tolerance: float = 300,
) -> bool:
    """Check a received webhook: what a receiver runs before trusting the request.

    Args:
        secret: the shared secret (``BOT_WEBHOOK_SECRET`` on our side).
        timestamp: the ``X-Amberline-Timestamp`` header, unchanged.
        body: the raw request body, before any JSON parsing.
        signature: the ``X-Amberline-Signature`` header.
        now: the current time (aware datetime or unix seconds); default: the clock.
        tolerance: how many seconds the timestamp may differ from ``now``, either way.

    Returns:
        True only when the signature matches (compared in constant time) and the timestamp is
        within ``tolerance`` of ``now``. Never raises: a malformed timestamp or signature is False.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if now is None:
        current = utcnow().timestamp()
    elif isinstance(now, dt.datetime):
        current = now.timestamp()
    else:
        current = float(now)
    if abs(current - sent) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode("utf-8"), str(signature).encode("utf-8"))


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 5, 10, 20... at most an hour."""
    exponent = max(attempts - 1, 0)
    if exponent >= 20:  # 5 * 2**20 is far above the cap; avoid huge numbers
        return BACKOFF_CAP
    return float(min(BACKOFF_BASE * 2**exponent, BACKOFF_CAP))


def headers_for(
    event_id: str, event_type: str, body: bytes, *, timestamp: int, secret: Optional[str]
) -> Dict[str, str]:
    """The request headers of one delivery; the signature only when ``secret`` is set."""
    headers = {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: event_id,
        EVENT_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        "User-Agent": USER_AGENT,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, str(timestamp), body)
    return headers


def _due_pks(engine: Engine, now: dt.datetime, limit: int) -> List[int]:
    """Pending deliveries whose time has come, oldest first."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(WebhookDelivery.pk)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.pk)
            .limit(limit)
        ).scalars()
        return [int(pk) for pk in rows]


def _claim(
    engine: Engine, pk: int, now: dt.datetime, lease: float
) -> Optional[Tuple[str, str, Dict[str, Any], int]]:
    """Take delivery ``pk`` for ``lease`` seconds; None when another worker has it or it is done.

    The conditional UPDATE moves ``next_attempt_at`` past ``now``: of two workers, only the one
    whose UPDATE changed the row (rowcount 1) sends. Returns (event_id, type, payload, attempts).
    """
    with session_scope(engine) as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.pk == pk,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + dt.timedelta(seconds=lease))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        row = session.execute(
            select(
                WebhookDelivery.event_id,
                WebhookDelivery.event_type,
                WebhookDelivery.payload,
                WebhookDelivery.attempts,
            ).where(WebhookDelivery.pk == pk)
        ).one()
        return str(row[0]), str(row[1]), dict(row[2]), int(row[3])


def _redact(message: str, url: str) -> str:
    """``message`` without the URL's query string or password (they may hold a token)."""
    parts = urlsplit(url)
    for secret in (parts.query, parts.password):
        if secret:
            message = message.replace(secret, "[redacted]")
    return message


def _post(
    http: requests.Session, url: str, body: bytes, headers: Dict[str, str], timeout: float
) -> Tuple[Optional[int], Optional[str]]:
    """POST once; returns (status code or None, error or None for a 2xx). Never raises."""
    try:
        response = http.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {_redact(str(exc), url)}"[:MAX_ERROR_CHARS]
    status = response.status_code
    response.close()  # the receiver's body is not read
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}"


def _record(
    engine: Engine,
    pk: int,
    seen_attempts: int,
    now: dt.datetime,
    *,
    status_code: Optional[int],
    error: Optional[str],
    max_attempts: int,
) -> Optional[str]:
    """Store one attempt's outcome; returns "delivered", "retrying", "failed" (None: not ours).

    Only a row still pending with the attempts this worker saw is changed, so a worker whose lease
    ran out cannot overwrite a later worker's outcome.
    """
    values: Dict[str, Any]
    if error is None:
        outcome = "delivered"
        values = {"status": "delivered", "delivered_at": now}  # last_error kept: history
    else:
        attempts = seen_attempts + 1
        gone = status_code == 410
        outcome = "failed" if gone or attempts >= max_attempts else "retrying"
        values = {
            "status": "failed" if outcome == "failed" else "pending",
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now + dt.timedelta(seconds=backoff_seconds(attempts)),
        }
    with session_scope(engine) as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.pk == pk,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == seen_attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return outcome if result.rowcount == 1 else None


def deliver_due(
    engine: Engine,
    *,
    url: str,
    secret: Optional[str],
    max_attempts: int,
    now: Optional[dt.datetime] = None,
    timeout: float = 5.0,
    limit: int = 50,
    http: Optional[requests.Session] = None,
) -> Dict[str, int]:
    """Post the pending deliveries that are due to ``url``, oldest first, once each per call.

    Each delivery is claimed, posted and recorded in short transactions of its own (no database
    transaction is open during the HTTP call); the claim is a lease of ``timeout * 2`` seconds on
    ``next_attempt_at``, so concurrent workers do not send the same delivery together (a request
    that outlives its lease may be sent again: delivery is at least once). A 2xx marks the
    delivery ``delivered``. Anything else (another status, a connection error, a timeout; redirects
    are not followed) counts an attempt, records ``last_error`` and schedules the next attempt
    after ``backoff_seconds``; at ``max_attempts`` attempts, or at once on ``410 Gone`` (the
    receiver says the endpoint is gone for good), the delivery becomes ``failed``.

    Args:
        engine: the database.
        url: where to POST (``BOT_WEBHOOK_URL``).
        secret: the HMAC secret; None or empty: no signature header.
        max_attempts: attempts before giving up (``BOT_WEBHOOK_MAX_ATTEMPTS``).
        now: the time to use (tests); default: the clock, read again for each delivery.
        timeout: seconds for connecting and for each read of the response.
        limit: at most this many deliveries per call.
        http: a requests session to reuse; default: one for this call.

    Returns:
        How many deliveries this call marked ``delivered``, left ``retrying`` and marked ``failed``.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed (HTTP errors never raise).
    """
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    lease = timeout * 2
    own_http = http is None
    session_http = requests.Session() if http is None else http
    try:
        for pk in _due_pks(engine, now if now is not None else utcnow(), limit):
            current = now if now is not None else utcnow()
            claimed = _claim(engine, pk, current, lease)
            if claimed is None:
                continue
            event_id, event_type, payload, attempts = claimed
            body = body_bytes(payload)
            headers = headers_for(
                event_id, event_type, body, timestamp=int(current.timestamp()), secret=secret
            )
            status_code, error = _post(session_http, url, body, headers, timeout)
            finished = now if now is not None else utcnow()
            outcome = _record(
                engine,
                pk,
                attempts,
                finished,
                status_code=status_code,
                error=error,
                max_attempts=max_attempts,
            )
            if outcome is None:
                continue
            counts[outcome] += 1
            if error is not None:
                logger.warning(
                    "webhook %s (%s) attempt %d: %s", event_id, event_type, attempts + 1, error
                )
    finally:
        if own_http:
            session_http.close()
    return counts


async def run_worker(engine: Engine, settings: Settings, *, every: float = 2.0) -> None:
    """Deliver due webhooks every ``every`` seconds, forever (start it as a background task).

    Does nothing while ``settings.webhook_url`` is unset. A failing round (say, the database is
    down) is logged and the next round runs as usual; only cancelling the task stops it (a round
    already running in its thread then finishes on its own).
    """
    while True:
        if settings.webhook_url:
            secret = (
                settings.webhook_secret.get_secret_value()
                if settings.webhook_secret is not None
                else None
            )
            try:
                counts = await asyncio.to_thread(
                    deliver_due,
                    engine,
                    url=settings.webhook_url,
                    secret=secret,
                    max_attempts=settings.webhook_max_attempts,
                )
                if any(counts.values()):
                    logger.info("webhooks: %s", counts)
            except Exception:
                logger.exception("webhook delivery round failed")
        await asyncio.sleep(every)
