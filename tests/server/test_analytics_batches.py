"""Analytics rollups of whole pushes (issue 17): the consumer folds a push's orders into
one delta per rollup row, derives the hourly, daily and total rows from the quarter-hour
ones, and writes each table with one statement (PostgreSQL: the rows as one JSON
document). Every rollup row must still equal a plain recomputation from the orders,
lines and payments tables, on SQLite and PostgreSQL, after a first push (rows inserted),
a second (rows added to) and a deletion (rows subtracted from)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.analytics import rebuild
from server.analytics.consumer import (
    ORDERS,
    PRODUCTS,
    SALES,
    TENDERS,
    TOTALS,
    consume,
    defer,
    slot_of,
    write_deferred,
)
from server.db.models import Order, OrderLine, Payment
from tests.server.support import RunningServer, Tenant, line
from tests.server.test_analytics import _offline_order, _plan_op
from tests.server.test_analytics_hourly import assert_twins_hold

DAY = date(2026, 3, 29)
TEA = "0190a000-0000-7000-8000-0000000000aa"
PRODUCTS_SOLD = [TEA, None, "0190a000-0000-7000-8000-0000000000bb"]


def _table(session: Any, table: Any, store_id: str) -> dict[tuple[Any, ...], list[Any]]:
    """A rollup's rows (non-zero), key -> values (a product's name last)."""
    keys = [c for c in table.primary_key.columns]
    rest = [c for c in table.columns if c not in keys]
    out = {}
    for row in session.execute(select(*keys, *rest).where(table.c.store_id == store_id)):
        values = [v if isinstance(v, str) else int(v) for v in row[len(keys):]]
        if any(v for v in values if not isinstance(v, str)):
            out[tuple(row[:len(keys)])] = values
    return out


def _recomputed(session: Any, store_id: str) -> dict[str, dict[tuple[Any, ...], list[Any]]]:
    """The quarter-hour sales, products and tenders and the totals, from the orders."""
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.store_id == store_id))}
    sales: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * 5)
    products: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, ""])
    tenders: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0])
    totals: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0])
    base = {}
    for o in orders.values():
        kind = "offline" if o.device_id else "online"
        base[o.id] = (store_id, slot_of(o.created_at), o.device_id or "", o.created_by or "",
                      kind)
        if o.status == "deleted":
            continue
        plan = sum(int(i["amount"]) for i in o.installments or [])
        for i, v in enumerate((1, o.total, o.tax, 1 if plan else 0, plan)):
            sales[base[o.id]][i] += v
        totals[(store_id, kind)][0] += 1
        totals[(store_id, kind)][1] += o.total
    for li in session.scalars(select(OrderLine).where(OrderLine.order_id.in_(list(orders)))):
        if orders[li.order_id].status == "deleted":
            continue
        acc = products[(*base[li.order_id], li.product_id or f"~{li.name}")]
        acc[0] += li.qty_milli
        acc[1] += li.total
        acc[2] = li.name
    for p in session.scalars(select(Payment).where(Payment.order_id.in_(list(orders)))):
        o = orders[p.order_id]
        acc = tenders[(store_id, slot_of(p.created_at), base[o.id][4], p.method,
                       bool(o.installments))]
        acc[0] += 1
        acc[1] += p.amount
    return {"sales": dict(sales), "products": {k: [v[2], v[0], v[1]] for k, v in products.items()},
            "tenders": dict(tenders), "totals": dict(totals)}


def _assert_rollups_hold(tenant: Tenant) -> None:
    with tenant.server.ctx.reader() as session:
        want = _recomputed(session, tenant.store_id)
        got = {name: _table(session, table, tenant.store_id) for name, table in
               (("sales", SALES), ("products", PRODUCTS), ("tenders", TENDERS),
                ("totals", TOTALS))}
        # tenders by what the dashboards read (the by-terminal and by-staff split is held
        # equal to a rebuild's by tests/server/test_analytics_push_vs_rebuild.py)
        tenders: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0])
        for (store, slot, _terminal, _staff, kind, method, on_plan), values in \
                got["tenders"].items():
            for i, v in enumerate(values):
                tenders[(store, slot, kind, method, on_plan)][i] += v
        got["tenders"] = dict(tenders)
        for name in want:
            assert got[name] == want[name], name
        assert_twins_hold(session, [tenant.store_id])


def _sales(tenant: Tenant, first: datetime, count: int) -> list[dict[str, Any]]:
    """Sales two at a time in each quarter-hour (one folded into the other's rows),
    over a UTC midnight, each product on several, some unpaid, some on a plan."""
    cashier = tenant.staff[Role.CASHIER]
    ops = []
    for n in range(count):
        at = (first + timedelta(minutes=7 * n)).isoformat()
        product = PRODUCTS_SOLD[n % 3]
        if n % 9 == 4:
            ops.append(_plan_op(tenant.term, cashier,
                                {"price": 900 + n, "product": product, "qty": 1000}, at))
        else:
            ops.append(_offline_order(tenant.term, cashier, 100 + n, at,
                                      None if n % 5 == 3 else ("cash", "card")[n % 2],
                                      product, (1000, 1500)[n % 2]))
    return ops


def test_pushes_of_many_sales_keep_every_rollup_row_exact(tenant: Tenant) -> None:
    start = datetime(DAY.year, DAY.month, DAY.day, 22, 50, tzinfo=UTC)
    first = _sales(tenant, start, 30)
    assert {r["status"] for r in tenant.term.push(first)["results"]} == {"applied"}
    _assert_rollups_hold(tenant)  # rows inserted

    second = _sales(tenant, start + timedelta(minutes=3), 20)  # the same quarter-hours
    assert {r["status"] for r in tenant.term.push(second)["results"]} == {"applied"}
    _assert_rollups_hold(tenant)  # rows added to

    owner = tenant.login(Role.OWNER)
    unpaid = [op["entity_id"] for op in first + second
              if not op["payload"]["payments"] and not op["payload"].get("installments")]
    with tenant.server.client() as c:
        for order_id in unpaid[:2]:
            r = c.request("DELETE", f"/offline-orders/{order_id}", headers=owner,
                          json={"reason": "mistake"})
            assert r.status_code == 200, r.text
    _assert_rollups_hold(tenant)  # rows subtracted from
    with tenant.server.ctx.reader() as session:
        facts = session.execute(select(ORDERS.c.order_id, ORDERS.c.facts)
                                .where(ORDERS.c.store_id == tenant.store_id)).all()
    assert len(facts) == len(first) + len(second)
    assert sum(f["deleted"] for _id, f in facts) == 2 and all(f["lines"] for _id, f in facts)

    with tenant.server.ctx.writer.begin() as session:  # the rebuild gives the same rows
        rebuild.rebuild(session, tenant.org_id)
    _assert_rollups_hold(tenant)


def test_a_deleted_sale_leaves_the_product_name_it_shared(tenant: Tenant) -> None:
    """Two sales of Tea in one quarter-hour, one deleted: the row left names Tea (it was
    written with an empty name, the deletion adding no name of its own)."""
    cashier, owner = tenant.staff[Role.CASHIER], tenant.login(Role.OWNER)
    at = datetime(DAY.year, DAY.month, DAY.day, 10, 1, tzinfo=UTC)
    ops = []
    for n, pay in enumerate(("cash", None)):
        op = _offline_order(tenant.term, cashier, 300, (at + timedelta(minutes=n)).isoformat(),
                            pay, TEA)
        op["payload"]["lines"][0]["name"] = "Tea"
        ops.append(op)
    assert {r["status"] for r in tenant.term.push(ops)["results"]} == {"applied"}
    with tenant.server.client() as c:
        r = c.request("DELETE", f"/offline-orders/{ops[1]['entity_id']}", headers=owner,
                      json={"reason": "mistake"})
        assert r.status_code == 200, r.text
    with tenant.server.ctx.reader() as session:
        rows = _table(session, PRODUCTS, tenant.store_id)
    assert [(key[5], values) for key, values in rows.items()] == [
        (TEA, ["Tea", 1000, ops[0]["payload"]["lines"][0]["total"]])]


def test_an_order_created_through_rest_and_paid_later(tenant: Tenant) -> None:
    """The back office's path (one event at a time, rows upserted): an order, a payment
    taken later, a second order in the same quarter-hour."""
    owner = tenant.login(Role.OWNER)
    at = datetime.now(UTC).isoformat()
    with tenant.server.client() as c:
        ids = []
        for price in (500, 700):
            li = line(TEA, price, 1000)
            oid = new_id()
            r = c.post("/offline-orders", headers=owner, json={
                "id": oid, "store_id": tenant.store_id, "currency": "EUR",
                "tax_inclusive": True, "lines": [li], "subtotal": li["total"], "discount": 0,
                "tax": li["tax"], "total": li["total"], "created_at": at})
            assert r.status_code == 201, r.text
            ids.append(oid)
        r = c.post(f"/offline-orders/{ids[0]}/payments", headers=owner,
                   json={"id": new_id(), "method": "card", "amount": 200})
        assert r.status_code == 201, r.text
    _assert_rollups_hold(tenant)
    with tenant.server.ctx.reader() as session:
        paid = session.execute(select(ORDERS.c.paid, ORDERS.c.payment_ids)
                               .where(ORDERS.c.order_id == ids[0])).one()
    assert paid.paid == 200 and len(paid.payment_ids) == 1


def test_a_payment_rolled_back_with_its_savepoint_is_not_counted(server: RunningServer
                                                                    ) -> None:
    """The ORM path keeps the rows it wrote for the next event of the same transaction;
    a savepoint rolled back takes its payment away, and the next payment must not see
    the row as that savepoint left it (paid, payment ids)."""
    store = new_id()
    state, payment = _deferred_order(store)
    order_id = state["id"]
    kept = payment(500)
    with server.ctx.writer.begin() as session:
        consume(session, "org", "offline_order.created", state)
        savepoint = session.begin_nested()
        consume(session, "org", "payment.received", payment(300))
        savepoint.rollback()
        consume(session, "org", "payment.received", kept)
    with server.ctx.reader() as session:
        row = session.execute(select(ORDERS.c.paid, ORDERS.c.payment_ids)
                              .where(ORDERS.c.order_id == order_id)).one()
        tenders = _table(session, TENDERS, store)
    assert (row.paid, row.payment_ids) == (500, [kept["payment"]["id"]])
    assert list(tenders.values()) == [[1, 500]]


def _deferred_order(store: str) -> tuple[dict[str, Any], Any]:
    order_id, at = new_id(), datetime.now(UTC).isoformat()
    state = {"id": order_id, "store_id": store, "created_at": at, "device_id": None,
             "created_by": "ann", "status": "open", "total": 900, "tax": 150,
             "installments": [], "paid": 0, "refunded": 0, "payments": [],
             "lines": [{"product_id": TEA, "name": "Tea", "qty_milli": 1000, "total": 900}]}

    def payment(amount: int) -> dict[str, Any]:
        return {"payment": {"id": new_id(), "order_id": order_id, "method": "card",
                            "amount": amount, "created_at": at}}

    return state, payment


def test_deferred_events_are_written_once_at_the_end(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """After defer() (the back office's ops.run), an order's events are counted in
    memory and written by write_deferred: nothing before it, every row after it; on
    PostgreSQL as one statement. Counted at the driver: on PostgreSQL the write runs on
    psycopg's own cursor (server/db/raw_query.py), which SQLAlchemy's events never see;
    SQLite's driver cannot be wrapped, its statements go through SQLAlchemy."""
    from sqlalchemy import event

    store = new_id()
    state, payment = _deferred_order(store)
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    postgres = server.ctx.engine.dialect.name == "postgresql"
    with server.ctx.writer.begin() as session:
        defer(session)
        consume(session, "org", "offline_order.created", state)
        consume(session, "org", "payment.received", payment(300))
        assert _table(session, SALES, store) == {}  # nothing written yet
        conn = session.connection()
        if postgres:
            _count_driver_statements(monkeypatch, conn.connection.driver_connection, statements)
        else:
            event.listen(conn, "before_cursor_execute", seen)
        try:
            write_deferred(session)
            write_deferred(session)  # (a second call writes nothing again)
        finally:
            monkeypatch.undo()
            if not postgres:
                event.remove(conn, "before_cursor_execute", seen)
    assert len(statements) == (1 if postgres else 8), statements
    with server.ctx.reader() as session:
        row = session.execute(select(ORDERS.c.paid, ORDERS.c.total)
                              .where(ORDERS.c.order_id == state["id"])).one()
        assert (row.paid, row.total) == (300, 900)
        assert [v[:2] for v in _table(session, SALES, store).values()] == [[1, 900]]
        assert list(_table(session, TENDERS, store).values()) == [[1, 300]]
        assert list(_table(session, TOTALS, store).values()) == [[1, 900]]
        assert list(_table(session, PRODUCTS, store).values()) == [["Tea", 1000, 900]]


def _count_driver_statements(monkeypatch: pytest.MonkeyPatch, driver: Any,
                             statements: list[str]) -> None:
    """Every statement psycopg sends on ``driver`` (any cursor: SQLAlchemy's, a
    ``RawCursor``; one execution, one executemany) appended to ``statements``."""
    import psycopg

    for name in ("execute", "executemany"):
        real = getattr(psycopg.Cursor, name)

        def counted(cursor: Any, query: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
            if cursor.connection is driver:
                statements.append(str(query))
            return _real(cursor, query, *args, **kw)

        monkeypatch.setattr(psycopg.Cursor, name, counted)


def test_a_savepoint_begun_after_deferred_events_keeps_them(server: RunningServer) -> None:
    """What was counted before a savepoint is written before it begins: rolling the
    savepoint back takes only its own payment away (without that, the order's sale
    would be lost with it, or the payment kept)."""
    store = new_id()
    state, payment = _deferred_order(store)
    kept = payment(500)
    with server.ctx.writer.begin() as session:
        defer(session)
        consume(session, "org", "offline_order.created", state)
        savepoint = session.begin_nested()
        consume(session, "org", "payment.received", payment(300))
        savepoint.rollback()
        consume(session, "org", "payment.received", kept)
        write_deferred(session)
    with server.ctx.reader() as session:
        row = session.execute(select(ORDERS.c.paid, ORDERS.c.payment_ids)
                              .where(ORDERS.c.order_id == state["id"])).one()
        assert (row.paid, row.payment_ids) == (500, [kept["payment"]["id"]])
        assert [v[:2] for v in _table(session, SALES, store).values()] == [[1, 900]]
        assert list(_table(session, TENDERS, store).values()) == [[1, 500]]


def test_deferred_events_of_a_rolled_back_transaction_leave_nothing(server: RunningServer
                                                                    ) -> None:
    store = new_id()
    state, payment = _deferred_order(store)
    session = server.ctx.writer()
    try:
        session.begin()
        defer(session)
        consume(session, "org", "offline_order.created", state)
        session.rollback()
        with session.begin():  # a new transaction: the old counts are not written
            consume(session, "org", "payment.received", payment(300))
            write_deferred(session)
    finally:
        session.close()
    with server.ctx.reader() as s:
        assert _table(s, SALES, store) == {}
