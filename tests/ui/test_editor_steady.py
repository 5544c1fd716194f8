"""Issue 21, defect 12: the product editor's fields stay put when the name wraps or an
error appears (a click must land on the field the person aimed at)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.hid import scan


def test_fields_do_not_move_when_the_title_wraps_or_an_error_shows(desktop, qtbot):
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.resize(1024, 736)
    desktop.window.show_screen("catalog")
    catalog = desktop.window.catalog
    code, name = barcodes(desktop.ctx.store, 1)[0]
    scan(code, catalog.search)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: (catalog.details or {}).get("name") == name, timeout=5000)
    editor = catalog.editor
    price = editor.fields["price"]
    save = editor.save_button
    where = (price.mapTo(editor, price.rect().topLeft()), save.mapTo(editor, save.rect().topLeft()))
    editor.title.setText("Extra Mature Irish Farmhouse Cheddar Cut To Order   ·   SKU-LONG-NAME-0001")
    editor.error.setText("Price: “abc” is not an amount; type it like 2.50, and keep the field as it was")
    QApplication.processEvents()
    assert (price.mapTo(editor, price.rect().topLeft()), save.mapTo(editor, save.rect().topLeft())) == where
