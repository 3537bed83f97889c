"""The orders table: what the order-status self-service checks against."""

from __future__ import annotations

from sqlalchemy import JSON, Date, Integer, String
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.timeutil import UTCDateTime, utcnow


class Order(Base):
    """A customer's order, as the store's order system would expose it."""

    __tablename__ = "orders"

    number = Column(String(20), primary_key=True)  # e.g. AM-100482
    email = Column(String(255), nullable=False)  # stored lower-case
    customer_name = Column(String(200), nullable=False)
    country = Column(String(2), nullable=False)
    status = Column(String(32), nullable=False)
    carrier = Column(String(64), nullable=True)
    tracking_number = Column(String(64), nullable=True)
    delivery_method = Column(String(64), nullable=True)
    expected_delivery = Column(Date, nullable=True)
    total_cents = Column(Integer, nullable=False)  # in the currency's minor unit
    currency = Column(String(3), nullable=False)
    items = Column(JSON, nullable=False, default=list)
    placed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
