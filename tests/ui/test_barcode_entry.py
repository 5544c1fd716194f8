"""Issue 21, defect 3 at the till: the catalog editor refuses text that is not a barcode,
in words, and keeps the product's real code."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.hid import scan


def test_the_editor_refuses_text_as_a_barcode(desktop, qtbot):
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("catalog")
    catalog = desktop.window.catalog
    code, name = barcodes(desktop.ctx.store, 1)[0]
    catalog.search.setFocus()
    scan(code, catalog.search)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: (catalog.details or {}).get("name") == name, timeout=5000)
    field = catalog.editor.fields["barcodes"]
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(field, "1, 5x", Qt.KeyboardModifier.NoModifier, 60)  # a person, not a scanner
    qtbot.waitUntil(lambda: field.text() == "1, 5x", timeout=2000)
    QTest.keyClick(field, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: "not a barcode" in catalog.editor.error.text(), timeout=5000)
    assert "GTIN" in catalog.editor.error.text()
    assert field.text() == "1, 5x"  # what was typed stays, to be corrected
    settle(desktop, qtbot)
    assert catalog.details["barcodes"] == [code]  # the real EAN was not replaced
