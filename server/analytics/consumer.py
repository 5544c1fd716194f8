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

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Boolean, Table, bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.domain import order_balance
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
from server.db.base import UTCDateTime
from server.db.commerce import Order
from server.db.raw_query import execute_pg

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


def _as_day(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (key[0], day_of(key[1]), *key[2:])


def _as_hour(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (key[0], hour_of(key[1]), key[4])


#: rollups that are sums of another's rows: (the source, a source key's row key here,
#: how many of its summed values). A transaction's deltas of these are folded from its
#: source deltas when written: a row per distinct key, not an addition per order.
#: (The derived rollup's summed columns are the first of its source's.)
DERIVED: dict[str, tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]], int]] = {
    name: (source, key_of, len(SHAPES[name][1])) for name, source, key_of in (
        *((twin, source, _as_day) for source, twin in DAILY_TWINS.items()),
        ("analytics_hourly", "analytics_sales", _as_hour),
        ("analytics_totals", "analytics_sales", lambda key: (key[0], key[4])))}
assert all(SHAPES[source][1][:width] == SHAPES[name][1]
           for name, (source, _, width) in DERIVED.items())


@lru_cache(maxsize=4096)
def hour_of(slot: datetime) -> datetime:
    """The UTC hour a quarter-hour slot falls in."""
    return slot.replace(minute=0, second=0, microsecond=0)


@lru_cache(maxsize=4096)
def day_of(slot: datetime) -> datetime:
    """The UTC midnight a quarter-hour slot falls after (the daily twins' ``slot``)."""
    return slot.replace(hour=0, minute=0, second=0, microsecond=0)


def slot_of(value: datetime | str | None) -> datetime:
    """The UTC quarter-hour a moment falls in."""
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, str):
        if value.endswith(_UTC_SUFFIXES) and value[13:14] == ":" and value[14:16].isdigit():
            return _utc_slot(value[:13], int(value[14:16]))  # most: once per quarter-hour
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(minute=value.minute - value.minute % SLOT_MINUTES, second=0,
                         microsecond=0)


_UTC_SUFFIXES = ("+00:00", "Z")


@lru_cache(maxsize=4096)
def _utc_slot(hour: str, minute: int) -> datetime:
    """The quarter-hour of a UTC ISO text by its hour (``2026-12-04T10``) and minute."""
    if minute > 59:
        raise ValueError(f"minute {minute} in {hour!r}")
    return datetime.fromisoformat(f"{hour}:00+00:00").replace(
        minute=minute - minute % SLOT_MINUTES)


@lru_cache(maxsize=4096)
def _iso(slot: datetime) -> str:
    return slot.isoformat()


def order_type(device_id: str | None) -> str:
    """Where the order came from: ``offline``, recorded on a till (the order names its
    device); ``online``, created through the REST back office (no device). The order's
    ``is_offline`` flag is what the sender claimed (the back office's defaults to true)."""
    return OFFLINE if device_id else ONLINE


def product_key(product_id: str | None, name: str) -> str:
    return product_id or f"~{name}"[:310]


def returned_of(state: dict[str, Any]) -> int:
    """What the goods brought back on an order are worth, from its state's lines and its
    refunds' lines (app/domain/order_balance.py, the till's and the order's rule). An
    order with no refund (every sale of a push) costs one look-up."""
    refunds = state.get("refunds")
    if not refunds:
        return 0
    back = order_balance.brought_back_by_line(refund.get("lines") or () for refund in refunds)
    return sum(order_balance.line_returned(int(li["total"]), int(li["qty_milli"]),
                                           back.get(str(li.get("id")), 0))
               for li in state.get("lines") or ()) if back else 0


def facts_of(state: dict[str, Any]) -> dict[str, Any]:
    """What of an order's state the rollups count (JSON, kept in analytics_orders), and
    ``returned`` (what its plan still owes counts it; only when goods came back)."""
    installments = state.get("installments")
    device = state.get("device_id")
    returned = returned_of(state)
    facts = {
        "store": state["store_id"], "slot": _iso(slot_of(state.get("created_at"))),
        "terminal": device or "", "staff": state.get("created_by") or "",
        "type": OFFLINE if device else ONLINE,
        "deleted": state.get("status") == _DELETED,
        "reason": (state.get("deleted_reason") or "")[:REASON_LENGTH],
        "total": int(state["total"]), "tax": int(state["tax"]),
        "plan": sum(int(i.get("amount", 0)) for i in installments) if installments else 0,
        "lines": [[li.get("product_id") or f"~{li['name']}"[:310], li["name"][:300],
                   int(li["qty_milli"]), int(li["total"])] for li in state.get("lines") or ()],
    }
    if returned:
        facts["returned"] = returned
    return facts


_DELETED = OrderStatus.DELETED.value
_slot = lru_cache(maxsize=4096)(datetime.fromisoformat)  # facts' slot, back
Share = tuple[str, tuple[Any, ...], tuple[int, ...], tuple[Any, ...]]


def shares(facts: dict[str, Any]) -> list[Share]:
    """(table, key, summed values, latest values) one order adds to the rollups (and,
    through the sales share, to the ``DERIVED`` ones: hourly, daily, totals)."""
    base = (facts["store"], _slot(facts["slot"]), facts["terminal"],
            facts["staff"], facts["type"])
    if facts["deleted"]:
        return [("analytics_deletions", (*base, facts["reason"]), (1, facts["total"]), ())]
    plan = facts["plan"]
    out: list[Share] = [
        ("analytics_sales", base, (1, facts["total"], facts["tax"], 1 if plan else 0, plan), ())]
    out += [("analytics_products", (*base, key), (qty, revenue), (name,))
            for key, name, qty, revenue in facts["lines"]]
    return out


@dataclass
class Rollup:
    """Deltas of one transaction, written by :meth:`write` with one statement per table.

    ``fresh``: an ``offline_order.created`` names an order inserted in this very
    transaction (the bulk writer's), so its analytics_orders row is a plain insert."""

    deltas: dict[str, dict[tuple[Any, ...], tuple[int, ...]]] = field(
        default_factory=lambda: {name: {} for name in TABLES})
    latest: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # analytics_orders rows
    loaded: set[str] = field(default_factory=set)
    fresh: bool = False

    def add(self, share: Share, sign: int = 1) -> None:
        table, key, values, latest = share
        if sign != 1:
            values = tuple(sign * v for v in values)
        rows = self.deltas[table]
        row = rows.get(key)
        rows[key] = values if row is None else tuple(map(operator.add, row, values))
        if latest:  # a name: the share added's, else (only subtracted) the one it had
            if sign > 0:
                self.latest[(table, key)] = latest
            else:
                self.latest.setdefault((table, key), latest)

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
            found = conn.execute(_ROW, {"order_id": order_id}).first()
            if found is not None:
                self.orders[order_id] = dict(found._mapping) | {"new": False}
            else:
                o = conn.execute(_ORDER_ROW, {"order_id": order_id}).first()
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
            row["created"] = created and self.fresh  # inserted by this transaction
            self.orders[order_id] = row
        if row["facts"]:
            for share in shares(row["facts"]):
                self.add(share, -1)
        for share in shares(facts):
            self.add(share)
        installments = state.get("installments")
        row.update(facts=facts, total=facts["total"], paid=int(state.get("paid", 0)),
                   refunded=int(state.get("refunded", 0)),
                   payment_ids=[p["id"] for p in state.get("payments") or ()],
                   installments=[{"due_date": i["due_date"], "amount": int(i["amount"])}
                                 for i in installments] if installments else [],
                   store_id=facts["store"], order_type=facts["type"],
                   terminal_id=facts["terminal"], dirty=True)

    def _payment(self, conn: Connection, p: dict[str, Any]) -> None:
        row = self._row(conn, p["order_id"])
        if row is None:
            return
        on_plan = bool(row["installments"])
        # a payment.record's payment (its feed state) and a rebuild's payment row name
        # their till and person; a sale's payments, as its order.create carried them, do
        # not: they were taken with the sale, by its till and person (the payment rows
        # get the op's device and actor, as the order does: order_decision._payment_row)
        terminal = p["device_id"] if "device_id" in p else row["terminal_id"]
        staff = p["actor_id"] if "actor_id" in p else (row["facts"] or {}).get("staff")
        self.add(("analytics_tenders",
                  (row["store_id"], slot_of(p.get("created_at")), terminal or "",
                   staff or "", row["order_type"], p["method"], on_plan),
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

    def write(self, conn: Connection, together: bool = False) -> None:
        """Every delta: per table one upsert of all its rows (in key order, so two
        writers lock them in one order); analytics_orders rows of orders this
        transaction created are inserted, the others upserted.

        ``together`` (the ORM path's few rows): on PostgreSQL the upserts are sent as one
        statement (:func:`_write_together`), one round trip instead of one per table."""
        batch: list[tuple[_Upsert, Any]] | None = (
            [] if together and conn.dialect.name == "postgresql" else None)

        def upsert(table: Table, keys: tuple[str, ...], values: tuple[str, ...],
                   rows: list[tuple[Any, ...]], summed: int, conflict: bool = True) -> None:
            if batch is None:
                _upsert(conn, table, keys, values, rows, summed, conflict)
            else:
                statement = _statement(conn, table, keys, values, summed, conflict)
                batch.append((statement, statement.params(rows)[0]))

        for name, (source, key_of, width) in DERIVED.items():
            derived = self.deltas[name]
            for key, values in self.deltas[source].items():
                here, part = key_of(key), values[:width]
                known = derived.get(here)
                derived[here] = part if known is None else tuple(map(operator.add, known, part))
        for name, rows in self.deltas.items():
            if not rows:
                continue
            keys, sums, latest = SHAPES[name]
            items = _in_key_order(rows)
            if latest:
                names, blank = self.latest, ("",) * len(latest)
                params = [(*key, *values, *names.get((name, key), blank))
                          for key, values in items if any(values)]
            else:
                params = [(*key, *values) for key, values in items if any(values)]
            if params:
                upsert(TABLES[name], keys, sums + latest, params, summed=len(sums))
            rows.clear()
        self.latest.clear()
        inserted: list[tuple[Any, ...]] = []
        replaced: list[tuple[Any, ...]] = []
        for order_id in sorted(self.orders):
            row = self.orders[order_id]
            if row.get("dirty"):
                (inserted if row.get("created") else replaced).append(_order_params(row))
                row["dirty"] = row["created"] = False
        if inserted:  # orders this transaction created: nothing of theirs to replace
            upsert(ORDERS, ("order_id",), _ORDER_VALUES, inserted, 0, conflict=False)
        if replaced:
            upsert(ORDERS, ("order_id",), _ORDER_VALUES, replaced, 0)
        if batch:
            _write_together(conn, batch)


def _in_key_order(rows: dict[tuple[Any, ...], tuple[int, ...]]
                  ) -> list[tuple[tuple[Any, ...], tuple[int, ...]]]:
    try:  # keys of one table hold the same types in each place (str, datetime, bool)
        return sorted(rows.items())
    except TypeError:  # (a None where a str was expected, say): any fixed order will do
        return sorted(rows.items(), key=lambda kv: tuple(str(k) for k in kv[0]))


def _blank(order_id: str, org_id: str, store_id: str, kind: str, terminal: str
           ) -> dict[str, Any]:
    return {"order_id": order_id, "org_id": org_id, "store_id": store_id, "order_type": kind,
            "terminal_id": terminal, "facts": {}, "total": 0, "paid": 0, "refunded": 0,
            "payment_ids": [], "installments": [], "plan_open": False, "new": True,
            "created": False}


def _order_params(row: dict[str, Any]) -> tuple[Any, ...]:
    """An analytics_orders row's values: order_id, then ``_ORDER_VALUES``."""
    facts = row["facts"]
    open_ = bool(row["installments"]) and bool(facts) and not facts["deleted"] \
        and order_balance.owed(row["total"], row["paid"], row["refunded"],
                               facts.get("returned", 0)) > 0
    return (row["order_id"], row["org_id"], row["store_id"], row["order_type"],
            row["terminal_id"], facts, row["total"], row["paid"], row["refunded"],
            row["payment_ids"], row["installments"], open_)


_ORDER_VALUES = ("org_id", "store_id", "order_type", "terminal_id", "facts", "total", "paid",
                 "refunded", "payment_ids", "installments", "plan_open")
assert {"order_id", *_ORDER_VALUES} == {c.name for c in ORDERS.columns}


@dataclass(frozen=True)
class _Upsert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` (or a plain INSERT) as the driver
    takes it.

    SQLite: an executemany of the rows, each value through the bind processor SQLAlchemy
    would apply (a slot's or a flag's once per distinct value: a push's rows share a
    handful of slots). PostgreSQL: the rows as one JSON document, ``INSERT ... SELECT
    ... FROM json_populate_recordset(NULL::table, %s)``, one execution for all of them:
    an executemany costs psycopg and the database an execution per row, and arrays per
    column are dumped by psycopg in Python, value by value. (Keys are unique within a
    statement, as ON CONFLICT DO UPDATE requires: they are the keys of a dict.)"""

    sql: str
    columns: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any], bool], ...]  # position, processor,
    #                                                                 hashable values
    document: bool = False  # PostgreSQL: the rows as one JSON parameter

    def params(self, rows: list[tuple[Any, ...]]) -> Any:
        if self.document:
            columns = self.columns
            return (_json([dict(zip(columns, row, strict=True)) for row in rows]),)
        if not self.processors:
            return rows
        memo: list[dict[Any, Any]] = [{} for _ in self.processors]
        out = []
        for row in rows:
            values = list(row)
            for (i, process, hashable), seen in zip(self.processors, memo, strict=True):
                v = values[i]
                if not hashable:
                    values[i] = process(v)
                elif v in seen:
                    values[i] = seen[v]
                else:
                    values[i] = seen[v] = process(v)
            out.append(tuple(values))
        return out


def _json(value: Any) -> str:
    try:  # datetimes as RFC 3339 text, which timestamptz reads
        return orjson.dumps(value).decode()
    except TypeError:  # (an integer beyond 64 bits: the database refuses it, as before)
        return json.dumps(value, default=lambda v: v.isoformat())


#: built once per (dialect, table): building a statement (and SQLAlchemy its cache key)
#: on every push cost 3-7 % of the push writer's CPU, and binding a row's parameters
#: through SQLAlchemy ~10 µs a row (benchmarks/notes/push.md, "rollups"). Kept per
#: dialect object, as server/db/bulk_insert.py keeps its plans (processors are made for one).
_upserts: dict[tuple[Any, str, bool], _Upsert] = {}


def _statement(conn: Connection, table: Table, keys: tuple[str, ...],
               values: tuple[str, ...], summed: int, conflict: bool) -> _Upsert:
    """Summed columns (the first ``summed`` of ``values``) add the row's value to the
    stored one; the others are replaced by it (``conflict``: else a plain INSERT)."""
    dialect = conn.dialect
    cached = _upserts.get((dialect, table.name, conflict))
    if cached is not None:
        return cached
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    columns = (*keys, *values)
    listed = ", ".join(quote(c) for c in columns)
    document = dialect.name == "postgresql"
    if document:
        rows = f"SELECT {listed} FROM json_populate_recordset(NULL::{name}, %s::json)"
    else:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        rows = f"VALUES ({', '.join([mark] * len(columns))})"
    sql = f"INSERT INTO {name} ({listed}) {rows}"
    if conflict:
        changes = [f"{quote(c)} = {name}.{quote(c)} + excluded.{quote(c)}"
                   for c in values[:summed]]
        changes += [f"{quote(c)} = excluded.{quote(c)}" for c in values[summed:]]
        sql += (f" ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET "
                + ", ".join(changes))
    processors = []
    for i, c in enumerate(columns):
        column_type = table.c[c].type
        process = column_type._cached_bind_processor(dialect)
        if process is not None:  # a slot or a flag (memoized), JSON (not)
            hashable = isinstance(column_type, UTCDateTime | Boolean)
            processors.append((i, process, hashable))
    cached = _upserts[(dialect, table.name, conflict)] = _Upsert(
        sql, columns, tuple(processors), document)
    return cached


def _upsert(conn: Connection, table: Table, keys: tuple[str, ...], values: tuple[str, ...],
            rows: list[tuple[Any, ...]], summed: int, conflict: bool = True) -> None:
    upsert = _statement(conn, table, keys, values, summed, conflict)
    conn.exec_driver_sql(upsert.sql, upsert.params(rows))


#: statements of several upserts, by their parts' SQL (a few dozen shapes at most), as
#: written for the driver's cursor (``$n`` placeholders: server/db/raw_query.py)
_together: dict[tuple[str, ...], str] = {}


def _write_together(conn: Connection, batch: list[tuple[_Upsert, Any]]) -> None:
    """PostgreSQL upserts (each with its rows as one JSON parameter) as one statement:
    all but the last in ``WITH`` (data-modifying, each run to its end), the last as the
    main statement. Each row is still locked in key order within its table; every
    statement of the same tables takes them in the same order of tables.

    Run on the driver's cursor (server/db/raw_query.py ``execute_pg``), not through
    SQLAlchemy's execution (its events, cursor and result objects): in-process,
    write_deferred of a back-office order and its payment took 140-180 µs of CPU
    against 210-225 µs. (consume_rows, the push's, still runs ``_upsert``.)"""
    parts = tuple(statement.sql for statement, _ in batch)
    sql = _together.get(parts)
    if sql is None:
        if len(_together) > 256:
            _together.clear()
        assert all(part.count("%s") == 1 for part in parts), "one JSON parameter a part"
        numbered = [part.replace("%s", f"${i}") for i, part in enumerate(parts, 1)]
        sql = _together[parts] = numbered[0] if len(numbered) == 1 else ("WITH " + ", ".join(
            f"w{i} AS ({part})" for i, part in enumerate(numbered[:-1])) + " " + numbered[-1])
    execute_pg(conn, sql, [param for _, param in batch])


_ROW = select(ORDERS).where(ORDERS.c.order_id == bindparam("order_id"))
_ORDER_ROW = select(Order.org_id, Order.store_id, Order.device_id).where(
    Order.id == bindparam("order_id"))
_WRITTEN = "tillsync.analytics_orders"  # session.info: (transaction, rows it wrote)


_DEFERRED = "tillsync.analytics_deferred"  # session.info: [transaction, Rollup, connection]
_COUNTED = ORDER_EVENTS | {"payment.received", "refund.created"}


def defer(session: Session) -> None:
    """Count the events of ``session``'s transaction from now on in one :class:`Rollup`,
    written once by :func:`write_deferred` (the caller's last write before its commit),
    not at each event: a back-office order and its payment cost one upsert per rollup
    table, not one per event and table, and the rollup rows every order of a store
    shares (its totals, its hour) are locked at the end of the transaction, not from its
    first event on. A savepoint begun meanwhile gets what was counted so far written
    first, outside it (the events in it are then counted at once, as :func:`consume`
    does without this); a transaction rolled back takes nothing with it."""
    session.info[_DEFERRED] = [session.get_transaction(), Rollup(), None]


def write_deferred(session: Session) -> None:
    """Write what :func:`defer` counted (nothing if nothing was, or it was written)."""
    held = session.info.pop(_DEFERRED, None)
    if held is not None and held[2] is not None and held[0] is session.get_transaction():
        held[1].write(held[2], together=True)


@sa_event.listens_for(Session, "after_transaction_create")
def _savepoint_begins(session: Session, transaction: Any) -> None:
    """A savepoint is begun: what was counted so far is written now, in the transaction
    it belongs to (the SAVEPOINT is sent at the savepoint's first statement, after
    this), so rolling the savepoint back cannot take it away."""
    if transaction.nested and _DEFERRED in session.info:
        write_deferred(session)


def consume(session: Session, org_id: str, event_type: str, data: dict[str, Any]) -> None:
    """One event of the ORM path, counted at once in the caller's transaction (or, after
    :func:`defer`, when the transaction's writes end).

    The analytics_orders rows it writes are kept for the next event of the same
    (sub)transaction: a back-office order's payment follows its creation, and need not
    read back the row just written. Kept only while that transaction is the innermost
    one: a savepoint begun or ended (rolled back, say) since, and they are read again."""
    if event_type not in _COUNTED:
        return
    conn = session.connection()
    deferred = session.info.get(_DEFERRED)
    if deferred is not None:
        if deferred[0] is session.get_transaction() and not session.in_nested_transaction():
            deferred[2] = conn
            deferred[1].feed(conn, org_id, event_type, data)
            return
        session.info.pop(_DEFERRED)  # (left by another transaction)
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_WRITTEN)
    rows: dict[str, dict[str, Any]] = (
        held[1] if held is not None and held[0] is transaction else {})
    session.info.pop(_WRITTEN, None)  # (until written: an error leaves nothing behind)
    rollup = Rollup(orders=rows)
    rollup.feed(conn, org_id, event_type, data)
    rollup.write(conn, together=True)
    session.info[_WRITTEN] = (transaction, rows)


def consume_rows(conn: Connection, events: list[dict[str, Any]]) -> None:
    """The events rows of a bulk run (as ``server.sync.bulk`` writes them), counted at
    once: their orders were inserted by this transaction."""
    rollup = Rollup(fresh=True)
    for event in events:
        rollup.feed(conn, event["org_id"], event["type"], event["payload"]["data"])
    rollup.write(conn)
