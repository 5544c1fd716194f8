"""The dashboard reads whole at 1024x768 and 1366x768 (helper K's walk, issue 21): the
store picker showed 'Harbour Stree' at both sizes (the name came after its first show),
the products table's header 'op product' at 1024, and the cards said '1 orders'."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionComboBox

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, sales, staff
from tests.ui.conftest import barcodes, settle, sign_in

TITLE_BAR = 32


def _combo_room(combo) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


@pytest.mark.parametrize("width", (1024, 1366))
def test_the_dashboard_reads_whole(desktop, qtbot, store, tmp_path, width):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, barcodes(store, 1)[0][0]))
    sales.record_sale(store, cashier, cart, [Tender(Method.CASH, cart.totals().total)])
    desktop.window.resize(width, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("dashboard")
    screen = desktop.window.screens["dashboard"]
    qtbot.waitUntil(lambda: screen.store_picker.count() > 0, timeout=5000)
    settle(desktop, qtbot, 80)
    QApplication.processEvents()
    screen.grab().save(str(tmp_path / f"dashboard-{width}.png"))
    picker = screen.store_picker
    assert picker.fontMetrics().horizontalAdvance(picker.currentText()) <= _combo_room(picker), \
        (picker.currentText(), _combo_room(picker))
    header = screen.products.horizontalHeader()
    for col in range(screen.products.columnCount()):
        needed = header.sectionSizeFromContents(col).width()
        assert needed <= header.sectionSize(col), (screen.products.horizontalHeaderItem(col).text(), needed)
    today = screen.cards["todayCard"][1].text()
    assert today.startswith("1 order ·"), today
    page = screen.rect()
    for w in (picker, screen.date_to, screen.pdf_button):
        assert page.contains(w.mapTo(screen, w.rect().bottomRight())), w.objectName()
