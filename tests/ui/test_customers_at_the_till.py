"""Issue 21: customers at the till: F4 finds a customer by phone (local or international
form) or name, shows their orders and what is owed on plans, and attaches them to the sale."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.domain.cart import Cart
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import catalog, sales, staff
from app.services.customers import CustomerDetails
from app.store.models import Customer, Order, StoreSettings
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.keys import press, type_text

SHOTS = Path(os.environ.get("TILLSYNC_SHOTS", "/tmp/h21"))


def _plan_for(store, who: CustomerDetails) -> sales.SaleResult:
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code, _name in barcodes(store, 2):
        cart.add(catalog.line_for_scan(store, code))
    total = cart.totals().total
    return sales.record_sale(store, cashier, cart, [Tender(Method.CASH, total // 4)], who,
                             plan=make_plan(total, total // 4, 3, date.today() - timedelta(days=45),
                                            Interval.MONTHLY))


def test_find_by_local_phone_see_plan_attach_and_sell(desktop, qtbot, store):
    with store.db.write() as s:
        s.scalars(select(StoreSettings)).one().locale = "nl_NL"
    plan = _plan_for(store, CustomerDetails(None, "Anneke de Vries", "+31 6 12345678"))
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    register.model.add(catalog.line_for_scan(store, barcodes(store, 3)[2][0]))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=10_000)
    press(register.scan, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: getattr(register, "customer_dialog", None) is not None
                    and register.customer_dialog.isVisible())
    dialog = register.customer_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.search, timeout=10_000)
    type_text(dialog.search, "0612 345 678")
    qtbot.waitUntil(lambda: dialog.results.count() == 1, timeout=3000)
    money = desktop.ctx.money
    owed = plan.total - plan.paid
    assert "Anneke de Vries" in dialog.results.item(0).text() and money(owed) in dialog.results.item(0).text()
    qtbot.waitUntil(lambda: dialog.orders.rowCount() == 1, timeout=3000)
    cells = [dialog.orders.item(0, c).text() for c in range(dialog.orders.columnCount())]
    assert plan.reference in cells[0] and money(owed) in cells and any("late" in c for c in cells), cells
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "customer-finder.png"))
    press(dialog.search, Qt.Key.Key_Return)  # attach the one found
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert "Anneke de Vries" in register.customer_label.text()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan)  # the keys are back
    press(register.scan, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible(), timeout=10_000)
    tender = register.tender_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tender.amount, timeout=10_000)
    press(tender.amount, Qt.Key.Key_Return)
    press(tender.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    with store.db.read() as s:
        first = s.get(Order, plan.order_id).customer_id
        assert s.get(Order, register.last_sale.order_id).customer_id == first  # the same customer
        assert len(s.scalars(select(Customer)).all()) == 1


def test_a_new_customer_is_typed_and_a_search_that_finds_nothing_says_so(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=10_000)
    press(register.scan, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: getattr(register, "customer_dialog", None) is not None
                    and register.customer_dialog.isVisible())
    dialog = register.customer_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.search, timeout=10_000)
    type_text(dialog.search, "Siobhan")
    qtbot.waitUntil(lambda: "No customer" in dialog.hint.text(), timeout=3000)
    dialog.new_name.setFocus()
    type_text(dialog.new_name, "Siobhan Walsh")
    dialog.new_phone.setFocus()
    type_text(dialog.new_phone, "087 111 2222")
    press(dialog.new_phone, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    settle(desktop, qtbot)
    assert register.customer_details == CustomerDetails(None, "Siobhan Walsh", "087 111 2222")
