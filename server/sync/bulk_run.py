"""What a run of order.create ops needs to be decided, loaded in a few queries.

For the ops of a push (or of several devices' pushes committed together) this reads
the actors, the products the lines name, which order ids, payment ids and references
already exist, and the stores' stock levels of those products, locked in (store,
product) order: one query per kind for a usual batch, instead of several per op.
A :class:`Run` also holds what its ops add (rows to write, new ids, levels after each
sale), so a later op of the same run sees the earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from server.context import TerminalPrincipal
from server.db.models import (
    AuditEntry,
    Event,
    Order,
    OrderLine,
    Payment,
    StockLevel,
    StockMovement,
    WebhookDelivery,
)
from server.db.raw_query import fetch, fetch_pg, marks
from sync.protocol import Operation

ORDERS = Order.__table__
LINES = OrderLine.__table__
PAYMENTS = Payment.__table__
MOVEMENTS = StockMovement.__table__
LEVELS = StockLevel.__table__
AUDIT = AuditEntry.__table__
EVENTS = Event.__table__
DELIVERIES = WebhookDelivery.__table__

#: Tables in the order their rows are inserted (parents first).
TABLES = (ORDERS, LINES, PAYMENTS, MOVEMENTS, AUDIT, EVENTS, DELIVERIES)
CHUNK_IN = 500  # ids per IN (...) list


_LEVELS_INS_PG = pg_insert(LEVELS).on_conflict_do_nothing()
_LEVELS_INS_SQLITE = sqlite_insert(LEVELS).on_conflict_do_nothing()


@dataclass
class StaffRow:
    id: str
    org_id: str
    name: str
    role: str
    active: bool


@dataclass
class ProductRow:
    org_id: str
    price: int
    active: bool
    deleted: bool
    stock_tracked: bool


@dataclass
class Run:
    """What is known about the current run of order.create ops (of one or more devices).

    Rows buffered by the run count as existing: ``orders``, ``payments`` and
    ``references`` hold what the database held when loaded plus what the run added, and
    ``levels`` the store's quantity after the run's sales so far."""

    staff: dict[str, StaffRow] = field(default_factory=dict)
    products: dict[str, ProductRow] = field(default_factory=dict)
    orders: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    lines: set[str] = field(default_factory=set)  # order line ids
    references: set[tuple[str, str]] = field(default_factory=set)  # (org_id, reference)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)  # (store, product)
    #: (store, product) -> the latest exact count's moment, for the counted levels only
    counted: dict[tuple[str, str], datetime] = field(default_factory=dict)
    changed_levels: set[tuple[str, str]] = field(default_factory=set)
    #: store id -> the store's currency, for the stores of the run's devices
    currencies: dict[str, str] = field(default_factory=dict)
    rows: dict[Any, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in TABLES})
    #: the run's events as the analytics rollups read them (org_id, type, payload's
    #: data), when no event row is written (no webhook URL: server/sync/bulk.py)
    facts: list[dict[str, Any]] = field(default_factory=list)
    ops: list[Operation] = field(default_factory=list)
    prepared: set[str] = field(default_factory=set)  # op ids whose needs are loaded


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    ordered = sorted(set(values))
    return [ordered[i:i + CHUNK_IN] for i in range(0, len(ordered), CHUNK_IN)]




def load(session: Session, run: Run | None,
         runs: Sequence[tuple[TerminalPrincipal, Sequence[Operation]]]) -> Run:
    """What the rules need for these devices' order.create ops, added to ``run`` (a new
    one if None): only what the run does not know yet is read."""
    if run is None:
        session.flush()
        run = Run()
    conn = session.connection()
    actor_ids: set[str] = set()
    entity_ids: list[str] = []
    product_ids: set[str] = set()
    payment_ids: list[str] = []
    line_ids: list[str] = []
    references: dict[str, list[str]] = {}
    wanted_levels: set[tuple[str, str]] = set()
    for terminal, ops in runs:
        refs = references.setdefault(terminal.org_id, [])
        for op in ops:
            run.prepared.add(op.op_id)
            actor_ids.add(op.actor_id)
            entity_ids.append(op.entity_id)
            payload = op.payload
            lines = payload.get("lines")
            if isinstance(lines, list):
                for li in lines:
                    if isinstance(li, dict) and isinstance(li.get("id"), str):
                        line_ids.append(li["id"])
                    if isinstance(li, dict) and isinstance(li.get("product_id"), str):
                        product_ids.add(li["product_id"])
                        wanted_levels.add((terminal.store_id, li["product_id"]))
            pays = payload.get("payments")
            if isinstance(pays, list):
                payment_ids.extend(p["id"] for p in pays
                                   if isinstance(p, dict) and isinstance(p.get("id"), str))
            if isinstance(payload.get("reference"), str):
                refs.append(payload["reference"])
    sign = "$" if conn.dialect.name == "postgresql" else "?"
    # (SQLite gives a boolean column as 0/1: bool() makes the rows the ORM's values)
    for ids in _chunks(actor_ids - run.staff.keys()):
        for sid, org, name, role, active in fetch(
                conn, _STAFF_PG.format(marks(1, len(ids), sign)), ids):
            run.staff[sid] = StaffRow(sid, org, name, role, bool(active))
    for ids in _chunks(product_ids - run.products.keys()):
        for pid, org, price, active, deleted, tracked in fetch(
                conn, _PRODUCTS_PG.format(marks(1, len(ids), sign)), ids):
            run.products[pid] = ProductRow(org, price, bool(active), bool(deleted),
                                           bool(tracked))
    _load_existing(conn, run, entity_ids, payment_ids, line_ids, references)
    stores = [t.store_id for t, _ in runs if t.store_id not in run.currencies]
    if stores:
        ids = sorted(set(stores))
        for sid, currency in fetch(conn, _STORES_PG.format(marks(1, len(ids), sign)), ids):
            run.currencies[sid] = currency
    org_of = {t.store_id: t.org_id for t, _ in runs}
    tracked = [(store, pid) for store, pid in wanted_levels - run.levels.keys()
               if (prod := run.products.get(pid)) is not None
               and prod.org_id == org_of[store] and prod.stock_tracked]
    if tracked:
        _lock_levels(conn, tracked, run)
    return run

def _load_existing(conn: Any, run: Run, entity_ids: list[str], payment_ids: list[str],
                   line_ids: list[str], references: dict[str, list[str]]) -> None:
    """Which order ids, references (per org), payment ids and order line ids exist: one
    round trip for a usual batch. Written SQL with numbered placeholders
    (server/db/raw_query.py: no IN list rendered per execution); a list with nothing to
    ask is left out of the UNION."""
    sign = "$" if conn.dialect.name == "postgresql" else "?"
    o_parts, p_parts, l_parts = _chunks(entity_ids), _chunks(payment_ids), _chunks(line_ids)
    found = {"o": run.orders, "p": run.payments, "l": run.lines}
    for org_id, refs in references.items():
        r_parts = _chunks(refs)
        for k in range(max(len(o_parts), len(r_parts), len(p_parts), len(l_parts))):
            branches: list[str] = []
            params: list[str] = []
            for kind, parts in (("o", o_parts), ("r", r_parts), ("p", p_parts),
                                ("l", l_parts)):
                if k >= len(parts) or not parts[k]:
                    continue
                ids = parts[k]
                if kind == "r":
                    params.append(org_id)
                    org_mark = f"{sign}{len(params)}"
                else:
                    org_mark = ""
                branches.append(_EXISTING_PG[kind].format(
                    org=org_mark, ids=marks(len(params) + 1, len(ids), sign)))
                params.extend(ids)
            if not branches:
                continue
            for kind, value in fetch(conn, " UNION ALL ".join(branches), params):
                if kind == "r":
                    run.references.add((org_id, value))
                else:
                    found[kind].add(value)
        o_parts, p_parts, l_parts = [], [], []  # the ids need asking once, not per org


_EXISTING_PG = {
    "o": "SELECT 'o', id FROM orders WHERE id IN ({ids})",
    "r": "SELECT 'r', reference FROM orders WHERE org_id = {org} AND reference IN ({ids})",
    "p": "SELECT 'p', id FROM payments WHERE id IN ({ids})",
    # a line id is also its sale movement's id (server/sync/order_decision.py _stock):
    # one a stock_movements row holds (an edited order's line, another movement) is taken
    "l": ("SELECT 'l', id FROM order_lines WHERE id IN ({ids}) "
          "UNION ALL SELECT 'l', id FROM stock_movements WHERE id IN ({ids})"),
}
_STORES_PG = "SELECT id, currency FROM stores WHERE id IN ({})"
_STAFF_PG = "SELECT id, org_id, name, role, active FROM staff WHERE id IN ({})"
_PRODUCTS_PG = ("SELECT id, org_id, price, active, deleted, stock_tracked FROM products "
                "WHERE id IN ({})")


def _lock_levels(conn: Any, pairs: list[tuple[str, str]], run: Run) -> None:
    """These (store, product) levels, created at 0 when missing, locked in key order.

    Every push locks the levels it changes in (store, product) order, so two pushes
    never wait for each other in a cycle."""
    by_store: dict[str, list[str]] = {}
    for store, pid in pairs:
        by_store.setdefault(store, []).append(pid)
    _read_levels(conn, by_store, run)
    missing = sorted(set(pairs) - run.levels.keys())
    if missing:  # first sale of a product in a store: a level at 0, then locked
        ins = _LEVELS_INS_PG if conn.dialect.name == "postgresql" else _LEVELS_INS_SQLITE
        conn.execute(ins, [{"store_id": store, "product_id": pid, "qty_milli": 0}
                           for store, pid in missing])
        again: dict[str, list[str]] = {}
        for store, pid in missing:
            again.setdefault(store, []).append(pid)
        _read_levels(conn, again, run)

def _read_levels(conn: Any, by_store: dict[str, list[str]], run: Run) -> None:
    if conn.dialect.name == "postgresql":
        _read_levels_pg(conn, by_store, run)
        return
    counted_at_of = None
    for store in sorted(by_store):
        for ids in _chunks(by_store[store]):
            for store_id, pid, qty, counted_at in fetch(
                    conn, _LEVELS_SQLITE.format(marks(2, len(ids), "?")), [store, *ids]):
                run.levels[(store_id, pid)] = qty
                if counted_at is not None:  # SQLite's text, read as the ORM reads it
                    if counted_at_of is None:
                        counted_at_of = _LEVELS_COUNTED.type._cached_result_processor(
                            conn.dialect, None)
                    run.counted[(store_id, pid)] = counted_at_of(counted_at)


# one store at a time: SQLite answers "(store_id, product_id) IN (VALUES ...)" by scanning
# the whole table, but "store_id = ? AND product_id IN (...)" through the primary key
_LEVELS_SQLITE = ("SELECT store_id, product_id, qty_milli, counted_at FROM stock_levels "
                  "WHERE store_id = ?1 AND product_id IN ({}) ORDER BY product_id")
_LEVELS_COUNTED = LEVELS.c.counted_at


def _read_levels_pg(conn: Any, by_store: dict[str, list[str]], run: Run) -> None:
    """The stores' levels in one statement, locked in (store, product) order.

    Tills of many stores pushing at once make groups of a sale or two per store, and a
    query per store cost more than the rest of the group's look-ups together. Joined to
    a VALUES list of the pairs, PostgreSQL finds each pair through the primary key (a
    row-value IN list made it scan the table)."""
    pairs = sorted({(store, pid) for store, pids in by_store.items() for pid in pids})
    for part in (pairs[i:i + CHUNK_IN] for i in range(0, len(pairs), CHUNK_IN)):
        sql = _LEVELS_PAIRS_SQL.format(values=_pair_marks(len(part)))
        for store, pid, qty, counted_at in fetch_pg(conn, sql, [x for p in part for x in p]):
            run.levels[(store, pid)] = qty
            if counted_at is not None:  # timestamptz: read back aware, made UTC as the
                run.counted[(store, pid)] = counted_at.astimezone(UTC)  # ORM reads it


@lru_cache(maxsize=1024)
def _pair_marks(count: int) -> str:
    return ", ".join(f"(${2 * i + 1}, ${2 * i + 2})" for i in range(count))


_LEVELS_PAIRS_SQL = (
    "SELECT l.store_id, l.product_id, l.qty_milli, l.counted_at FROM stock_levels AS l "
    "JOIN (VALUES {values}) AS v(store_id, product_id) "
    "ON l.store_id = v.store_id AND l.product_id = v.product_id "
    "ORDER BY l.store_id, l.product_id FOR UPDATE OF l")

