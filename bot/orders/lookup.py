"""Order-status lookup: an order is shown only when its number and e-mail both match.

The answer to a wrong number and to a wrong e-mail is the same ``None``, so a caller cannot tell
which one was wrong (and neither can someone guessing).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from sqlalchemy.orm import Session

from bot.errors import ConfigurationError
from bot.orders.models import Order
from bot.timeutil import utcnow

ORDER_NUMBER = re.compile(r"(?<![\w-])(?:am[\s-]?)?(\d{6})(?!\w)", re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")

STATUS_TEXT = {
    "processing": "being prepared in our warehouse",
    "in_transit": "on its way",
    "out_for_delivery": "out for delivery today",
    "ready_for_pickup": "ready for pickup",
    "delivered": "delivered",
    "delayed": "delayed in transit",
    "cancelled": "cancelled",
    "returned": "returned to us",
}


def normalize_order_number(text: Optional[str]) -> Optional[str]:
    """'am 100482', 'AM-100482' or '100482' -> 'AM-100482'; None if there is none."""
    if not text:
        return None
    match = ORDER_NUMBER.search(str(text))
    return f"AM-{match.group(1)}" if match else None


def normalize_email(text: Optional[str]) -> Optional[str]:
    """The first e-mail address in ``text``, lower-case; None if there is none."""
    if not text:
        return None
    match = EMAIL.search(str(text))
    return match.group(0).lower() if match else None


def find_order(session: Session, *, number: str, email: str) -> Optional[Order]:
    """The order when both number and e-mail match, else None."""
    number = normalize_order_number(number) or ""
    email = normalize_email(email) or ""
    order = session.get(Order, number) if number else None
    # Compare in constant time, and do the comparison even when the number is unknown.
    stored = order.email if order is not None else "\x00"
    if hmac.compare_digest(stored.encode(), email.encode()) and order is not None:
        return order
    return None


def describe(order: Order) -> Dict[str, Any]:
    """What the customer may be told about their (verified) order."""
    return {
        "number": order.number,
        "status": order.status,
        "status_text": STATUS_TEXT.get(order.status, order.status.replace("_", " ")),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "delivery_method": order.delivery_method,
        "expected_delivery": (
            order.expected_delivery.isoformat() if order.expected_delivery else None
        ),
        "items": list(order.items or []),
    }


def load_demo_orders(session: Session, path: Path, *, today: Optional[dt.date] = None) -> int:
    """Insert or refresh the demo orders of ``path``; how many. Raises ConfigurationError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows: List[Dict[str, Any]] = data["orders"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ConfigurationError(f"{path}: cannot read demo orders ({error})") from error
    now = utcnow()
    today = today or now.date()
    for row in rows:
        number = normalize_order_number(row["number"])
        if number is None:
            raise ConfigurationError(f"{path}: bad order number {row['number']!r}")
        order = session.get(Order, number) or Order(number=number)
        order.email = str(row["email"]).lower()
        order.customer_name = row["customer_name"]
        order.country = row["country"]
        order.status = row["status"]
        order.carrier = row.get("carrier")
        order.tracking_number = row.get("tracking_number")
        order.delivery_method = row.get("delivery_method")
        placed = today - dt.timedelta(days=int(row.get("placed_days_ago", 0)))
        order.placed_at = dt.datetime.combine(placed, dt.time(10, 0), tzinfo=dt.timezone.utc)
        expected = row.get("expected_in_days")
        order.expected_delivery = (
            today + dt.timedelta(days=int(expected)) if expected is not None else None
        )
        order.total_cents = int(Decimal(str(row["total"])) * 100)
        order.currency = row["currency"]
        order.items = list(row.get("items", []))
        order.updated_at = now
        session.add(order)
    session.flush()
    return len(rows)
