"""The figures of /analytics/summary recomputed plainly from the orders, lines, payments
and refunds tables (no rollups): what the analytics tests compare the rollups with."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.analytics.consumer import slot_of
from server.analytics.service import plan_balance
from server.db.models import Order, OrderLine, Payment, Refund
from server.sync.orders import returned_of


def _figures(orders: int, gross: int, tax: int) -> dict[str, int]:
    return {"orders": orders, "gross": gross, "tax": tax, "net": gross - tax,
            "average_sale": gross // orders if orders else 0}


def _period(at: datetime, zone: ZoneInfo, group: str) -> str:
    local = at.astimezone(zone)
    if group == "hour":
        return local.replace(minute=0, second=0, microsecond=0).isoformat(timespec="minutes")
    if group == "week":
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    if group == "month":
        return f"{local.year:04d}-{local.month:02d}"
    return local.date().isoformat()


def recompute(session: Session, store_id: str, zone_name: str, date_from: date,
              date_to: date, group: str, today: date) -> dict[str, Any]:
    zone = ZoneInfo(zone_name)
    start = datetime.combine(date_from, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.store_id == store_id))}

    def kind(o: Order) -> str:
        return "offline" if o.device_id else "online"

    def inside(at: datetime) -> bool:
        return start <= at < end

    kept = [o for o in orders.values() if o.status != "deleted" and inside(o.created_at)]
    by: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    series: dict[tuple[str, str], list[Any]] = {}
    for o in kept:
        for dim, key in (("order_type", kind(o)), ("staff", o.created_by),
                         ("terminal", o.device_id or ""), ("all", "")):
            acc = by[dim][key]
            acc[0] += 1
            acc[1] += o.total
            acc[2] += o.tax
        s = series.setdefault((_period(o.created_at, zone, group), kind(o)), [None, 0, 0, 0])
        s[1] += 1
        s[2] += o.total
        s[3] += o.tax
    products: dict[str, list[Any]] = {}
    for li in session.scalars(select(OrderLine).where(OrderLine.order_id.in_([o.id for o in kept]))):
        p = products.setdefault(li.product_id or f"~{li.name}", [li.name, 0, 0])
        p[1] += li.qty_milli
        p[2] += li.total
    tenders: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    collected = 0
    for pay in session.scalars(select(Payment).where(Payment.order_id.in_(list(orders)))):
        if inside(pay.created_at):
            tenders[pay.method][0] += 1
            tenders[pay.method][1] += pay.amount
            if orders[pay.order_id].installments:
                collected += pay.amount
    refunds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in session.scalars(select(Refund).where(Refund.order_id.in_(list(orders)))):
        if inside(r.created_at):
            refunds[r.reason[:200]][0] += 1
            refunds[r.reason[:200]][1] += r.amount
    deletions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in orders.values():
        if o.status == "deleted" and inside(o.created_at):
            deletions[(o.deleted_reason or "")[:200]][0] += 1
            deletions[(o.deleted_reason or "")[:200]][1] += o.total
    plans = {"started": 0, "started_amount": 0, "outstanding": 0, "overdue_count": 0,
             "overdue_amount": 0, "collected": collected}
    for o in kept:
        if o.installments:
            plans["started"] += 1
            plans["started_amount"] += sum(i["amount"] for i in o.installments)
    for o in orders.values():
        if o.installments and o.status != "deleted":
            owed, late = plan_balance(o.total, o.paid, o.refunded, returned_of(session, o),
                                      o.installments, today)
            plans["outstanding"] += owed
            plans["overdue_count"] += 1 if late else 0
            plans["overdue_amount"] += late

    def outflows(rows: dict[str, list[int]]) -> dict[str, Any]:
        items = [{"reason": k, "count": c, "amount": a} for k, (c, a) in sorted(rows.items())]
        return {"count": sum(i["count"] for i in items),
                "amount": sum(i["amount"] for i in items), "by_reason": items}

    def breakdown(dim: str) -> list[dict[str, Any]]:
        return [{"key": k, **_figures(*v)} for k, v in sorted(by[dim].items())]

    starts: dict[str, datetime] = {}
    for o in kept:
        label = _period(o.created_at, zone, group)
        starts[label] = min(starts.get(label, slot_of(o.created_at)), slot_of(o.created_at))
    top = sorted(products.items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0]))
    return {
        "totals": _figures(*by["all"][""]) if kept else _figures(0, 0, 0),
        "by_order_type": breakdown("order_type"), "by_staff": breakdown("staff"),
        "by_terminal": breakdown("terminal"),
        "by_tender": [{"tender": t, "payments": c, "amount": a}
                      for t, (c, a) in sorted(tenders.items())],
        "series": [{"period": p, "order_type": t, **_figures(n, g, x)}
                   for (p, t), (_first, n, g, x) in sorted(series.items(),
                                                           key=lambda kv: (starts[kv[0][0]], kv[0]))],
        "top_products": [{"product_key": k, "name": n, "qty_milli": q, "revenue": r}
                         for k, (n, q, r) in top if q],
        "refunds": outflows(refunds), "deletions": outflows(deletions), "plans": plans,
    }


FIGURES = ("totals", "by_order_type", "by_staff", "by_terminal", "by_tender", "series",
           "top_products", "refunds", "deletions", "plans")


def compare(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    for name in FIGURES:
        assert answer[name] == expected[name], (name, answer[name], expected[name])
