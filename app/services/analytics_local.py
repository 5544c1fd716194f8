"""The dashboard's figures from what this terminal holds for its store.

The server keeps rollups for every store (server/analytics); a till offline, or one
whose person has no online session, shows what its own store file holds: its own sales
and every order the pull brought from the store's other tills and the back office, as
fresh as the last sync (``as_of``). Days are the till's local days. Order type, as on
the server: ``offline`` for an order recorded on a till, ``online`` for the back
office's (an order the pull brought with no device).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.schedule import overdue
from app.services.payment_plans import status_of
from app.store.local import LocalStore
from app.store.models import Installment, Order, OrderLine, Payment, SyncState

LAST_SYNC = "last_sync"  # sync/state.py's key (app may not import sync)
DELETED = "deleted"


@dataclass(frozen=True)
class Figure:
    orders: int = 0
    gross: int = 0
    tax: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.tax

    @property
    def average(self) -> int:
        return self.gross // self.orders if self.orders else 0


@dataclass(frozen=True)
class ProductLine:
    name: str
    qty_milli: int
    revenue: int


@dataclass(frozen=True)
class Dashboard:
    """Figures of kept (not deleted) orders between two local dates (inclusive)."""

    date_from: date
    date_to: date
    total: Figure
    today: Figure
    same_day_last_week: Figure
    by_hour: list[tuple[int, int]]  # (local hour 0-23, gross) over the range
    by_day: list[tuple[date, int]]  # every day of the range, 0 where nothing was sold
    by_type: dict[str, Figure]
    tenders: dict[str, int]
    top_products: list[ProductLine]
    plans_outstanding: int
    plans_overdue: int
    plans_overdue_amount: int
    as_of: datetime | None = None  # the last sync with the server; None: never synced
    store_name: str = ""
    deleted: int = 0
    notes: list[str] = field(default_factory=list)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()


def _span(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    return _local_midnight(day_from), _local_midnight(day_to + timedelta(days=1))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def kind_of(order: Order) -> str:
    return "offline" if order.device_id else "online"


def _figure(orders: list[Order]) -> Figure:
    return Figure(len(orders), sum(o.total for o in orders), sum(o.tax for o in orders))


def dashboard(store: LocalStore, date_from: date, date_to: date, today: date | None = None,
              top: int = 10) -> Dashboard:
    """The figures of a date range, today against the same day last week, and plans."""
    today = today or datetime.now().astimezone().date()
    start, end = _span(date_from, date_to)
    with store.db.read() as s:
        rows = list(s.scalars(select(Order).where(Order.created_at >= start.astimezone(UTC),
                                                  Order.created_at < end.astimezone(UTC))))
        kept = [o for o in rows if o.status != DELETED]
        ids = [o.id for o in kept]
        lines = list(s.scalars(select(OrderLine).where(OrderLine.order_id.in_(ids))))
        pays = list(s.scalars(select(Payment).where(Payment.created_at >= start.astimezone(UTC),
                                                    Payment.created_at < end.astimezone(UTC))))
        day_figures = [_figure(_kept_between(s, *_span(d, d))) for d in
                       (today, today - timedelta(days=7))]
        plans = _plans(s, today)
        synced = s.get(SyncState, LAST_SYNC)
    hours: dict[int, int] = defaultdict(int)
    days: dict[date, int] = defaultdict(int)
    kinds: dict[str, list[Order]] = defaultdict(list)
    for o in kept:
        local = _aware(o.created_at).astimezone()
        hours[local.hour] += o.total
        days[local.date()] += o.total
        kinds[kind_of(o)].append(o)
    tenders: dict[str, int] = defaultdict(int)
    for p in pays:
        tenders[p.method] += p.amount
    products: dict[str, list[int | str]] = {}
    for li in lines:
        entry = products.setdefault(li.product_id or f"~{li.name}", [li.name, 0, 0])
        entry[1] = int(entry[1]) + li.qty_milli
        entry[2] = int(entry[2]) + li.total
    ranked = sorted(products.values(), key=lambda e: (-int(e[2]), -int(e[1]), str(e[0])))
    n_days = (date_to - date_from).days + 1
    return Dashboard(
        date_from=date_from, date_to=date_to, total=_figure(kept), today=day_figures[0],
        same_day_last_week=day_figures[1], by_hour=[(h, hours[h]) for h in range(24)],
        by_day=[(date_from + timedelta(days=i), days[date_from + timedelta(days=i)])
                for i in range(n_days)],
        by_type={k: _figure(v) for k, v in sorted(kinds.items())},
        tenders=dict(sorted(tenders.items())),
        top_products=[ProductLine(str(n), int(q), int(r)) for n, q, r in ranked[:top]],
        plans_outstanding=plans[0], plans_overdue=plans[1], plans_overdue_amount=plans[2],
        as_of=datetime.fromisoformat(synced.value) if synced and synced.value else None,
        store_name=store.settings().name, deleted=len(rows) - len(kept),
    )


def _kept_between(s: Session, start: datetime, end: datetime) -> list[Order]:
    return list(s.scalars(select(Order).where(Order.created_at >= start.astimezone(UTC),
                                              Order.created_at < end.astimezone(UTC),
                                              Order.status != DELETED)))


def _plans(s: Session, today: date) -> tuple[int, int, int]:
    """(outstanding, overdue plans, overdue amount) of every open plan the till holds."""
    outstanding = late_count = late_amount = 0
    orders = s.scalars(select(Order).where(Order.status != DELETED,
                                           Order.id.in_(select(Installment.order_id))))
    for order in orders:
        rows = list(s.scalars(select(Installment).where(Installment.order_id == order.id)
                              .order_by(Installment.number)))
        status = status_of(order, rows)
        outstanding += max(0, order.balance)  # (goods brought back: app/domain/order_balance)
        late = sum(i.outstanding for i in overdue(status.installments, today))
        if late:
            late_count += 1
            late_amount += late
    return outstanding, late_count, late_amount


def csv_rows(d: Dashboard) -> list[list[str]]:
    """The dashboard as rows for a CSV file (amounts in minor units, plain numbers)."""
    rows: list[list[str]] = [["figure", "key", "orders", "amount"]]
    rows.append(["total", f"{d.date_from}..{d.date_to}", str(d.total.orders), str(d.total.gross)])
    rows.append(["tax", "", "", str(d.total.tax)])
    rows.append(["today", "", str(d.today.orders), str(d.today.gross)])
    rows.append(["same day last week", "", str(d.same_day_last_week.orders),
                 str(d.same_day_last_week.gross)])
    rows += [["order type", k, str(f.orders), str(f.gross)] for k, f in d.by_type.items()]
    rows += [["tender", k, "", str(v)] for k, v in d.tenders.items()]
    rows += [["day", day.isoformat(), "", str(v)] for day, v in d.by_day]
    rows += [["hour", f"{h:02d}:00", "", str(v)] for h, v in d.by_hour if v]
    rows += [["product", p.name, f"{p.qty_milli / 1000:g}", str(p.revenue)]
             for p in d.top_products]
    rows.append(["plans outstanding", "", "", str(d.plans_outstanding)])
    rows.append(["plans overdue", "", str(d.plans_overdue), str(d.plans_overdue_amount)])
    return rows
