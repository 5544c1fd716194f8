"""The analytics consumer: events of the server's outbox turned into rollup deltas.

It runs inside the transaction that writes the event (``server.webhooks.outbox.emit``
for the ORM handlers, the bulk writer's flush for a push of sales), so a rollup commits
or rolls back with the order it counts: the figures are exact the moment a push answers,
no cursor over the events table can skip one committed out of order, and a server with
no webhooks configured still keeps them. The cost is a few upserts per changed order.

An order's share of the rollups is a pure function of its last state (:func:`shares`);
``analytics_orders.facts`` keeps that state's inputs, so an update or a deletion
subtracts exactly what the order added before and adds its new share.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.domain.order_status import OrderStatus
from server.db.analytics import (
    DAILY_SALES,
    DAILY_TENDERS,
    AnalyticsDeletions,
    AnalyticsHourly,
    AnalyticsOrder,
    AnalyticsProducts,
    AnalyticsRefunds,
    AnalyticsSales,
    AnalyticsTenders,
    AnalyticsTotals,
)
from server.db.commerce import Order

SLOT_MINUTES = 15
OFFLINE, ONLINE = "offline", "online"
ORDER_EVENTS = frozenset({"offline_order.created", "offline_order.updated",
                          "offline_order.deleted"})
REASON_LENGTH = 200

SALES = cast(Table, AnalyticsSales.__table__)
PRODUCTS = cast(Table, AnalyticsProducts.__table__)
TENDERS = cast(Table, AnalyticsTenders.__table__)
REFUNDS = cast(Table, AnalyticsRefunds.__table__)
DELETIONS = cast(Table, AnalyticsDeletions.__table__)
TOTALS = cast(Table, AnalyticsTotals.__table__)
HOURLY = cast(Table, AnalyticsHourly.__table__)
ORDERS = cast(Table, AnalyticsOrder.__table__)

#: each rollup: (key columns, summed columns, columns set to the latest value)
SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "analytics_sales": (("store_id", "slot", "terminal_id", "staff_id", "order_type"),
                        ("orders", "gross", "tax", "plans_started", "plan_amount"), ()),
    "analytics_products": (("store_id", "slot", "terminal_id", "staff_id", "order_type",
                            "product_key"), ("qty_milli", "revenue"), ("name",)),
    "analytics_tenders": (("store_id", "slot", "terminal_id", "staff_id", "order_type",
                           "tender", "on_plan"), ("payments", "amount"), ()),
    "analytics_refunds": (("store_id", "slot", "terminal_id", "staff_id", "order_type",
                           "method", "reason"), ("refunds", "amount"), ()),
    "analytics_deletions": (("store_id", "slot", "terminal_id", "staff_id", "order_type",
                             "reason"), ("orders", "amount"), ()),
    "analytics_totals": (("store_id", "order_type"), ("orders", "gross"), ()),
    "analytics_hourly": (("store_id", "hour", "order_type"),
                         ("orders", "gross", "tax", "plans_started", "plan_amount"), ()),
}
#: quarter-hour rollups and their twins by UTC day (server/db/analytics.py)
#: (products have none: a row per line either way unless a product sells twice in a
#: store's day, and the push would upsert every line twice; benchmarks/notes/analytics.md)
DAILY: dict[Table, Table] = {SALES: DAILY_SALES, TENDERS: DAILY_TENDERS}
DAILY_TWINS = {source.name: twin.name for source, twin in DAILY.items()}
SHAPES |= {twin: SHAPES[source] for source, twin in DAILY_TWINS.items()}
TABLES: dict[str, Table] = {t.name: t for t in (SALES, PRODUCTS, TENDERS, REFUNDS,
                                                DELETIONS, TOTALS, HOURLY, *DAILY.values())}


def hour_of(slot: datetime) -> datetime:
    """The UTC hour a quarter-hour slot falls in."""
    return slot.replace(minute=0, second=0, microsecond=0)


def day_of(slot: datetime) -> datetime:
    """The UTC midnight a quarter-hour slot falls after (the daily twins' ``slot``)."""
    return slot.replace(hour=0, minute=0, second=0, microsecond=0)


def slot_of(value: datetime | str | None) -> datetime:
    """The UTC quarter-hour a moment falls in."""
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(minute=value.minute - value.minute % SLOT_MINUTES, second=0,
                         microsecond=0)


def order_type(device_id: str | None) -> str:
    """Where the order came from: ``offline``, recorded on a till (the order names its
    device); ``online``, created through the REST back office (no device). The order's
    ``is_offline`` flag is what the sender claimed (the back office's defaults to true)."""
    return OFFLINE if device_id else ONLINE


def product_key(product_id: str | None, name: str) -> str:
    return product_id or f"~{name}"[:310]


def facts_of(state: dict[str, Any]) -> dict[str, Any]:
    """What of an order's state the rollups count (JSON, kept in analytics_orders)."""
    installments = state.get("installments") or []
    return {
        "store": state["store_id"], "slot": slot_of(state.get("created_at")).isoformat(),
        "terminal": state.get("device_id") or "", "staff": state.get("created_by") or "",
        "type": order_type(state.get("device_id")),
        "deleted": state.get("status") == OrderStatus.DELETED.value,
        "reason": (state.get("deleted_reason") or "")[:REASON_LENGTH],
        "total": int(state["total"]), "tax": int(state["tax"]),
        "plan": sum(int(i.get("amount", 0)) for i in installments) if installments else 0,
        "lines": [[product_key(li.get("product_id"), li["name"]), li["name"][:300],
                   int(li["qty_milli"]), int(li["total"])] for li in state.get("lines") or []],
    }


Share = tuple[str, tuple[Any, ...], tuple[int, ...], tuple[Any, ...]]


def shares(facts: dict[str, Any]) -> list[Share]:
    """(table, key, summed values, latest values) one order adds to the rollups."""
    base = (facts["store"], datetime.fromisoformat(facts["slot"]), facts["terminal"],
            facts["staff"], facts["type"])
    if facts["deleted"]:
        return [("analytics_deletions", (*base, facts["reason"]), (1, facts["total"]), ())]
    plan = facts["plan"]
    sums = (1, facts["total"], facts["tax"], 1 if plan else 0, plan)
    hour = hour_of(base[1])
    out: list[Share] = [
        ("analytics_sales", base, sums, ()),
        ("analytics_hourly", (facts["store"], hour, facts["type"]), sums, ()),
        ("analytics_totals", (facts["store"], facts["type"]), (1, facts["total"]), ()),
    ]
    out += [("analytics_products", (*base, key), (qty, revenue), (name,))
            for key, name, qty, revenue in facts["lines"]]
    return out


@dataclass
class Rollup:
    """Deltas of one transaction, written by :meth:`write` with one upsert per table."""

    deltas: dict[str, dict[tuple[Any, ...], list[int]]] = field(
        default_factory=lambda: defaultdict(dict))
    latest: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # analytics_orders rows
    loaded: set[str] = field(default_factory=set)

    def add(self, share: Share, sign: int = 1) -> None:
        table, key, values, latest = share
        twin = DAILY_TWINS.get(table)
        if twin is not None:  # the same share in the UTC day's row (key: store, slot, ...)
            self.add((twin, (key[0], day_of(key[1]), *key[2:]), values, latest), sign)
        row = self.deltas[table].setdefault(key, [0] * len(values))
        for i, v in enumerate(values):
            row[i] += sign * v
        if latest and sign > 0:
            self.latest[(table, key)] = latest

    def feed(self, conn: Connection, org_id: str, event_type: str, data: dict[str, Any]) -> None:
        if event_type in ORDER_EVENTS:
            self._order(conn, org_id, data, event_type == "offline_order.created")
        elif event_type == "payment.received" and data.get("payment"):
            self._payment(conn, data["payment"])
        elif event_type == "refund.created" and data.get("refund"):
            self._refund(conn, data["refund"])

    def _row(self, conn: Connection, order_id: str) -> dict[str, Any] | None:
        """The order's analytics row: this transaction's, the table's, or (an order from
        before analytics, not yet rebuilt) one made from the orders table, facts empty."""
        if order_id not in self.orders and order_id not in self.loaded:
            self.loaded.add(order_id)
            found = conn.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).first()
            if found is not None:
                self.orders[order_id] = dict(found._mapping) | {"new": False}
            else:
                o = conn.execute(select(Order.org_id, Order.store_id, Order.device_id)
                                 .where(Order.id == order_id)).first()
                if o is not None:
                    self.orders[order_id] = _blank(order_id, o.org_id, o.store_id,
                                                   order_type(o.device_id), o.device_id or "")
        return self.orders.get(order_id)

    def _order(self, conn: Connection, org_id: str, state: dict[str, Any], created: bool
               ) -> None:
        order_id = state["id"]
        row = self.orders.get(order_id) if created else self._row(conn, order_id)
        facts = facts_of(state)
        if row is None:
            row = _blank(order_id, org_id, facts["store"], facts["type"], facts["terminal"])
            self.orders[order_id] = row
        if row["facts"]:
            for share in shares(row["facts"]):
                self.add(share, -1)
        for share in shares(facts):
            self.add(share)
        ids = [p["id"] for p in state.get("payments") or []]
        row.update(facts=facts, total=facts["total"], paid=int(state.get("paid", 0)),
                   refunded=int(state.get("refunded", 0)), payment_ids=ids,
                   installments=[{"due_date": i["due_date"], "amount": int(i["amount"])}
                                 for i in state.get("installments") or []],
                   store_id=facts["store"], order_type=facts["type"],
                   terminal_id=facts["terminal"], dirty=True)

    def _payment(self, conn: Connection, p: dict[str, Any]) -> None:
        row = self._row(conn, p["order_id"])
        if row is None:
            return
        on_plan = bool(row["installments"])
        self.add(("analytics_tenders",
                  (row["store_id"], slot_of(p.get("created_at")), p.get("device_id") or "",
                   p.get("actor_id") or "", row["order_type"], p["method"], on_plan),
                  (1, int(p["amount"])), ()))
        if p["id"] not in row["payment_ids"]:
            row["payment_ids"] = [*row["payment_ids"], p["id"]]
            row["paid"] += int(p["amount"])
            row["dirty"] = True

    def _refund(self, conn: Connection, r: dict[str, Any]) -> None:
        row = self._row(conn, r["order_id"])
        if row is None:
            return
        self.add(("analytics_refunds",
                  (row["store_id"], slot_of(r.get("created_at")), row["terminal_id"],
                   r.get("actor_id") or "", row["order_type"], r["method"],
                   (r.get("reason") or "")[:REASON_LENGTH]),
                  (1, int(r["amount"])), ()))

    def write(self, conn: Connection) -> None:
        """Every delta (rows in key order, so two writers lock them in one order)."""
        for name, rows in self.deltas.items():
            keys, sums, latest = SHAPES[name]
            params = [dict(zip(keys, key, strict=True)) | dict(zip(sums, values, strict=True))
                      | dict(zip(latest, self.latest.get((name, key), ("",) * len(latest)),
                                 strict=True))
                      for key, values in sorted(rows.items(), key=lambda kv: _sortable(kv[0]))
                      if any(values)]
            if params:
                _upsert_add(conn, TABLES[name], keys, sums, latest, params)
        dirty = [_order_params(row) for _, row in sorted(self.orders.items())
                 if row.get("dirty")]
        if dirty:
            _upsert_replace(conn, ORDERS, ("order_id",), dirty)
        self.deltas.clear()
        self.latest.clear()
        for row in self.orders.values():
            row["dirty"] = False


def _sortable(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(k) for k in key)


def _blank(order_id: str, org_id: str, store_id: str, kind: str, terminal: str
           ) -> dict[str, Any]:
    return {"order_id": order_id, "org_id": org_id, "store_id": store_id, "order_type": kind,
            "terminal_id": terminal, "facts": {}, "total": 0, "paid": 0, "refunded": 0,
            "payment_ids": [], "installments": [], "plan_open": False, "new": True}


def _order_params(row: dict[str, Any]) -> dict[str, Any]:
    facts = row["facts"]
    open_ = bool(row["installments"]) and bool(facts) and not facts["deleted"] \
        and row["total"] - (row["paid"] - row["refunded"]) > 0
    return {c.name: row[c.name] for c in ORDERS.columns if c.name != "plan_open"} \
        | {"plan_open": open_}


def _insert(conn: Connection, table: Table) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


#: the upserts, built once per (dialect, table): building one and its cache key on every
#: push cost 3-7 % of the push writer's CPU (measured by the push helper, issue 17)
_upserts: dict[tuple[str, str], Any] = {}


def _upsert_add(conn: Connection, table: Table, keys: tuple[str, ...], sums: tuple[str, ...],
                latest: tuple[str, ...], params: list[dict[str, Any]]) -> None:
    cache_key = (conn.dialect.name, table.name)
    upsert = _upserts.get(cache_key)
    if upsert is None:
        stmt = _insert(conn, table)
        changes = {s: table.c[s] + stmt.excluded[s] for s in sums}
        changes |= {c: stmt.excluded[c] for c in latest}
        upsert = _upserts[cache_key] = stmt.on_conflict_do_update(
            index_elements=list(keys), set_=changes)
    conn.execute(upsert, params)


def _upsert_replace(conn: Connection, table: Table, keys: tuple[str, ...],
                    params: list[dict[str, Any]]) -> None:
    cache_key = (conn.dialect.name, table.name)
    upsert = _upserts.get(cache_key)
    if upsert is None:
        stmt = _insert(conn, table)
        changes = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        upsert = _upserts[cache_key] = stmt.on_conflict_do_update(
            index_elements=list(keys), set_=changes)
    conn.execute(upsert, params)


def consume(session: Session, org_id: str, event_type: str, data: dict[str, Any]) -> None:
    """One event of the ORM path, counted at once in the caller's transaction."""
    if event_type not in ORDER_EVENTS and event_type not in ("payment.received",
                                                             "refund.created"):
        return
    rollup = Rollup()
    conn = session.connection()
    rollup.feed(conn, org_id, event_type, data)
    rollup.write(conn)


def consume_rows(conn: Connection, events: list[dict[str, Any]]) -> None:
    """The events rows of a bulk run (as ``server.sync.bulk`` writes them), counted at once."""
    rollup = Rollup()
    for event in events:
        rollup.feed(conn, event["org_id"], event["type"], event["payload"]["data"])
    rollup.write(conn)
