"""Analytics rollups (issue 15): kept from the event outbox, read by the dashboards.

Every rollup is keyed by the store and a UTC quarter-hour ``slot`` (15 minutes, so a
store in a zone with a half- or three-quarter-hour offset still groups exactly by its
own days), then by the terminal, the staff member and the order type (``offline``: a
till's sale; ``online``: the REST back office's). An empty terminal or staff id is
stored as ``""`` (key columns are never NULL). The dashboards sum these rows; they never
read the orders table. ``analytics_orders`` keeps, per order, what it last added to the
rollups, so an update or a deletion subtracts exactly that and adds its new share.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType

_ID = String(36)


class AnalyticsOrder(Base):
    """What one order last added to the rollups (``facts``) and its plan balance."""

    __tablename__ = "analytics_orders"
    __table_args__ = (Index(None, "store_id", "plan_open"),)

    order_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_ID)
    store_id: Mapped[str] = mapped_column(_ID)
    order_type: Mapped[str] = mapped_column(String(10))
    terminal_id: Mapped[str] = mapped_column(_ID, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    installments: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    plan_open: Mapped[bool] = mapped_column(default=False)


class AnalyticsSales(Base):
    """Orders kept (not deleted) by the quarter-hour they were recorded in."""

    __tablename__ = "analytics_sales"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    staff_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    plans_started: Mapped[int] = mapped_column(BigInteger, default=0)
    plan_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsProducts(Base):
    """What kept orders sold of each product (``product_key``: its id, or ``~name``)."""

    __tablename__ = "analytics_products"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    staff_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    product_key: Mapped[str] = mapped_column(String(310), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    qty_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsTenders(Base):
    """Payments received, by when they were taken, the tender and whether on a plan."""

    __tablename__ = "analytics_tenders"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    staff_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    tender: Mapped[str] = mapped_column(String(30), primary_key=True)
    on_plan: Mapped[bool] = mapped_column(primary_key=True)
    payments: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsRefunds(Base):
    """Refunds by when they were made (terminal: the order's; staff: who refunded)."""

    __tablename__ = "analytics_refunds"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    staff_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    method: Mapped[str] = mapped_column(String(30), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), primary_key=True)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsDeletions(Base):
    """Deleted orders, by the quarter-hour they were recorded in, and the reason."""

    __tablename__ = "analytics_deletions"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    staff_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsHourly(Base):
    """Kept orders by store, UTC hour and order type: what a dashboard reads for its
    totals, order types and periods when its days start on whole UTC hours (a store
    whose zone is a whole number of hours off UTC); the quarter-hour rows otherwise."""

    __tablename__ = "analytics_hourly"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    plans_started: Mapped[int] = mapped_column(BigInteger, default=0)
    plan_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsTotals(Base):
    """All-time kept orders and revenue per store and order type (the /metrics gauges)."""

    __tablename__ = "analytics_totals"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)


def _daily_twin(model: type[Base]) -> Table:
    """A quarter-hour rollup's twin by UTC day: the same columns, ``slot`` the UTC
    midnight its quarter-hours fall after. A dashboard reads the whole UTC days of its
    range here and only the ragged ends (local midnight to UTC midnight) from the
    quarter-hours, so any zone is served exactly from about a row per day and key."""
    source: Table = model.__table__  # type: ignore[assignment]
    return Table(source.name.replace("analytics_", "analytics_daily_"), Base.metadata,
                 *[c._copy() for c in source.columns])


DAILY_SALES = _daily_twin(AnalyticsSales)
DAILY_TENDERS = _daily_twin(AnalyticsTenders)


class StoreTimeZone(Base):
    """The IANA zone a store's days are counted in (UTC when none is set)."""

    __tablename__ = "analytics_store_zones"

    store_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
