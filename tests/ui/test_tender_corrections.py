"""Issue 21, tender corrections: a payment line taken by mistake is removed (Delete on the
payments list) before the sale completes; what is still to pay follows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain.tender import Method
from app.services import catalog
from tests.ui.conftest import barcodes, sign_in
from tests.ui.keys import press, type_text


def test_remove_a_payment_line_then_pay_the_rest(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    for code, _name in barcodes(store, 3):
        register.model.add(catalog.line_for_scan(store, code))
    total = register.cart.totals().total
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=10_000)
    press(register.scan, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible(), timeout=10_000)
    tender = register.tender_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tender.amount, timeout=10_000)
    press(tender.amount, Qt.Key.Key_F2)  # card
    tender.amount.selectAll()
    type_text(tender.amount, "2.00")
    press(tender.amount, Qt.Key.Key_Return)
    press(tender.amount, Qt.Key.Key_F1)  # cash
    tender.amount.selectAll()
    type_text(tender.amount, "1.00")
    press(tender.amount, Qt.Key.Key_Return)
    assert [a.method for a in tender.applied] == [Method.CARD, Method.CASH]
    money = desktop.ctx.money
    tender.taken.setCurrentRow(0)  # the card payment was a mistake
    tender.grab().save("/tmp/h21/tender-two-payments.png")
    press(tender.amount, Qt.Key.Key_Delete, Qt.KeyboardModifier.ControlModifier)
    assert [(a.method, a.amount) for a in tender.applied] == [(Method.CASH, 100)]
    assert tender.remaining.text() == f"Still to pay now: {money(total - 100)}"
    press(tender.amount, Qt.Key.Key_Return)  # the rest in cash
    assert tender.paid_in_full
    press(tender.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    assert register.last_sale.paid == total
