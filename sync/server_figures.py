"""The dashboard's figures from the server's analytics, for one store and date range.

Three reads under the person's own sign-in (sync/staff_api.py), all from the server's
rollups: ``GET /analytics/summary`` by day (totals, order types, tenders, top products,
deletions, plans), ``GET /analytics/offline-orders`` by hour (revenue by hour of the
store's day) and by day over the last eight days (today against the same day last
week). They fill the same :class:`~app.services.analytics_local.Dashboard` the till's
own figures do, so the screen, the CSV and the PDF show either the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.services.analytics_local import Dashboard, Figure, ProductLine
from sync.staff_api import StaffApi, StaffSession


@dataclass(frozen=True)
class StoreChoice:
    id: str
    name: str


def _figure(row: dict[str, Any] | None) -> Figure:
    row = row or {}
    return Figure(int(row.get("orders", 0)), int(row.get("gross", 0)), int(row.get("tax", 0)))


def _per_period(points: Iterable[dict[str, Any]]) -> dict[str, Figure]:
    """Series points (one per period and order type) added up per period."""
    out: dict[str, Figure] = {}
    for p in points:
        f = out.get(p["period"], Figure())
        out[p["period"]] = Figure(f.orders + int(p.get("orders", 0)),
                                  f.gross + int(p.get("gross", 0)), f.tax + int(p.get("tax", 0)))
    return out


def _hour_of(period: str) -> int:
    """The store's local hour of an hourly period ("2026-12-04T09:00:00+01:00")."""
    return datetime.fromisoformat(period).hour


def dashboard_of(summary: dict[str, Any], hourly: dict[str, Any], week: dict[str, Any],
                 today: date, store_name: str, read_at: datetime) -> Dashboard:
    """The server's answers as dashboard figures (pure: no network, no store)."""
    start, end = date.fromisoformat(summary["date_from"]), date.fromisoformat(summary["date_to"])
    days = {k: f.gross for k, f in _per_period(summary.get("series", [])).items()}
    hours: dict[int, int] = defaultdict(int)
    for period, f in _per_period(hourly.get("series", [])).items():
        hours[_hour_of(period)] += f.gross
    recent = _per_period(week.get("series", []))
    plans = summary.get("plans") or {}
    n_days = (end - start).days + 1
    return Dashboard(
        date_from=start, date_to=end, total=_figure(summary.get("totals")),
        today=recent.get(today.isoformat(), Figure()),
        same_day_last_week=recent.get((today - timedelta(days=7)).isoformat(), Figure()),
        by_hour=[(h, hours[h]) for h in range(24)],
        by_day=[(start + timedelta(days=i), days.get((start + timedelta(days=i)).isoformat(), 0))
                for i in range(n_days)],
        by_type={str(b["key"]): _figure(b) for b in sorted(summary.get("by_order_type", []),
                                                            key=lambda b: str(b["key"]))},
        tenders={str(t["tender"]): int(t["amount"])
                 for t in sorted(summary.get("by_tender", []), key=lambda t: str(t["tender"]))},
        top_products=[ProductLine(str(p["name"]), int(p["qty_milli"]), int(p["revenue"]))
                      for p in summary.get("top_products", [])],
        plans_outstanding=int(plans.get("outstanding", 0)),
        plans_overdue=int(plans.get("overdue_count", 0)),
        plans_overdue_amount=int(plans.get("overdue_amount", 0)),
        as_of=read_at, store_name=store_name,
        deleted=int((summary.get("deletions") or {}).get("count", 0)),
        notes=["server"],
    )


async def stores_visible(api: StaffApi, who: StaffSession, today: date) -> list[StoreChoice]:
    """The organization's stores whose figures ``who`` may read (the server decides: an
    owner or admin every store, a manager the stores whose tills they work on)."""
    every = await api.stores(who)
    mine = set((await api.offline_orders(who, today, today)).get("store_ids", []))
    return [StoreChoice(str(s["id"]), str(s.get("name") or s["id"]))
            for s in every if s["id"] in mine]


async def fetch_dashboard(api: StaffApi, who: StaffSession, store: StoreChoice,
                          date_from: date, date_to: date, today: date) -> Dashboard:
    """The server's figures of ``store`` between two of its local dates (inclusive)."""
    summary = await api.summary(who, date_from, date_to, store_id=store.id, group="day")
    hourly = await api.offline_orders(who, date_from, date_to, store_id=store.id, group="hour")
    week = await api.offline_orders(who, today - timedelta(days=7), today, store_id=store.id,
                                    group="day")
    return dashboard_of(summary, hourly, week, today, store.name, datetime.now(UTC))
