"""An item sold by weight shows its price per kilogram (helper K's walk): the cart and
the catalog said "€2.99" for Loose Apples, as if for one. A price-embedded label's line
is one item at the printed price, and says so without "/kg"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from app.domain.barcode import make_variable
from tests.ui.conftest import settle, sign_in
from tests.ui.hid import scan
from tests.ui.keys import type_text

PRICE = 2  # the cart's Price column


def _apples(store) -> str:
    with store.db.read() as s:
        return s.execute(text("SELECT id FROM products WHERE name = 'Loose Apples'")).scalar_one()


def test_a_weighed_line_and_the_catalog_say_per_kg(desktop, qtbot, store):
    apples = _apples(store)  # €2.99 a kilo, weighed labels 28 00001
    with store.db.write() as s:  # a price-embedded label's code for the same apples
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('2000009', :p)"), {"p": apples})
    sign_in(desktop, qtbot)
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    scan(make_variable("28", "00001", 450), register.scan)  # 450 g on the scale's label
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    scan(make_variable("20", "00009", 350), register.scan)  # a bag priced €3.50 on its label
    qtbot.waitUntil(lambda: len(register.cart.lines) == 2, timeout=5000)
    model = register.model
    assert model.index(0, 1).data() == "0.450 kg"
    assert model.index(0, PRICE).data() == "€2.99/kg"
    assert model.index(1, PRICE).data() == "€3.50"
    # the register's search results and the catalog's list
    register.scan.setFocus()
    type_text(register.scan, "Loose Apples")
    qtbot.waitUntil(lambda: register.results.count() > 0, timeout=5000)
    assert any("€2.99/kg" in register.results.item(i).text() for i in range(register.results.count()))
    desktop.window.show_screen("catalog")
    catalog = desktop.window.catalog
    settle(desktop, qtbot, 100)
    catalog.search.setFocus()
    type_text(catalog.search, "Loose")
    qtbot.waitUntil(lambda: any(catalog.results.item(r, 0) and catalog.results.item(r, 0).text() == "Loose Apples"
                                for r in range(catalog.results.rowCount())), timeout=5000)
    row = next(r for r in range(catalog.results.rowCount()) if catalog.results.item(r, 0).text() == "Loose Apples")
    assert catalog.results.item(row, 2).text() == "€2.99/kg"
    qtbot.mouseClick(catalog.results.viewport(), Qt.MouseButton.LeftButton,
                     pos=catalog.results.visualItemRect(catalog.results.item(row, 0)).center())
    qtbot.waitUntil(lambda: catalog.editor.details is not None and catalog.editor.details["name"] == "Loose Apples",
                    timeout=5000)
    assert catalog.editor.price_label.text() == "Price per kg"
    assert catalog.editor.fields["price"].text() == "2.99"
