"""A decimal comma typed at the till is refused, not read as a thousands separator
(helper K's walk): '4,48' for an installment was read as €448.00, 'Change due: €434.57'."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.keys import press, type_text


def test_a_decimal_comma_in_the_cash_tendered_is_refused(desktop, qtbot, store):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    wedge_burst(barcodes(store, 1)[0][0])
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    press(register.scan, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible())
    tender = register.tender_dialog
    tender.amount.selectAll()
    type_text(tender.amount, "4,48")
    press(tender.amount, Qt.Key.Key_Return)
    settle(desktop, qtbot, 50)
    assert not tender.applied, [a.amount for a in tender.applied]  # was 44800 tendered
    assert "4.48" in tender.error.text(), tender.error.text()
    tender.reject()
