"""A click never overtakes what a person typed (helper K's walk, issue 21).

The scanner filter (ui/scanner.py) holds each typed key about 30 ms to tell a person
from a wedge scanner. On a busy till the last key and the click on "Find the order"
queue together: the click was handled first, on GO-00000 ("That is not a receipt
reference (GO-000123)" under the field, GO-000001 in it a moment later)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, sales, staff
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.keys import SHIFTED, press, type_text


def _last_key_then_click(field, ch: str, button) -> None:
    """The last key and the click in one go, as a busy event loop gets them."""
    modifier = Qt.KeyboardModifier.ShiftModifier if ch in SHIFTED else Qt.KeyboardModifier.NoModifier
    QTest.keyPress(field, ch, modifier)
    QTest.keyRelease(field, ch, modifier)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_find_the_order_clicked_right_after_typing_finds_what_was_typed(desktop, qtbot, store):
    cashier = staff.sign_in(store, "1003", "3333")
    (code, _name), (new_code, _new_name) = barcodes(store, 2)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, code))
    sold = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, cart.totals().total)])
    sign_in(desktop, qtbot, "1001", "111111")
    notices: list[str] = []
    desktop.ctx.notice.connect(lambda _kind, text: notices.append(text))
    register = desktop.window.register
    desktop.window.show_screen("register")
    settle(desktop, qtbot)
    register.scan.setFocus()
    wedge_burst(new_code)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=3000)
    press(register.scan, Qt.Key.Key_F11)
    ask = register.exchange_reference
    qtbot.waitUntil(lambda: QApplication.focusWidget() is ask.field, timeout=3000)
    reference = sold.reference
    assert reference[-1] == "1", reference  # the key the click used to overtake
    type_text(ask.field, reference[:-1])
    _last_key_then_click(ask.field, reference[-1], ask.ok_button)
    assert ask.error.text() == "", ask.error.text()  # was 'That is not a receipt reference (GO-000123)'
    qtbot.waitUntil(lambda: bool(notices)
                    or getattr(getattr(register, "exchange_flow", None), "dialog", None) is not None, timeout=5000)
    assert not notices, notices
    assert register.exchange_flow.dialog.isVisible()
    register.exchange_flow.dialog.reject()


def test_a_click_in_a_scanners_burst_keeps_the_scan_whole(desktop, qtbot, store):
    """The click lets a person's keys through, but a burst at scanner speed stays a scan."""
    (code, name), = barcodes(store, 1)
    sign_in(desktop, qtbot)
    register = desktop.window.register
    desktop.window.show_screen("register")
    settle(desktop, qtbot)
    register.scan.setFocus()
    for ch in code[:6]:
        QTest.keyClick(register.scan, ch)
    QTest.mouseClick(register.scan, Qt.MouseButton.LeftButton)  # a tap on the field mid-scan
    wedge_burst(code[6:])
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=3000)
    assert register.cart.lines[0].name == name
    assert register.scan.text() == ""
