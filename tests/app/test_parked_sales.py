"""Issue 21: park a sale and recall it later on the same till; several wait at once, each
with time and total; a parked sale survives a restart; parking syncs nothing but is
audited; the customer's details stay sealed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import demo
from app.domain.cart import Cart
from app.domain.totals import Discount
from app.services import catalog, parked_sales, staff
from app.services.customers import CustomerDetails
from app.store.local import open_store
from app.store.models import AuditEntry, OutboxOperation
from app.store.models_till_ui import ParkedSale


def _cart(store, n: int) -> Cart:
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:n]:
        cart.add(catalog.line_for_product(store, p.id, 2000))
    cart.set_line_discount(0, Discount(percent_ppm=100_000))
    return cart


def _count(store, model, column) -> int:
    with store.db.read() as s:
        return int(s.scalar(select(func.count(column))))


def test_park_two_restart_recall_in_order(tmp_path):
    store = open_store(tmp_path / "till", passphrase="x")
    demo.seed(store, 40)
    cashier = staff.sign_in(store, "1003", "3333")
    first, second = _cart(store, 2), _cart(store, 3)
    who = CustomerDetails(None, "Aoife Byrne", "+353 87 765 4321")
    ops = _count(store, OutboxOperation, OutboxOperation.op_id)
    a = parked_sales.park(store, cashier, first, who, label="red coat")
    b = parked_sales.park(store, cashier, second)
    assert _count(store, OutboxOperation, OutboxOperation.op_id) == ops  # nothing to sync
    with store.db.read() as s:
        blob = s.get(ParkedSale, a).customer_enc
    assert b"Aoife" not in blob and b"765" not in blob  # sealed at rest
    store.close()

    store = open_store(tmp_path / "till", passphrase="x")  # the till restarts
    listed = parked_sales.parked(store)
    assert [p.id for p in listed] == [a, b]
    assert [(p.total, p.line_count, p.label, p.customer_name, p.parked_by) for p in listed] == [
        (first.totals().total, 2, "red coat", "Aoife Byrne", "Cass Cashier"),
        (second.totals().total, 3, None, None, "Cass Cashier")]
    cashier = staff.sign_in(store, "1003", "3333")
    cart, customer = parked_sales.recall(store, cashier, a)
    assert cart == first and customer == who
    assert [p.id for p in parked_sales.parked(store)] == [b]
    with pytest.raises(parked_sales.ParkError, match="gone"):
        parked_sales.recall(store, cashier, a)
    with pytest.raises(parked_sales.ParkError, match="Say why"):
        parked_sales.discard(store, cashier, b, "  ")
    parked_sales.discard(store, cashier, b, "Customer left")
    assert parked_sales.parked(store) == []
    with store.db.read() as s:
        trail = [(e.action, e.reason) for e in s.scalars(select(AuditEntry)
                 .where(AuditEntry.entity_type == "parked_sale").order_by(AuditEntry.seq))]
    assert trail == [("sale.park", "red coat"), ("sale.park", None), ("sale.recall", None),
                     ("sale.park.discard", "Customer left")]
    store.close()


def test_an_empty_sale_is_not_parked(tmp_path):
    store = open_store(tmp_path / "till", passphrase="x")
    demo.seed(store, 10)
    cashier = staff.sign_in(store, "1003", "3333")
    with pytest.raises(parked_sales.ParkError, match="nothing to park"):
        parked_sales.park(store, cashier, Cart(tax_inclusive=True))
    store.close()
