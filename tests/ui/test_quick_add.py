"""Quick-add at the register: an unknown barcode becomes a product and lands in the cart."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import select

from app.domain.barcode import is_valid_gtin
from app.store.models import Barcode, OutboxOperation, Product
from tests.ui.conftest import settle, sign_in

HUMAN_MS = 45  # slower than the wedge scanner's burst threshold
NEW_CODE = "9780201379624"  # a valid EAN-13 (ISBN prefix) the demo catalog does not use


def _open_dialog(desktop, qtbot):
    register = desktop.window.register
    desktop.window.show_screen("register")
    register.handle_scan(NEW_CODE)
    qtbot.waitUntil(lambda: getattr(register, "quick_add_dialog", None) is not None
                    and register.quick_add_dialog.isVisible(), timeout=5000)
    return register.quick_add_dialog


def _ok(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_unknown_barcode_quick_add_creates_the_product_and_adds_it_to_the_cart(desktop, qtbot, store):
    assert is_valid_gtin(NEW_CODE)
    with store.db.read() as s:
        assert s.scalar(select(Barcode.code).where(Barcode.code == NEW_CODE)) is None
    sign_in(desktop, qtbot, "1002", "222222")  # a manager may quick-add
    dialog = _open_dialog(desktop, qtbot)
    assert dialog.sku.text() == NEW_CODE and dialog.tax.text() == "23"
    qtbot.keyClicks(dialog.name, "Design Patterns", delay=HUMAN_MS)  # typed by a person, not a scanner
    qtbot.keyClicks(dialog.price, "39.99", delay=HUMAN_MS)
    dialog.tax.setText("13.5")
    dialog.category.setText("Books")
    _ok(dialog)
    register = desktop.window.register
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    settle(desktop, qtbot)
    line = register.cart.lines[0]
    assert line.name == "Design Patterns" and line.unit_price == 3999
    assert register.model.rowCount() == 1
    with store.db.read() as s:
        product = s.scalars(select(Product).where(Product.sku == NEW_CODE)).one()
        assert (product.price, product.tax_rate_ppm) == (3999, 135_000)
        assert [b.code for b in product.barcodes] == [NEW_CODE]
        assert product.category is not None and product.category.name == "Books"
        ops = s.scalars(select(OutboxOperation.type).where(OutboxOperation.entity_id == product.id)).all()
    assert ops == ["product.create"]
    # the product is now known: scanning it again adds a second unit, no dialog
    register.quick_add_dialog = None
    register.handle_scan(NEW_CODE)
    settle(desktop, qtbot)
    assert register.quick_add_dialog is None
    assert sum(ln.qty_milli for ln in register.cart.lines) == 2000


def test_quick_add_form_says_what_is_wrong_and_stays_open(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1002", "222222")
    dialog = _open_dialog(desktop, qtbot)
    _ok(dialog)
    assert dialog.isVisible() and dialog.error.text() == "Give the product a name"
    dialog.name.setText("Tea")
    dialog.price.setText("0")
    _ok(dialog)
    assert dialog.error.text() == "The price must be more than zero"
    dialog.price.setText("2.50")
    dialog.tax.setText("abc")
    _ok(dialog)
    assert "is not a tax rate" in dialog.error.text() and dialog.isVisible()
    dialog.tax.setText("23")
    dialog.sku.setText(store_sku(store))  # an SKU that already exists: the service refuses
    _ok(dialog)
    qtbot.waitUntil(lambda: "already exists" in desktop.window.notice.text, timeout=5000)
    assert desktop.window.register.cart.is_empty


def test_a_cashier_gets_no_quick_add(desktop, qtbot):
    sign_in(desktop, qtbot)  # cashier 1003
    register = desktop.window.register
    register.handle_scan(NEW_CODE)
    settle(desktop, qtbot)
    assert getattr(register, "quick_add_dialog", None) is None
    assert "No product has barcode" in desktop.window.notice.text


def store_sku(store) -> str:
    with store.db.read() as s:
        return s.scalar(select(Product.sku).limit(1))
