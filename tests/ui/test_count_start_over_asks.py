"""F9 "Start over" on a stock count asks first (helper K's walk).

It dropped a count of counted items at once, without a word. Now a count holding items
is only dropped after "Start over" is chosen; Enter and Esc keep counting; an empty
count starts over without a question."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.hid import scan
from tests.ui.keys import press


def _box():
    widget = QApplication.activeModalWidget()
    return widget if isinstance(widget, QMessageBox) else None


def test_start_over_asks_and_enter_keeps_counting(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1004", "4444")  # a stock clerk: the inventory screen first
    settle(desktop, qtbot)
    page = desktop.window.inventory.counting
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.picker.field, timeout=5000)
    (a, _), (b, _) = barcodes(store, 2)
    scan(a, page.picker.field)
    scan(b, page.picker.field)
    qtbot.waitUntil(lambda: len(page.session.items) == 2, timeout=5000)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
        press(QApplication.focusWidget(), Qt.Key.Key_F9)
        qtbot.waitUntil(lambda: _box() is not None, timeout=3000)
        box = _box()
        assert "2 products" in box.text()
        assert box.defaultButton().text() == "Keep counting"
        press(box, key)
        qtbot.waitUntil(lambda: _box() is None, timeout=3000)
        assert len(page.session.items) == 2, key  # kept
        qtbot.waitUntil(lambda: QApplication.focusWidget() is page.picker.field, timeout=3000)
    press(page.picker.field, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: _box() is not None, timeout=3000)
    drop = _box().findChild(QPushButton, "dropCount")
    qtbot.mouseClick(drop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.session.items, timeout=3000)
    assert page.stack.currentWidget() is page.empty
    # an empty count: nothing to ask (the button is off; F9 does nothing visible)
    press(page.picker.field, Qt.Key.Key_F9)
    qtbot.wait(100)
    assert _box() is None
    scan(a, page.picker.field)  # the next count goes on as before
    qtbot.waitUntil(lambda: len(page.session.items) == 1, timeout=5000)
