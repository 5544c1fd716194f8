"""Issue 21, tender corrections: a pending order's items are edited — a line added as well
as removed — with stock, totals, the audit trail and one order.update, in one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import demo
from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, order_detail, order_edits, sales, staff
from app.store.local import open_store
from app.store.models import OutboxOperation, StockMovement


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "till", passphrase="x")
    demo.seed(s, 40)
    yield s
    s.close()


def test_add_a_line_to_a_pending_order(store):
    cashier, manager = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1002", "222222")
    products = catalog.search(store, "Harbour")[:2]
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, products[0].id))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 100)])
    added = catalog.line_for_product(store, products[1].id, 2000)
    before = catalog.on_hand_milli(store, products[1].id)
    changes = order_edits.edit_order(store, manager, sale.order_id, added=[added], reason="took two more")
    detail = order_detail.order_detail(store, sale.order_id)
    assert [li.name for li in detail.lines] == [products[0].name, products[1].name]
    assert detail.total == sale.total + products[1].price * 2
    assert catalog.on_hand_milli(store, products[1].id) == before - 2000
    assert len(changes["lines"]["after"]) == 2 and changes["total"]["after"] == detail.total
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.entity_id == sale.order_id)
                       .order_by(OutboxOperation.op_seq.desc())).first()
        assert op.type == "order.update"
        assert [li["id"] for li in op.payload["fields"]["lines"]["value"]][-1] == added.id
        assert s.scalars(select(StockMovement).where(StockMovement.order_id == sale.order_id,
                                                     StockMovement.product_id == products[1].id)).one()


def test_adding_to_a_completed_order_is_refused(store):
    cashier, manager = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1002", "222222")
    p = catalog.search(store, "Harbour")[0]
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, p.id))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CARD, cart.totals().total)])
    with pytest.raises(order_edits.EditError, match="corrected by refund"):
        order_edits.edit_order(store, manager, sale.order_id, added=[catalog.line_for_product(store, p.id)],
                               reason="x")
