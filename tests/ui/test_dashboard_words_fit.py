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


def _tick_labels(axis) -> list[str]:
    n = axis.tickCount()
    step = (axis.max() - axis.min()) / (n - 1)
    return [axis.labelFormat() % (axis.min() + i * step) for i in range(n)]


@pytest.mark.parametrize("cents", (119, 1918))
def test_the_revenue_axis_counts_in_round_distinct_steps(desktop, qtbot, store, cents):
    """The revenue axis read '0, 0, 1, 1, 1' for a €1.19 day and '0, 5, 11, 16, 21' for €19.18."""
    from PySide6.QtCharts import QValueAxis

    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("dashboard")
    screen = desktop.window.screens["dashboard"]
    settle(desktop, qtbot, 80)
    screen._bars(screen.day_chart, ["Thu", "Fri"], [0, cents])
    axis = next(a for a in screen.day_chart.chart().axes() if isinstance(a, QValueAxis))
    labels = _tick_labels(axis)
    assert len(set(labels)) == len(labels), labels
    values = [float(v) for v in labels]
    step = values[1] - values[0]
    assert all(abs(b - a - step) < 1e-9 for a, b in zip(values, values[1:], strict=False)), labels
    assert any(abs(step - nice * 10 ** k) < 1e-9 for nice in (1, 2, 2.5, 5) for k in range(-2, 5)), labels
    assert float(labels[-1]) >= cents / 100
