"""Receiving a delivery by keys (helper K's walk, issue 21): after the scan the quantity
field held "1" with the cursor after it, so the clerk's "12" received 112; and at
1024x768 the field's hint read "Scan or search the product rece…"."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.services import catalog
from tests.ui.conftest import barcodes, settle, wedge_burst
from tests.ui.keys import press, type_text
from tests.ui.test_inventory_screen import stock_in
from tests.ui.test_till_fit_words import _text_room

TITLE_BAR = 32


def test_the_quantity_typed_after_a_scan_is_the_quantity_received(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    (code, _name), = barcodes(store, 1)
    product = catalog.line_for_scan(store, code).product_id
    before = catalog.on_hand_milli(store, product)
    press(screen.counting.picker.field, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: screen.tabs.currentIndex() == 1, timeout=3000)
    page = screen.receiving
    wedge_burst(code)
    qtbot.waitUntil(lambda: page.picker.current is not None and QApplication.focusWidget() is page.qty,
                    timeout=5000)
    type_text(page.qty, "12")
    qtbot.waitUntil(lambda: page.qty.text() == "12", timeout=2000)  # was "112"
    press(page.qty, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: catalog.on_hand_milli(store, product) != before, timeout=5000)
    assert catalog.on_hand_milli(store, product) - before == 12_000


@pytest.mark.parametrize("width", (1024, 1366))
def test_the_receive_hint_reads_whole(desktop, qtbot, width):
    desktop.window.resize(width, 768 - TITLE_BAR)
    screen = stock_in(desktop, qtbot)
    screen.tabs.setCurrentIndex(1)
    settle(desktop, qtbot, 50)
    QApplication.processEvents()
    field = screen.receiving.picker.field
    hint = field.placeholderText()
    assert field.fontMetrics().horizontalAdvance(hint) <= _text_room(field), (hint, _text_room(field))
