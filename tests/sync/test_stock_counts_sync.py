"""Exact counts between real tills and the real server (issue 18): a sale rung up before
a count on another till, that reaches the server after the count, leaves the count
standing on the server and on every till (each a plain sum of movements)."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.cart import Cart
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import catalog, inventory, sales
from app.store.models import StockMovement
from tests.sync.test_stock_and_catalog_sync import add_product, count, server_level, sync_all


def _sell_one(till, pid: str) -> None:
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(till.store, pid))
    sales.record_sale(till.store, till.actor(), cart, [Tender(Method.CASH, cart.totals().total)])


def test_a_late_sale_does_not_undo_a_count_on_any_till(till_factory, tenant) -> None:
    a, b, c = till_factory("A"), till_factory("B"), till_factory("C")
    pid = add_product(a, stock_milli=10_000)
    sync_all(a, b, c)
    _sell_one(b, pid)  # B sells one, offline
    session = count(a, pid, 8000)  # then A counts 8 (its books say 10)
    inventory.commit_count(a.store, a.actor(Role.STOCK), session)
    a.sync()
    assert server_level(tenant, pid) == 8000
    sync_all(b, c, a)  # B's sale arrives after the count: compensated at the count
    assert server_level(tenant, pid) == 8000
    for till in (a, b, c):
        assert catalog.on_hand_milli(till.store, pid) == 8000, till
    with b.store.db.read() as s:
        fixes = s.scalars(select(StockMovement).where(StockMovement.kind == "count_fix")).all()
    assert [f.qty_delta_milli for f in fixes] == [1000]


def test_a_count_against_a_sale_the_till_had_not_pulled(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, stock_milli=10_000)
    sync_all(a, b)
    _sell_one(b, pid)
    b.sync()  # on the server; A has not pulled it
    session = count(a, pid, 8000)  # A's books say 10: A moves -2, the server -1
    inventory.commit_count(a.store, a.actor(Role.STOCK), session)
    assert catalog.on_hand_milli(a.store, pid) == 8000
    sync_all(a, b)
    assert server_level(tenant, pid) == 8000
    assert catalog.on_hand_milli(a.store, pid) == 8000 == catalog.on_hand_milli(b.store, pid)
