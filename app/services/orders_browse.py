"""Every order of the store this till holds, a page at a time (the orders browser).

Pages are keyset pages over (created_at, id), newest first, so the hundredth page costs
what the first does; filters are plain columns (status, date range, terminal, staff, order
type, reference prefix) and the customer's phone by its keyed hash (exact match).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import and_, or_, select

from app.store.local import LocalStore
from app.store.models import Customer, Order, Staff

PAGE = 200


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive, local days
    terminal_id: str | None = None
    staff_id: str | None = None
    order_type: str | None = None  # offline (a till's), online (the back office's)
    reference: str = ""
    phone: str = ""


class OrderRow(NamedTuple):
    """One order as the browser lists it. A tuple of plain values, so Python's cyclic
    garbage collector stops tracking it: 100,000 rows held by the browser would otherwise
    make every full collection walk them, a pause of ~100 ms on whichever thread
    triggers it (benchmarks/notes/analytics.md)."""

    id: str
    reference: str
    created_at: datetime
    status: str
    order_type: str
    total: int
    paid: int
    staff: str
    terminal_id: str


Cursor = tuple[datetime, str] | None


def _local(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


def _conditions(store: LocalStore, f: OrderFilter) -> list:  # type: ignore[type-arg]
    conds = []
    if f.status:
        conds.append(Order.status == f.status)
    if f.date_from:
        conds.append(Order.created_at >= _local(f.date_from))
    if f.date_to:
        conds.append(Order.created_at < _local(f.date_to + timedelta(days=1)))
    if f.terminal_id:
        conds.append(Order.device_id == f.terminal_id)
    if f.staff_id:
        conds.append(Order.created_by == f.staff_id)
    if f.order_type == "offline":
        conds.append(and_(Order.device_id.is_not(None), Order.device_id != ""))
    elif f.order_type == "online":
        conds.append(or_(Order.device_id.is_(None), Order.device_id == ""))
    if f.reference.strip():
        conds.append(Order.reference.like(f.reference.strip().upper() + "%"))
    if f.phone.strip():
        index = store.cipher.phone_index(f.phone.strip())
        conds.append(Order.customer_id.in_(select(Customer.id).where(Customer.phone_index == index)))
    return conds


def page(store: LocalStore, f: OrderFilter, after: Cursor = None, limit: int = PAGE
         ) -> tuple[list[OrderRow], Cursor]:
    """Up to ``limit`` orders after ``after`` (newest first) and the cursor of the next
    page (None at the end)."""
    conds = _conditions(store, f)
    if after is not None:
        at, oid = after
        conds.append(or_(Order.created_at < at, and_(Order.created_at == at, Order.id < oid)))
    stmt = (select(Order.id, Order.reference, Order.created_at, Order.status, Order.device_id,
                   Order.total, Order.paid, Staff.name)
            .outerjoin(Staff, Staff.id == Order.created_by).where(*conds)
            .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    with store.db.read() as s:
        rows = [OrderRow(r.id, r.reference, r.created_at, r.status,
                         "offline" if r.device_id else "online", r.total, r.paid,
                         r.name or "", r.device_id or "") for r in s.execute(stmt)]
    nxt = (rows[-1].created_at, rows[-1].id) if len(rows) == limit else None
    return rows, nxt


def staff_choices(store: LocalStore) -> list[tuple[str, str]]:
    with store.db.read() as s:
        return [(r.id, r.name) for r in s.execute(select(Staff.id, Staff.name).order_by(Staff.name))]


def terminal_choices(store: LocalStore) -> list[str]:
    with store.db.read() as s:
        return [d for d in s.scalars(select(Order.device_id).distinct()) if d]
