"""Order lookup: both number and e-mail must match; the answer never says which was wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ConfigurationError
from bot.orders.lookup import (
    describe,
    find_order,
    load_demo_orders,
    normalize_email,
    normalize_order_number,
)
from bot.settings import PROJECT_ROOT

ORDERS = PROJECT_ROOT / "data" / "orders.yml"


@pytest.mark.parametrize(
    "text, number",
    [
        ("AM-100482", "AM-100482"),
        ("am100482", "AM-100482"),
        ("my order is am 100482 thanks", "AM-100482"),
        ("100482", "AM-100482"),
        ("AM-1004821", None),
        ("12345", None),
        ("", None),
        (None, None),
        ("'; DROP TABLE orders; --", None),
    ],
)
def test_normalize_order_number(text, number) -> None:
    assert normalize_order_number(text) == number


@pytest.mark.parametrize(
    "text, email",
    [
        ("Ieva.K@Example.com", "ieva.k@example.com"),
        ("it's jonas@inbox.lt thanks", "jonas@inbox.lt"),
        ("no email here", None),
        ("a@b", None),
    ],
)
def test_normalize_email(text, email) -> None:
    assert normalize_email(text) == email


@pytest.fixture
def orders(session):
    load_demo_orders(session, ORDERS, today=dt.date(2026, 11, 23))
    return session


def test_both_match(orders) -> None:
    order = find_order(orders, number="am 100482", email="IEVA.KAZLAUSKIENE@example.com")
    assert order is not None
    info = describe(order)
    assert info["status"] == "in_transit" and info["carrier"] == "DPD"
    assert info["expected_delivery"] == "2026-11-24"


@pytest.mark.parametrize(
    "number, email",
    [
        ("AM-100482", "someone.else@example.com"),  # right number, wrong e-mail
        ("AM-999999", "ieva.kazlauskiene@example.com"),  # wrong number, right e-mail
        ("AM-100517", "ieva.kazlauskiene@example.com"),  # another customer's order
        ("", ""),
        ("AM-100482' OR '1'='1", "x' OR '1'='1"),
    ],
)
def test_any_mismatch_reveals_nothing(orders, number: str, email: str) -> None:
    assert find_order(orders, number=number, email=email) is None


def test_reload_updates_instead_of_duplicating(orders) -> None:
    first = load_demo_orders(orders, ORDERS)
    assert load_demo_orders(orders, ORDERS) == first


def test_bad_orders_file(tmp_path: Path, session) -> None:
    path = tmp_path / "orders.yml"
    path.write_text("orders: [")
    with pytest.raises(ConfigurationError, match="cannot read demo orders"):
        load_demo_orders(session, path)
