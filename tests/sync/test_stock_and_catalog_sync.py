"""Stock counts, catalog edits and CSV imports between two real terminals and the real server.

Stock changes are deltas and commute; catalog edits merge field by field; the same
field changed differently on two terminals becomes a conflict record. A *central*
edit is head office's ``PATCH /products/{id}`` with a manager's staff token (signed in
with POST /auth/login), so it goes through the same product.update as a pushed edit.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.barcode import with_check_digit
from app.domain.cart import Cart
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import catalog, catalog_csv, catalog_edit, inventory, sales
from app.store.models import OrderLine
from server.db.models import Conflict as ServerConflict
from server.db.models import OrderLine as ServerOrderLine
from server.db.models import Product as ServerProduct
from server.db.models import StockLevel
from sync.status import read_status
from tests.sync.conftest import BACKENDS

CODE = with_check_digit("501234567890")


def add_product(till, price: int = 250, stock_milli: int = 10_000) -> str:
    """A product created on ``till`` with some stock received, not yet synced."""
    clerk = till.actor(Role.STOCK)
    pid = catalog_edit.quick_add(till.store, clerk, catalog_edit.NewProduct(
        "SHELF-1", "Shelf Biscuits", price, 230_000, (CODE,), "Bakery", reorder_level_milli=2000))
    if stock_milli:
        inventory.receive(till.store, clerk, pid, stock_milli, "PO-1")
    return pid


def server_level(tenant, pid: str) -> int:
    with tenant.server.ctx.reader() as s:
        level = s.get(StockLevel, (tenant.store_id, pid))
        return level.qty_milli if level else 0


def server_product(tenant, pid: str) -> ServerProduct:
    with tenant.server.ctx.reader() as s:
        p = s.get(ServerProduct, pid)
        s.expunge(p)
        return p


def central_edit(tenant, pid: str, **fields) -> None:
    """Head office changes ``fields`` through the back-office API, based on the server's
    current values (what its edit screen showed)."""
    h = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        current = c.get(f"/products/{pid}", headers=h)
        assert current.status_code == 200, current.text
        edits = {name: {"base": current.json()[name], "value": value}
                 for name, value in fields.items()}
        r = c.patch(f"/products/{pid}", headers=h,
                    json={"fields": edits, "reason": "head office"})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == current.json()["version"] + 1


def sync_all(*tills) -> None:
    for till in (*tills, *tills):  # twice round: each sees what the others pushed
        report = till.sync()
        assert not report.push.rejected, report.push.rejected


def count(till, pid: str, qty_milli: int) -> inventory.CountSession:
    session = inventory.CountSession(till.store)
    for _ in range(qty_milli // 1000):
        session.scan(pid)
    return session


def test_two_terminals_count_the_same_product_offline_the_later_count_stands(till_factory,
                                                                           tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, stock_milli=10_000)
    sync_all(a, b)
    assert catalog.on_hand_milli(b.store, pid) == 10_000 == server_level(tenant, pid)

    # Offline: A counts 7, then B counts 12. A count is exact (issue 18): the stock at its
    # moment, not a delta; the later count is what the store holds.
    sa, sb = count(a, pid, 7000), count(b, pid, 12_000)
    assert inventory.commit_count(a.store, a.actor(Role.STOCK), sa, "front shelf") == 1
    assert inventory.commit_count(b.store, b.actor(Role.STOCK), sb, "back shelf") == 1
    assert catalog.on_hand_milli(a.store, pid) == 7000 and catalog.on_hand_milli(b.store, pid) == 12_000

    sync_all(b, a)  # B's later count reaches the server first; A's earlier one is superseded
    expected = 12_000
    assert server_level(tenant, pid) == expected
    assert catalog.on_hand_milli(a.store, pid) == expected == catalog.on_hand_milli(b.store, pid)
    assert read_status(a.store).waiting == 0 and read_status(b.store).waiting == 0


def test_count_on_a_while_b_sells_commits_the_right_delta(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, stock_milli=10_000)
    sync_all(a, b)
    session = count(a, pid, 8000)  # A counts 8: expected at count time is 10
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(b.store, pid))  # meanwhile B sells one, offline
    sales.record_sale(b.store, b.actor(), cart, [Tender(Method.CASH, cart.totals().total)])
    b.sync()  # the sale reaches the server, and A pulls it before committing
    a.sync()
    assert catalog.on_hand_milli(a.store, pid) == 9000
    inventory.commit_count(a.store, a.actor(Role.STOCK), session)  # delta 8 - 10 = -2, not 8 - 9
    sync_all(a, b)
    assert server_level(tenant, pid) == 10_000 - 1000 - 2000
    assert catalog.on_hand_milli(a.store, pid) == 7000 == catalog.on_hand_milli(b.store, pid)


def test_offline_price_edit_and_central_name_edit_both_apply(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, stock_milli=0)
    sync_all(a, b)
    catalog_edit.update_product(a.store, a.actor(Role.STOCK), pid, {"price": 275})  # offline on A
    central_edit(tenant, pid, name="Shelf Biscuits Family Pack")  # at head office
    sync_all(a, b)
    p = server_product(tenant, pid)
    assert (p.name, p.price) == ("Shelf Biscuits Family Pack", 275)
    for till in (a, b):
        row = catalog.get(till.store, pid)
        assert (row.name, row.price) == ("Shelf Biscuits Family Pack", 275), till
    assert [h.new_price for h in catalog_edit.price_history(b.store, pid)][-1] == 275
    with tenant.server.ctx.reader() as s:
        assert s.scalar(select(func.count()).select_from(ServerConflict)
                        .where(ServerConflict.entity_id == pid)) == 0


def test_same_price_edited_differently_on_two_terminals_is_a_conflict(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, price=250, stock_milli=0)
    sync_all(a, b)
    catalog_edit.update_product(a.store, a.actor(Role.STOCK), pid, {"price": 300})
    catalog_edit.update_product(b.store, b.actor(Role.STOCK), pid, {"price": 350, "reorder_level_milli": 5000})
    ra = a.sync()
    rb = b.sync()
    assert ra.push.applied >= 1 and [c.op_type for c in rb.push.conflicts] == ["product.update"]
    with tenant.server.ctx.reader() as s:
        conflict = s.scalars(select(ServerConflict).where(ServerConflict.entity_id == pid)).one()
        assert conflict.kind == "field_conflict" and conflict.status == "open"
        assert set(conflict.fields) == {"price"}
        assert conflict.fields["price"]["server"] == 300 and conflict.fields["price"]["terminal"] == 350
    p = server_product(tenant, pid)
    assert p.price == 300 and p.reorder_level_milli == 5000  # the other field merged; nothing overwritten
    sync_all(a, b)
    assert read_status(b.store).conflicts == 1
    assert catalog.get(b.store, pid).price == 300


def test_sale_keeps_its_price_after_a_central_price_change(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = add_product(a, price=250)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(a.store, pid))
    sale = sales.record_sale(a.store, a.actor(), cart, [Tender(Method.CASH, 250)])
    sync_all(a, b)
    central_edit(tenant, pid, price=299)
    sync_all(a, b)
    for till in (a, b):
        assert catalog.get(till.store, pid).price == 299  # the central price reached the terminal
        assert catalog.line_for_scan(till.store, CODE).unit_price == 299
        with till.store.db.read() as s:
            line = s.scalars(select(OrderLine).where(OrderLine.order_id == sale.order_id)).one()
            assert line.unit_price == 250
    with tenant.server.ctx.reader() as s:
        assert s.scalars(select(ServerOrderLine.unit_price)
                         .where(ServerOrderLine.order_id == sale.order_id)).one() == 250


@BACKENDS
def test_a_central_deletion_hides_the_product_from_scan_and_search_not_from_old_orders(
        till_factory, tenant) -> None:
    a = till_factory("A")
    pid = add_product(a, price=250)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(a.store, CODE))
    sale = sales.record_sale(a.store, a.actor(), cart, [Tender(Method.CASH, 250)])
    sync_all(a)
    assert [p.id for p in catalog.search(a.store, "shelf bisc")] == [pid]
    with tenant.server.client() as c:
        r = c.request("DELETE", f"/products/{pid}", headers=tenant.login(Role.MANAGER),
                      json={"reason": "discontinued"})
        assert r.status_code == 200, r.text
    b = till_factory("B")  # its first sync loads the snapshot; A pulls the feed
    sync_all(a, b)
    for till in (a, b):
        with pytest.raises(catalog.UnknownBarcode):
            catalog.line_for_scan(till.store, CODE)
        assert catalog.search(till.store, "shelf bisc") == []
        assert catalog.get(till.store, pid).active is False  # still known, for old orders
        with till.store.db.read() as s:
            line = s.scalars(select(OrderLine).where(OrderLine.order_id == sale.order_id)).one()
            assert (line.product_id, line.name, line.barcode, line.unit_price) == (
                pid, "Shelf Biscuits", CODE, 250)
    assert server_product(tenant, pid).deleted


def test_csv_import_on_a_terminal_reaches_the_server_and_the_other_terminal(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    rows = [f"CSV{i:04d},Imported Item {i},{i}.50,23,{with_check_digit(f'76{i:010d}')},Imported,3"
            for i in range(1, 121)]
    text = "sku,name,price,tax_rate,barcodes,category,reorder_level\n" + "\n".join(rows) + "\n"
    report = catalog_csv.import_csv(a.store, a.actor(Role.STOCK), text, source="supplier.csv")
    assert report.ok and report.created == 120
    sync_all(a, b)
    with tenant.server.ctx.reader() as s:
        server_rows = s.scalars(select(ServerProduct).where(ServerProduct.sku.like("CSV%"))).all()
        assert len(server_rows) == 120
        by_sku = {p.sku: p for p in server_rows}
    assert by_sku["CSV0007"].price == 750 and by_sku["CSV0007"].barcodes == [with_check_digit("760000000007")]
    line = catalog.line_for_scan(b.store, with_check_digit("760000000042"))
    assert (line.name, line.unit_price, line.tax_rate_ppm) == ("Imported Item 42", 4250, 230_000)
    # a second import that changes one price is one product.update, merged like any edit
    changed = text.replace("CSV0042,Imported Item 42,42.50", "CSV0042,Imported Item 42,39.99")
    again = catalog_csv.import_csv(b.store, b.actor(Role.STOCK), changed, source="supplier.csv")
    assert (again.updated, again.unchanged, again.created) == (1, 119, 0)
    sync_all(b, a)
    assert catalog.line_for_scan(a.store, with_check_digit("760000000042")).unit_price == 3999
