"""After a register dialog closes, the scanner and the keyboard reach the scan field
again (helper K's walk, issue 21).

In the demo (Xvfb, no window manager) a closed dialog left no window of the app
active: after recalling a parked sale, a discount, a price, quick-add or "Cancel
sale? No" a typed name and a wedge scan went nowhere. With a window manager it gave
the focus back; a till in kiosk mode has none."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.keys import press

UNKNOWN = "4006381333931"  # a valid EAN-13 the demo store does not sell


def _escape_the_modal_soon() -> None:
    """F5/F6/F7 run their dialog modally (exec): Esc it from inside its loop, by keys."""
    def escape() -> None:
        target = QApplication.focusWidget() or QApplication.activeModalWidget()
        if target is not None:
            press(target, Qt.Key.Key_Escape)
    QTimer.singleShot(300, escape)


def _open_and_close(desktop, qtbot, what: str) -> None:
    register = desktop.window.register
    scan = register.scan
    if what in ("line_discount", "order_discount", "price"):
        key = {"line_discount": Qt.Key.Key_F5, "order_discount": Qt.Key.Key_F6, "price": Qt.Key.Key_F7}[what]
        _escape_the_modal_soon()
        press(scan, key)
    elif what == "parked":
        press(scan, Qt.Key.Key_F10)  # parks the sale
        settle(desktop, qtbot, 100)
        qtbot.waitUntil(lambda: register.cart.is_empty, timeout=5000)
        press(scan, Qt.Key.Key_F10)  # the parked sales
        qtbot.waitUntil(lambda: getattr(register, "parked_dialog", None) is not None
                        and QApplication.focusWidget() is register.parked_dialog.list, timeout=5000)
        press(register.parked_dialog.list, Qt.Key.Key_Return)  # recalled
        qtbot.waitUntil(lambda: not register.cart.is_empty, timeout=5000)
    elif what == "cancel_no":
        press(scan, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: register.confirm_box is not None
                        and QApplication.activeWindow() is register.confirm_box, timeout=5000)
        press(QApplication.focusWidget(), Qt.Key.Key_Escape)  # No: the sale goes on
    elif what == "quick_add":
        wedge_burst(UNKNOWN)
        qtbot.waitUntil(lambda: getattr(register, "quick_add_dialog", None) is not None
                        and QApplication.activeWindow() is register.quick_add_dialog, timeout=5000)
        press(QApplication.focusWidget(), Qt.Key.Key_Escape)
    settle(desktop, qtbot, 100)


@pytest.mark.parametrize("what", ("line_discount", "order_discount", "price", "parked", "cancel_no", "quick_add"))
def test_the_scan_field_has_the_keys_after_a_dialog(desktop, qtbot, store, what):
    (first, _), (second, second_name) = barcodes(store, 2)
    sign_in(desktop, qtbot, "1002", "222222")  # a manager: every dialog is allowed
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    wedge_burst(first)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    _open_and_close(desktop, qtbot, what)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is desktop.window, timeout=3000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=3000)
    wedge_burst(second)  # the next scan lands in the sale
    qtbot.waitUntil(lambda: len(register.cart.lines) == 2, timeout=5000)
    assert register.cart.lines[1].name == second_name
