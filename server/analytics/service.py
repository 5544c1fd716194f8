"""Dashboard figures from the rollups: store scope, the stores' days, grouping.

Rollup rows are UTC quarter-hours (and, for totals, order types and periods, UTC hours);
a date range is turned into each store's own UTC range (local midnight to local
midnight, so a DST day is 23 or 25 hours) and each row is grouped by the local hour,
day, week or month it falls in. The hourly rows serve whenever each of their hours lies
in one period (a zone a whole number of hours off UTC); the quarter-hours otherwise."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from app.domain import order_balance
from app.domain.schedule import ScheduledInstallment, allocate_paid, overdue
from server.analytics import repository as repo
from server.analytics.schemas import (
    Breakdown,
    Figures,
    Grouping,
    OfflineOrders,
    Outflows,
    PlanFigures,
    ProductFigures,
    ReasonFigures,
    SeriesPoint,
    Summary,
    TenderFigures,
)
from server.context import AppContext, StaffPrincipal
from server.tenancy import scope as store_scope

DEFAULT_ZONE = "UTC"
#: what a store out of scope may not be asked for (403 store_scope)
FIGURES = "read the figures"


@dataclass(frozen=True)
class Ask:
    """What a dashboard asks for."""

    date_from: date
    date_to: date
    group: Grouping = Grouping.DAY
    store_id: str | None = None
    terminal_id: str | None = None
    staff_id: str | None = None
    order_type: str | None = None
    top: int = 10
    today: date | None = None  # for overdue plans; the store's today when None


def scope(session: Session, staff: StaffPrincipal, store_id: str | None) -> list[str]:
    """The stores this person may read (server/tenancy/scope.py: an owner or admin every
    store of the organization, anyone else the stores whose tills they were seen working
    on)."""
    return store_scope.scope(session, staff, store_id,
                             {s.id for s in repo.stores(session, staff.org_id)}, FIGURES)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def store_zones(session: Session, store_ids: list[str]) -> dict[str, ZoneInfo]:
    """Each store's time zone (UTC for a store that set none)."""
    names = repo.zones(session, store_ids)
    return {s: zone_of(names.get(s, DEFAULT_ZONE)) for s in store_ids}


def day_range(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC range of local midnight ``first`` to local midnight after ``last`` (a
    day that changes the clocks is 23 or 25 hours long)."""
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def window(store_id: str, zone: ZoneInfo, ask: Ask) -> repo.Window:
    """The store's UTC range of local midnight ``date_from`` to after ``date_to``."""
    start, end = day_range(zone, ask.date_from, ask.date_to)
    return repo.Window(store_id, start, end, ask.terminal_id, ask.staff_id, ask.order_type)


def period(slot: datetime, zone: ZoneInfo, group: Grouping) -> str:
    local = slot.astimezone(zone)
    if group is Grouping.HOUR:
        return local.replace(minute=0).isoformat(timespec="minutes")
    if group is Grouping.WEEK:
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    if group is Grouping.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    return local.date().isoformat()


@dataclass
class _Sum:
    orders: int = 0
    gross: int = 0
    tax: int = 0
    first: datetime | None = None

    def add(self, row: Any) -> None:
        self.orders += int(row[0] or 0)
        self.gross += int(row[1] or 0)
        self.tax += int(row[2] or 0)

    def figures(self) -> dict[str, int]:
        return {"orders": self.orders, "gross": self.gross, "tax": self.tax,
                "net": self.gross - self.tax,
                "average_sale": self.gross // self.orders if self.orders else 0}


@dataclass
class _Reading:
    """Sums over the stores asked for."""

    total: _Sum = field(default_factory=_Sum)
    by: dict[str, dict[str, _Sum]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(_Sum)))
    series: dict[tuple[str, str], _Sum] = field(default_factory=lambda: defaultdict(_Sum))
    collected: int = 0  # payments on plan orders

    def breakdown(self, dim: str) -> list[Breakdown]:
        return [Breakdown(key=key, **s.figures()) for key, s in sorted(self.by[dim].items())
                if s.orders]

    def points(self) -> list[SeriesPoint]:
        starts: dict[str, datetime] = {}
        for (label, _kind), s in self.series.items():
            assert s.first is not None
            starts[label] = min(starts.get(label, s.first), s.first)
        ordered = sorted(self.series.items(), key=lambda kv: (starts[kv[0][0]], kv[0]))
        return [SeriesPoint(period=p, order_type=t, **s.figures()) for (p, t), s in ordered
                if s.orders]


def _whole_hour(at: datetime) -> bool:
    return at.minute == 0 and at.second == 0 and at.microsecond == 0


def _hourly_rows(session: Session, w: repo.Window, zone: ZoneInfo, group: Grouping
                 ) -> list[tuple[datetime, str, str, list[Any]]] | None:
    """(hour, order type, period, sums) from analytics_hourly, or None when those rows
    cannot answer exactly: a terminal or staff filter (not among its keys), a day that
    does not start on a whole UTC hour, or an hour split between two periods (a zone a
    half or three quarters of an hour off UTC); the quarter-hour rows answer then."""
    if w.terminal_id is not None or w.staff_id is not None \
            or not (_whole_hour(w.start) and _whole_hour(w.end)):
        return None
    out = []
    for hour, kind, *sums in repo.hourly(session, w):
        label = _hour_label(hour, zone, group)
        if label is None:
            return None
        out.append((hour, kind, label, sums))
    return out


@lru_cache(maxsize=65_536)
def _hour_label(hour: datetime, zone: ZoneInfo, group: Grouping) -> str | None:
    """The period a UTC hour lies in, or None if its quarters fall in two (remembered:
    a dashboard asks for the same hours again and again)."""
    label = period(hour, zone, group)
    return label if period(hour + timedelta(minutes=45), zone, group) == label else None


def _slot_rows(session: Session, w: repo.Window, zone: ZoneInfo, group: Grouping
               ) -> list[tuple[datetime, str, str, list[Any]]]:
    """(slot, order type, period, sums) from the quarter-hour rows (any zone, filters)."""
    labels: dict[datetime, str] = {}
    out = []
    for slot, kind, *sums in repo.sales_by(session, w, "slot", "order_type"):
        label = labels.get(slot)
        if label is None:
            label = labels[slot] = period(slot, zone, group)
        out.append((slot, kind, label, sums))
    return out


def _read_sales(session: Session, w: repo.Window, zone: ZoneInfo, group: Grouping,
                out: _Reading, people: bool = True) -> None:
    """The store's sales: totals, order types, plans and periods from the hourly rollup
    when it answers exactly (else the quarter-hours), staff and terminals summed by the
    database (a few rows each, whatever the range)."""
    rows = _hourly_rows(session, w, zone, group)
    if rows is None:
        rows = _slot_rows(session, w, zone, group)
    plans = out.by["plans"][w.store_id]
    for start, kind, label, sums in rows:
        out.by["order_type"][kind].add(sums)
        out.total.add(sums)
        plans.orders += int(sums[3] or 0)
        plans.gross += int(sums[4] or 0)
        s = out.series[(label, kind)]
        s.add(sums)
        s.first = start if s.first is None else min(s.first, start)
    if people:  # one pass: a few rows per staff member and till
        for staff_id, terminal_id, *sums in repo.sales_by(session, w, "staff_id",
                                                          "terminal_id"):
            out.by["staff_id"][staff_id].add(sums)
            out.by["terminal_id"][terminal_id].add(sums)


def _outflows(rows: list[Any]) -> Outflows:
    merged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for reason, count, amount in rows:
        merged[reason][0] += int(count or 0)
        merged[reason][1] += int(amount or 0)
    items = [ReasonFigures(reason=r, count=c, amount=a) for r, (c, a) in sorted(merged.items())
             if c]
    return Outflows(count=sum(i.count for i in items), amount=sum(i.amount for i in items),
                    by_reason=items)


def plan_balance(total: int, paid: int, refunded: int, returned: int,
                 installments: list[dict[str, Any]], today: date) -> tuple[int, int]:
    """(outstanding, overdue) of one plan order, as the till has them
    (app/services/analytics_local.py ``_plans``): outstanding is the balance due
    (app/domain/order_balance.py: goods brought back and not paid back are not owed;
    money given back beyond them lowers the price); what covers the instalments is all
    but what is still owed, oldest first (app/services/payment_plans.py ``status_of``)."""
    owed = order_balance.owed(total, paid, refunded, returned)
    outstanding = max(0, owed)
    plan = [ScheduledInstallment(i + 1, date.fromisoformat(str(x["due_date"])[:10]),
                                 int(x["amount"])) for i, x in enumerate(installments)]
    down = total - sum(p.amount for p in plan)
    late = overdue(allocate_paid(plan, total - down - owed), today)
    return outstanding, min(outstanding, sum(s.outstanding for s in late))


def _plans(session: Session, windows: list[tuple[repo.Window, ZoneInfo]], ask: Ask,
           reading: _Reading) -> PlanFigures:
    out = PlanFigures(started=sum(s.orders for s in reading.by["plans"].values()),
                      started_amount=sum(s.gross for s in reading.by["plans"].values()))
    for w, zone in windows:
        today = ask.today or datetime.now(zone).date()
        for total, paid, refunded, returned, installments in repo.open_plans(
                session, w.store_id, w):
            owed, late = plan_balance(total, paid, refunded, returned, installments, today)
            out.outstanding += owed
            if late:
                out.overdue_count += 1
                out.overdue_amount += late
    out.collected = reading.collected
    return out


def _stores(session: Session, staff: StaffPrincipal, ask: Ask
            ) -> tuple[list[str], dict[str, str], list[tuple[repo.Window, ZoneInfo]]]:
    org = repo.org_zones(session, staff.org_id)  # the stores and their zones, one read
    store_ids = store_scope.scope(session, staff, ask.store_id, set(org), FIGURES)
    zones = {s: org[s] or DEFAULT_ZONE for s in store_ids}
    return store_ids, zones, [(window(s, zone_of(zones[s]), ask), zone_of(zones[s]))
                              for s in store_ids]


def summary(ctx: AppContext, staff: StaffPrincipal, ask: Ask) -> Summary:
    with ctx.reader() as session:
        return summary_in(session, staff, ask)


def summary_in(session: Session, staff: StaffPrincipal, ask: Ask) -> Summary:
    store_ids, zones, windows = _stores(session, staff, ask)
    reading = _Reading()
    tenders: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    products: dict[str, list[Any]] = {}
    refunds: list[Any] = []
    deletions: list[Any] = []
    for w, zone in windows:
        _read_sales(session, w, zone, ask.group, reading)
        for tender, on_plan, count, amount in repo.tenders_by(session, w, "tender", "on_plan"):
            tenders[tender][0] += int(count or 0)
            tenders[tender][1] += int(amount or 0)
            reading.collected += int(amount or 0) if on_plan else 0
        for key, name, qty, revenue in repo.top_products(session, w, ask.top if len(windows) == 1 else 100_000):
            p = products.setdefault(key, [name, 0, 0])
            p[1] += int(qty or 0)
            p[2] += int(revenue or 0)
        for kind, reason, count, amount in repo.outflows(session, w):
            (refunds if kind == "refund" else deletions).append((reason, count, amount))
    plans = _plans(session, windows, ask, reading)
    top = sorted(products.items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0]))[:ask.top]
    return Summary(
        store_ids=store_ids, time_zones=zones, date_from=ask.date_from, date_to=ask.date_to,
        group=ask.group, totals=Figures(**reading.total.figures()),
        by_order_type=reading.breakdown("order_type"), by_staff=reading.breakdown("staff_id"),
        by_terminal=reading.breakdown("terminal_id"),
        by_tender=[TenderFigures(tender=t, payments=c, amount=a)
                   for t, (c, a) in sorted(tenders.items()) if c],
        series=reading.points(),
        top_products=[ProductFigures(product_key=k, name=n, qty_milli=q, revenue=r)
                      for k, (n, q, r) in top],
        refunds=_outflows(refunds), deletions=_outflows(deletions), plans=plans,
    )


def offline_orders(ctx: AppContext, staff: StaffPrincipal, ask: Ask) -> OfflineOrders:
    with ctx.reader() as session:
        store_ids, _zones, windows = _stores(session, staff, ask)
        reading = _Reading()
        for w, zone in windows:
            _read_sales(session, w, zone, ask.group, reading, people=False)
        return OfflineOrders(store_ids=store_ids, date_from=ask.date_from, date_to=ask.date_to,
                             group=ask.group, by_order_type=reading.breakdown("order_type"),
                             series=reading.points())
