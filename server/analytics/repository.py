"""Reads of the analytics rollups (never of the orders table) and the stores' zones
(the store scope: server/tenancy/scope.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Subquery, Table, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from server.analytics.consumer import (
    DAILY,
    DELETIONS,
    HOURLY,
    ORDERS,
    PRODUCTS,
    REFUNDS,
    SALES,
    TENDERS,
)
from server.db.analytics import StoreTimeZone
from server.db.tenancy import Store


@dataclass(frozen=True)
class Window:
    """One store's rows to read: its UTC range and the filters asked for."""

    store_id: str
    start: datetime
    end: datetime
    terminal_id: str | None = None
    staff_id: str | None = None
    order_type: str | None = None


def _where(table: Table, w: Window) -> list[Any]:
    c = table.c
    conds = [c.store_id == w.store_id, c.slot >= w.start, c.slot < w.end]
    if w.terminal_id is not None:
        conds.append(c.terminal_id == w.terminal_id)
    if w.staff_id is not None:
        conds.append(c.staff_id == w.staff_id)
    if w.order_type is not None:
        conds.append(c.order_type == w.order_type)
    return conds


def whole_days(w: Window) -> tuple[datetime, datetime] | None:
    """The whole UTC days inside the window (first and last UTC midnight), if any."""
    first = w.start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < w.start:
        first += timedelta(days=1)
    last = w.end.replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None


def source(table: Table, w: Window, *cols: str) -> Subquery:
    """``cols`` of the window's rows of a quarter-hour rollup: its whole UTC days from the
    daily twin, the ragged ends (local midnight to UTC midnight) from the quarter-hours.
    Every row counted once, in any zone; a day's rows instead of ~100 quarter-hours'."""
    twin, days = DAILY.get(table), whole_days(w)
    if twin is None or days is None:
        return select(*[table.c[c] for c in cols]).where(*_where(table, w)).subquery()
    first, last = days
    ends = select(*[table.c[c] for c in cols]).where(
        *_where(table, w), or_(table.c.slot < first, table.c.slot >= last))
    middle = select(*[twin.c[c] for c in cols]).where(
        *_where(twin, replace(w, start=first, end=last)))
    return union_all(ends, middle).subquery()


SALES_SUMS = ("orders", "gross", "tax", "plans_started", "plan_amount")


def sales_by(session: Session, w: Window, *dims: str) -> list[Any]:
    """Kept orders summed by ``dims`` (columns of analytics_sales; by ``slot``, the
    quarter-hours alone, else the daily rows where they serve)."""
    src = (select(*[SALES.c[c] for c in (*dims, *SALES_SUMS)]).where(*_where(SALES, w))
           .subquery() if "slot" in dims else source(SALES, w, *dims, *SALES_SUMS))
    c = src.c
    cols = [c[d] for d in dims]
    return list(session.execute(
        select(*cols, *[func.sum(c[s]) for s in SALES_SUMS]).group_by(*cols)).all())


def hourly(session: Session, w: Window) -> list[Any]:
    """(hour, order_type, orders, gross, tax, plans started, plan amount) of the UTC hours
    in the window (analytics_hourly: no terminal or staff filter, whole-hour bounds)."""
    c = HOURLY.c
    conds = [c.store_id == w.store_id, c.hour >= w.start, c.hour < w.end]
    if w.order_type is not None:
        conds.append(c.order_type == w.order_type)
    return list(session.execute(
        select(c.hour, c.order_type, c.orders, c.gross, c.tax, c.plans_started,
               c.plan_amount).where(*conds)).all())


def tenders_by(session: Session, w: Window, *dims: str) -> list[Any]:
    c = source(TENDERS, w, *dims, "payments", "amount").c
    cols = [c[d] for d in dims]
    return list(session.execute(
        select(*cols, func.sum(c.payments), func.sum(c.amount)).group_by(*cols)).all())


def top_products(session: Session, w: Window, limit: int) -> list[Any]:
    """(key, name, qty, revenue) of the most sold products, by revenue then quantity."""
    c = source(PRODUCTS, w, "product_key", "name", "qty_milli", "revenue").c
    revenue, qty = func.sum(c.revenue), func.sum(c.qty_milli)
    return list(session.execute(
        select(c.product_key, func.max(c.name), qty, revenue)
        .group_by(c.product_key)
        .having(qty != 0).order_by(revenue.desc(), qty.desc(), c.product_key)
        .limit(limit)).all())


def reasons(session: Session, table: Table, w: Window) -> list[Any]:
    """(reason, count, amount) of refunds or deletions."""
    c = table.c
    count = c.refunds if table is REFUNDS else c.orders
    return list(session.execute(
        select(c.reason, func.sum(count), func.sum(c.amount))
        .where(*_where(table, w)).group_by(c.reason).order_by(c.reason)).all())


def outflows(session: Session, w: Window) -> list[Any]:
    """("refund" or "deletion", reason, count, amount): both in one read."""
    r, d = REFUNDS.c, DELETIONS.c
    parts = union_all(
        select(literal("refund").label("kind"), r.reason, r.refunds.label("n"), r.amount)
        .where(*_where(REFUNDS, w)),
        select(literal("deletion").label("kind"), d.reason, d.orders.label("n"), d.amount)
        .where(*_where(DELETIONS, w))).subquery()
    c = parts.c
    return list(session.execute(
        select(c.kind, c.reason, func.sum(c.n), func.sum(c.amount))
        .group_by(c.kind, c.reason).order_by(c.kind, c.reason)).all())


def open_plans(session: Session, store_id: str, w: Window) -> list[Any]:
    """(total, paid, refunded, returned, installments) of the store's orders with a plan
    not paid off (a short list, not the orders); ``returned``: the goods brought back's
    worth, in the order's facts when any came back (server/analytics/consumer.py)."""
    c = ORDERS.c
    conds = [c.store_id == store_id, c.plan_open.is_(True)]
    if w.terminal_id is not None:
        conds.append(c.terminal_id == w.terminal_id)
    if w.order_type is not None:
        conds.append(c.order_type == w.order_type)
    return list(session.execute(
        select(c.total, c.paid, c.refunded,
               func.coalesce(c.facts["returned"].as_integer(), 0), c.installments)
        .where(*conds)).all())


def stores(session: Session, org_id: str) -> list[Store]:
    return list(session.scalars(select(Store).where(Store.org_id == org_id)
                                .order_by(Store.name, Store.id)))


def org_zones(session: Session, org_id: str) -> dict[str, str | None]:
    """The organization's stores and the zone each set (None: none set)."""
    return {sid: zone for sid, zone in session.execute(
        select(Store.id, StoreTimeZone.time_zone)
        .outerjoin(StoreTimeZone, StoreTimeZone.store_id == Store.id)
        .where(Store.org_id == org_id))}


def zones(session: Session, store_ids: list[str]) -> dict[str, str]:
    rows = session.execute(select(StoreTimeZone.store_id, StoreTimeZone.time_zone)
                           .where(StoreTimeZone.store_id.in_(store_ids))).all()
    return {store: zone for store, zone in rows}


__all__ = ["DELETIONS", "REFUNDS", "Window", "hourly", "open_plans", "org_zones", "outflows",
           "reasons", "sales_by", "stores", "tenders_by", "top_products", "zones"]
