"""A shelf label's SKU scanned at the register rings the item up (helper K's walk).

The scan field says "Scan or type a name or SKU", yet scanning "SKU001374" said "No
product has barcode SKU001374". A scan no barcode takes now tries the SKU as scanned,
then the barcode and the SKU in another case (a scanner in lower-case mode, or Caps
Lock flipping its Shift); when nothing matches a lower-case scan, the notice says to
check Caps Lock or the scanner's case setting."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from sqlalchemy import select, text

from app.store.models import Product
from tests.ui.conftest import settle, sign_in
from tests.ui.hid import scan


def _counted(store, n: int) -> list[tuple[str, str, str]]:
    """(id, sku, name) of ``n`` active products sold by the unit."""
    with store.db.read() as s:
        rows = s.execute(select(Product.id, Product.sku, Product.name)
                         .where(Product.sold_by_weight.is_(False), Product.active)
                         .order_by(Product.sku).limit(n)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _ready(desktop, qtbot):
    sign_in(desktop, qtbot)  # a cashier: no quick-add offered for an unknown code
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    return register


def test_a_scanned_sku_rings_the_item_up(desktop, qtbot, store):
    (_pid, sku, name), = _counted(store, 1)
    assert sku.upper() == sku and any(c.isalpha() for c in sku)  # a label like "SKU001374"
    register = _ready(desktop, qtbot)
    scan(sku, register.scan)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    assert register.cart.lines[0].name == name and register.cart.lines[0].barcode is None
    assert "No product" not in desktop.window.notice.text


def test_a_lower_case_scan_finds_the_sku_and_the_barcode(desktop, qtbot, store):
    (_p1, sku, name), (p2, _sku2, name2) = _counted(store, 2)
    with store.db.write() as s:  # an internal code in capitals, as barcode.INTERNAL_CODE has them
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('IN7F3A09', :p)"), {"p": p2})
    register = _ready(desktop, qtbot)
    scan(sku.lower(), register.scan)  # the scanner in lower-case mode
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    scan("in7f3a09", register.scan)  # Caps Lock on: the scanner's Shift gives lower case
    qtbot.waitUntil(lambda: len(register.cart.lines) == 2, timeout=5000)
    assert [line.name for line in register.cart.lines] == [name, name2]
    assert register.cart.lines[1].barcode == "IN7F3A09"


def test_a_lower_case_scan_nothing_matches_says_check_caps_lock(desktop, qtbot, store):
    register = _ready(desktop, qtbot)
    scan("zq4kk912", register.scan)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: "No product" in desktop.window.notice.text, timeout=5000)
    said = desktop.window.notice.text
    assert "zq4kk912" in said and "Caps Lock" in said and "case setting" in said
    assert register.cart.is_empty
    desktop.window.notice.clear()
    scan("ZQ4KK913", register.scan)  # capitals: no case to blame
    qtbot.waitUntil(lambda: "No product" in desktop.window.notice.text, timeout=5000)
    assert "Caps Lock" not in desktop.window.notice.text
