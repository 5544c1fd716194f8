"""Issue 20: the till's delete dialog says how much was collected on the order and does
not offer the deletion until that money is refunded."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import approvals, catalog, sales, staff
from app.store.models import Order
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.test_manager_flows import click, open_detail, order_row


def _pending_sale(store, deposit: int) -> str:
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code, _name in barcodes(store, 2):
        cart.add(catalog.line_for_scan(store, code))
    cart.set_quantity(0, 20_000)
    assert cart.totals().total > deposit
    tenders = [Tender(Method.CASH, deposit)] if deposit else []
    return sales.record_sale(store, cashier, cart, tenders).order_id


def test_delete_dialog_names_the_money_collected_and_offers_no_delete(desktop, qtbot, store):
    order_id = _pending_sale(store, 1623)
    sign_in(desktop, qtbot, "1001", "111111")  # the owner: may delete and refund
    screen = open_detail(desktop, qtbot, order_id)
    click(screen, "detail_delete")
    dialog = screen.actions.dialog
    assert dialog.isVisible()
    assert dialog.blocked.text() == "€16.23 was collected on this order: refund it before deleting"
    names = {b.objectName() for b in dialog.findChildren(QPushButton) if b.isVisible()}
    assert not {"routeOverride", "routeQueue"} & names
    click(dialog, "refundFirst")  # the way forward: the refund dialog of this order
    settle(desktop, qtbot)
    assert not dialog.isVisible()
    assert screen.actions.dialog.objectName() == "refundDialog"
    screen.actions.dialog.reject()
    assert order_row(store, order_id).status == "pending"


def test_after_the_refund_the_delete_is_offered(desktop, qtbot, store):
    order_id = _pending_sale(store, 1623)
    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.sign_in(store, "1002", "222222")
    with store.db.read() as s:
        items = [approvals.RefundItem(li.id, li.qty_milli) for li in s.get(Order, order_id).lines]
    approvals.refund_with_override(store, cashier, manager, order_id, items, "gave it back")
    sign_in(desktop, qtbot, "1001", "111111")
    screen = open_detail(desktop, qtbot, order_id)
    click(screen, "detail_delete")
    dialog = screen.actions.dialog
    dialog.reason.setText("rung up twice")
    click(dialog, "routeOverride")
    settle(desktop, qtbot)
    assert order_row(store, order_id).status == "deleted"
