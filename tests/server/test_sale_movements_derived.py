"""A sale's stock movements are its order lines (migration 0021, issue 17): the ledger
gives the same answers as when they were stock_movements rows.

One history on both databases: receipts, sales through the bulk writer and through the
ORM handler (several lines, a product sold twice in one sale, an untracked and an
unknown product), a count, a sale dated before the count that arrives after it (its
compensation stays a row, referring to the line), a second store, and an order edit
that re-writes a sale's lines (the trigger writes the deleted lines' movements as
rows). Then every reader of the ledger (``stock.ledger`` at every minute,
``snapshot._moved_since`` from every cursor, ``stock.movements``) is asked, and asked
again after the same database is turned back into the old representation (every
line's movement written as a stock_movements row, the lines' ``stock_after_milli``
cleared: what migration 0021's downgrade does) with the old readers' SQL (the code
before 0021, copied below): the answers must be equal. Each movement must also be
exactly the state its feed entry carried (the decision's values, as the row was
written before), and the ids unique."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import and_, func, select, text

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import FeedEntry, OrderLine, StockLevel, StockMovement, Store
from server.feed.serialize import movement_state_of
from server.feed.snapshot import _moved_since
from server.sync import chunk, stock
from tests.server.support import Tenant, line
from tests.server.test_stock_counts import Till, add_products, at, tills

_COLUMNS = ", ".join(stock.MOVEMENT_COLUMNS)
_BACK_TO_ROWS = [
    f"INSERT INTO stock_movements ({_COLUMNS}) SELECT l.id, o.org_id, o.store_id, "
    "l.product_id, 'sale', -l.qty_milli, l.stock_after_milli, NULL, o.reference, "
    "o.created_by, o.device_id, o.created_at FROM order_lines AS l "
    "JOIN orders AS o ON o.id = l.order_id WHERE l.stock_after_milli IS NOT NULL",
    "UPDATE order_lines SET stock_after_milli = NULL WHERE stock_after_milli IS NOT NULL",
]


def _old_ledger(session: Any, store_id: str, product_id: str, moment: datetime) -> int:
    """server/sync/stock.py ledger_at before 0021."""
    return int(session.scalar(
        select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
        .where(StockMovement.store_id == store_id,
               StockMovement.product_id == product_id,
               StockMovement.created_at <= moment)) or 0)


def _old_moved_since(session: Any, store: Store, cursor: int,
                     product_ids: list[str]) -> dict[str, int]:
    """server/feed/snapshot.py _moved_since before 0021."""
    if cursor >= store.feed_position or not product_ids:
        return {}
    stmt = (select(StockMovement.product_id, func.sum(StockMovement.qty_delta_milli))
            .join(FeedEntry, and_(FeedEntry.entity_id == StockMovement.id,
                                  FeedEntry.store_id == store.id,
                                  FeedEntry.entity_type == "stock_movement",
                                  FeedEntry.position > cursor))
            .where(StockMovement.store_id == store.id,
                   StockMovement.product_id.in_(product_ids))
            .group_by(StockMovement.product_id))
    return {pid: int(total or 0) for pid, total in session.execute(stmt)}


def _answers(session: Any, stores: list[str], pids: list[str], *, old: bool
             ) -> dict[str, Any]:
    ledger = _old_ledger if old else stock.ledger
    moved_since = _old_moved_since if old else _moved_since
    out: dict[str, Any] = {"ledger": {}, "moved": {}, "movements": {}}
    for sid in stores:
        store = session.get(Store, sid)
        for pid in pids:
            for minute in range(-1, 40):
                out["ledger"][sid, pid, minute] = ledger(session, sid, pid, at(minute))
            out["ledger"][sid, pid, "now"] = ledger(session, sid, pid,
                                                    at(0) + timedelta(days=3650))
        for cursor in range(store.feed_position + 1):
            out["moved"][sid, cursor] = {p: v for p, v in moved_since(
                session, store, cursor, pids).items() if v}
        out["movements"][sid] = stock.movements(session, sid)
    return out


def _unpaid_sale(till: Till, lines: list[dict[str, Any]], minute: int) -> dict[str, Any]:
    op = till.term.order_create(till.tenant.staff[Role.CASHIER], lines=lines)
    op["payload"]["created_at"] = at(minute).isoformat()
    return op


def _push(till: Till, ops: list[dict[str, Any]]) -> None:
    answer = till.term.push(ops)
    assert {r["status"] for r in answer["results"]} == {"applied"}, answer["results"]


def test_the_ledger_reads_the_same_from_sales_lines_as_from_rows(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tills(tenant, 2)
    other = tenant.add_store()
    c = Till(tenant.enroll(other, name="Till of store B"), tenant)
    p1, p2 = add_products(a, 2)
    untracked = new_id()
    assert a.term.push([a.term.op("product.create", untracked, tenant.staff[Role.OWNER], {
        "sku": f"U-{untracked}", "name": "Untracked", "price": 100, "tax_rate_ppm": 0,
        "stock_tracked": False})])["results"][0]["status"] == "applied"
    pids = [p1, p2, untracked]
    a.receive(p1, 10_000, at(0))
    a.receive(p2, 5_000, at(0))
    a.push()
    c.receive(p1, 3_000, at(1))
    c.push()

    b.sell(p1, 1000, at(2))  # bulk
    b.push()
    several = _unpaid_sale(b, [line(p1, 100, 2000), line(p2, 100, 500), line(p1, 100, 250),
                               line(untracked, 100, 1000), line(new_id(), 100, 1000)], 3)
    _push(b, [several])
    monkeypatch.setattr(chunk, "is_bulk", lambda op: False)  # the ORM handler
    _push(b, [_unpaid_sale(b, [line(p1, 100, 1500), line(p2, 100, 1000)], 4)])
    monkeypatch.undo()
    c.sell(p1, 700, at(4))
    c.push()

    a.count(p1, 4000, at(10))  # the count stands against the later-arriving sale below
    a.push()
    b.sell(p1, 300, at(6))
    b.push()  # dated before the count: compensated, the count_fix refers to the line
    b.sell(p2, 200, at(12))
    b.push()

    # an edit re-writes the several-line sale's lines (moving no stock)
    old_lines = several["payload"]["lines"]
    new_lines = [dict(old_lines[0], qty_milli=1000, gross=100, net=83, tax=17, total=100),
                 old_lines[1]]
    edit = b.term.op("order.update", several["entity_id"], tenant.staff[Role.MANAGER],
                     {"fields": {"lines": {"base": old_lines, "value": new_lines}}})
    _push(b, [edit])

    stores = [tenant.store_id, other]
    with tenant.server.ctx.reader() as s:
        levels = {(lv.store_id, lv.product_id): lv.qty_milli
                  for lv in s.scalars(select(StockLevel).where(StockLevel.product_id.in_(pids)))}
        moved_lines = s.scalar(select(func.count()).select_from(OrderLine).where(
            OrderLine.stock_after_milli.is_not(None)))
        rows = {m.kind for m in s.scalars(select(StockMovement).where(
            StockMovement.product_id.in_(pids)))}
        feed = {f.entity_id: (f.store_id, f.data) for f in s.scalars(
            select(FeedEntry).where(FeedEntry.store_id.in_(stores),
                                    FeedEntry.entity_type == "stock_movement"))}
        new = _answers(s, stores, pids, old=False)
    assert moved_lines and "sale" in rows  # lines that are movements, and the edited ones as rows
    assert "count_fix" in rows

    # every movement is the state its feed entry carried; ids unique; level = ledger
    for sid in stores:
        got = new["movements"][sid]
        assert Counter(m["id"] for m in got).most_common(1)[0][1] == 1
        assert {m["id"] for m in got} == {i for i, (st, _) in feed.items() if st == sid}
        for m in got:
            assert movement_state_of(m) == feed[m["id"]][1], m
        for pid in pids:
            assert new["ledger"][sid, pid, "now"] == levels.get((sid, pid), 0)
    sold = [m for m in new["movements"][tenant.store_id] if m["kind"] == "sale"]
    assert len(sold) == 8  # (the untracked and unknown products' lines move nothing)
    fix = next(m for m in new["movements"][tenant.store_id] if m["kind"] == "count_fix")
    assert any(m["id"] == fix["reference"] for m in sold)

    # the same database in the old representation, read by the old readers
    with tenant.server.ctx.writer.begin() as s:
        for sql in _BACK_TO_ROWS:
            s.execute(text(sql))
        old = _answers(s, stores, pids, old=True)
        again = _answers(s, stores, pids, old=False)
        s.rollback()
    assert old == new
    assert again == new


def test_the_ledger_of_a_products_sales_is_read_through_its_index(tenant: Tenant) -> None:
    """What a count is set against, for the sales' lines: the partial index on the
    lines' product (a product's lines are few beside a store's orders). The store sells
    another product many more times, so that holds in this test's own data whatever
    else the shared database holds (with only 20 orders a new store's were the fewer,
    and PostgreSQL rightly walked them)."""
    a, = tills(tenant, 1)
    pid, other = add_products(a, 2)
    for minute in range(20):
        a.sell((pid, other)[minute % 2], 1000, at(minute))
    for minute in range(30, 230):
        a.sell(other, 1000, at(minute))
    a.push()
    with tenant.server.ctx.reader() as s:
        stmt = stock.sold_by_lines(tenant.store_id, pid, at(10))
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE order_lines"))
            s.execute(text("ANALYZE orders"))
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a small table: scans are cheaper
            plan = " ".join(r[0] for r in s.execute(text("EXPLAIN " + sql)))
        else:
            plan = " ".join(str(r[-1]) for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert stock.ledger(s, tenant.store_id, pid, at(10)) == -6000
    assert "ix_order_lines_product_moved" in plan, plan


def test_a_line_id_a_stock_movement_already_has_is_taken(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line's id is its sale movement's id: one a stock_movements row holds (another
    movement, or the line of an edited order written as a row) is refused as a line id
    used before, on both paths, so the feed never has two movements of one id."""
    a, = tills(tenant, 1)
    pid, = add_products(a, 1)
    a.receive(pid, 5000, at(0))
    a.push()
    (held,) = a.ledger  # the receipt's movement id
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(chunk, "is_bulk", lambda op: False)  # the ORM handler
        sale = line(pid, 100, 1000)
        sale["id"] = held
        result = a.term.push([a.term.order_create(tenant.staff[Role.CASHIER],
                                                  lines=[sale])])["results"][0]
        assert result["status"] == "rejected", result
        assert f"line id {held} is already used" in result["reason"]
