"""Today's sales as the till sees them: each sale with its tenders and refunds, and the
day's totals (sold, taken and refunded by tender, net) for the Today's sales screen.

The totals count money by when it moved: a refund today of yesterday's sale and an
installment taken today both count today, as they do in the drawer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.domain.money import format_plain
from app.domain.order_status import OrderStatus
from app.services.customers import decrypt
from app.store.local import LocalStore
from app.store.models import Order, Payment


@dataclass(frozen=True)
class SaleRow:
    id: str
    reference: str
    status: str
    total: int
    paid: int
    refunded: int
    created_at: datetime
    customer_name: str | None
    lines: int
    methods: tuple[str, ...]  # the tenders it was paid with, in the order taken


@dataclass(frozen=True)
class DayTotals:
    sales: int = 0  # orders made today, deleted ones left out
    sold: int = 0  # what those orders come to
    taken: dict[str, int] = field(default_factory=dict)  # by tender, payments in today
    refunded: dict[str, int] = field(default_factory=dict)  # by tender, refunds out today

    @property
    def net(self) -> int:
        return sum(self.taken.values()) - sum(self.refunded.values())


def todays_sales(store: LocalStore, since: datetime, query: str = "", limit: int = 500) -> list[SaleRow]:
    """Orders since ``since``, newest first, filtered by reference, customer name or amount."""
    q = query.strip().lower()
    with store.db.read() as s:
        orders = s.scalars(select(Order).where(Order.created_at >= since)
                           .order_by(Order.created_at.desc()).limit(limit))
        rows = []
        for o in orders:
            name = decrypt(store.cipher, o.customer).name if o.customer else None
            methods = tuple(dict.fromkeys(p.method for p in sorted(o.payments, key=lambda p: p.created_at)
                                          if p.amount > 0))
            row = SaleRow(o.id, o.reference, o.status, o.total, o.paid, o.refunded, o.created_at, name,
                          len(o.lines), methods)
            if not q or matches(row, q):
                rows.append(row)
        return rows


def matches(row: SaleRow, q: str) -> bool:
    """``q`` (lower case) is part of the reference or customer name, or the total typed as an amount."""
    amount = q.replace(",", ".").lstrip("€$£ ")
    return (q in row.reference.lower() or q in (row.customer_name or "").lower()
            or amount == format_plain(row.total))


def day_totals(store: LocalStore, since: datetime) -> DayTotals:
    """The day so far: sales made, money taken and refunded by tender."""
    with store.db.read() as s:
        count, sold = s.execute(select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
                                .where(Order.created_at >= since,
                                       Order.status != OrderStatus.DELETED.value)).one()
        taken: dict[str, int] = {}
        refunded: dict[str, int] = {}
        for method, amount in s.execute(select(Payment.method, Payment.amount).where(Payment.created_at >= since)):
            bucket = taken if amount > 0 else refunded
            bucket[method] = bucket.get(method, 0) + abs(amount)
        return DayTotals(int(count), int(sold), taken, refunded)
