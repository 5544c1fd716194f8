"""Register: search, shortcuts, discounts by role, split tender, opening a scanned receipt."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.domain.tender import Method
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst


def _human(widget, text: str) -> None:
    QTest.keyClicks(widget, text, Qt.KeyboardModifier.NoModifier, 70)
    QTest.qWait(80)


def test_search_then_arrow_and_enter_adds_product(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    _human(register.scan, "choc")
    qtbot.waitUntil(lambda: register.results.isVisible() and register.results.count() > 0, timeout=5000)
    QTest.keyClick(register.scan, Qt.Key.Key_Down)
    assert register.results.hasFocus()
    QTest.keyClick(register.results, Qt.Key.Key_Down)
    expected = register.results.currentItem().text().split("    ·    ")[0]
    QTest.keyClick(register.results, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    assert register.cart.lines[0].name == expected
    assert register.scan.hasFocus() and not register.results.isVisible()


def test_the_order_discount_is_offered_to_cashiers_and_managers(desktop, qtbot):
    """Issue 14 item 6: how far each goes alone is their till limit, past it a
    manager's PIN (tests/ui/test_shift_flows.py), so a cashier sees F6 too."""
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    assert register.buttons["order_discount"].isVisible()
    assert register.shortcuts["order_discount"].isEnabled()
    assert register.buttons["line_discount"].isEnabled()
    desktop.window.switch_user()
    sign_in(desktop, qtbot, "1002", "222222")
    assert register.buttons["order_discount"].isVisible()
    assert register.shortcuts["order_discount"].isEnabled()


def test_every_action_button_shows_its_key(desktop, qtbot):
    sign_in(desktop, qtbot, "1001", "111111")
    register = desktop.window.register
    for name, button in register.buttons.items():
        key = register.shortcuts[name].key().toString()
        assert key in button.text(), (name, key, button.text())
    assert "F12" in register.pay_button.text()


def test_keyboard_shortcuts_drive_the_register(desktop, qtbot, monkeypatch):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    for code, _name in barcodes(desktop.ctx.store, 2):
        wedge_burst(code)
        settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 2, timeout=5000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F8)  # remove the selected line
    assert len(register.cart.lines) == 1
    register.table.clearFocus()
    QTest.keyClick(register, Qt.Key.Key_F2)
    assert register.scan.hasFocus()
    _human(register.scan, "xx")
    QTest.keyClick(register.scan, Qt.Key.Key_Escape)  # Esc clears the search first
    assert register.scan.text() == ""
    QTest.keyClick(register.scan, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isActiveWindow())
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Escape)
    assert not register.tender_dialog.isVisible()
    qtbot.waitUntil(desktop.window.isActiveWindow, timeout=3000)
    QTest.keyClick(register.scan, Qt.Key.Key_F9)  # new sale: a cart with items asks first
    assert not register.cart.is_empty
    qtbot.waitUntil(lambda: register.confirm_box.isVisible(), timeout=3000)
    register.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    assert register.cart.is_empty


def test_split_tender_card_then_cash_with_change(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    code, _ = barcodes(desktop.ctx.store, 1)[0]
    wedge_burst(code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    total = register.cart.totals().total
    register.pay()
    dialog = register.tender_dialog
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    QTest.keyClick(dialog.amount, Qt.Key.Key_F2)  # card
    assert dialog.method is Method.CARD
    dialog.amount.setText("0.50")
    QTest.keyClick(dialog.amount, Qt.Key.Key_Return)
    assert dialog.balance == total - 50 and not dialog.paid_in_full
    QTest.keyClick(dialog.amount, Qt.Key.Key_F1)  # cash
    assert dialog.quick.count() > 0
    dialog.add(Method.CASH, total + 1000)
    assert dialog.paid_in_full and dialog.change_due == 1050
    assert dialog.change.text().endswith("10.50")
    QTest.keyClick(dialog.amount, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    assert register.last_sale.change == 1050 and register.last_sale.paid == total


def test_scanning_a_receipt_reference_opens_the_order(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    code, _ = barcodes(desktop.ctx.store, 1)[0]
    wedge_burst(code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    register.pay()
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    reference = register.last_sale.reference
    settle(desktop, qtbot)
    wedge_burst(reference)
    settle(desktop, qtbot)
    sales = desktop.window.sales
    qtbot.waitUntil(lambda: sales.selected is not None and sales.selected.reference == reference, timeout=5000)
    assert desktop.window.pages.currentWidget() is sales
    if desktop.ctx.printing is not None:
        qtbot.waitUntil(lambda: reference in sales.preview.toPlainText(), timeout=5000)
