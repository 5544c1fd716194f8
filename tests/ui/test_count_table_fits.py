"""The stock count's table leaves a product's name room to read at 1024x768: its four
figure columns had fixed widths of 500 px together, and the name column was ~40 px
('Ri… A…', the header 'odu'). The SKU and figures now take their header's and cells'
width, as the register's cart does (ui/widgets/cart_table.py fit_columns)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst

TITLE_BAR = 32  # (as tests/ui/test_till_fit_words.py)


@pytest.mark.parametrize("width", (1024, 1366))
def test_a_counted_products_name_reads_at_the_till(desktop, qtbot, store, width) -> None:  # type: ignore[no-untyped-def]
    window = desktop.window
    window.resize(width, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1004", "4444")  # the stock clerk
    window.show_screen("inventory")
    settle(desktop, qtbot, 80)
    counting = window.inventory.counting
    counting.picker.field.setFocus()
    for code, _ in barcodes(store, 3):
        wedge_burst(code)
        settle(desktop, qtbot, 40)
    qtbot.waitUntil(lambda: counting.model.rowCount() == 3, timeout=5000)
    QApplication.processEvents()
    table, header = counting.table, counting.table.horizontalHeader()
    name_room = header.sectionSize(0)
    assert name_room >= 100, (name_room, table.viewport().width())  # two lines of a name (was 40)
    metrics = header.fontMetrics()
    for col in range(counting.model.columnCount()):
        title = str(counting.model.headerData(col, header.orientation()))
        assert metrics.horizontalAdvance(title) <= header.sectionSize(col), (title, col)
    for col in range(1, counting.model.columnCount()):  # every figure whole
        for row in range(3):
            need = table.sizeHintForIndex(counting.model.index(row, col)).width()
            assert need <= header.sectionSize(col), (row, col, need)
