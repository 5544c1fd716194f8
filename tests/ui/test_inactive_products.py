"""Inactive products at the till: the register names them as not for sale and adds
nothing; the catalog screen, which manages products, still lists and opens them."""

from __future__ import annotations

from app.services import catalog, catalog_edit, staff
from tests.ui.conftest import barcodes, settle, sign_in


def deactivate(store, code: str) -> str:
    """Make the product of ``code`` inactive, as a manager would in the catalog."""
    pid = catalog.line_for_scan(store, code).product_id
    manager = staff.sign_in(store, "1002", "222222")
    catalog_edit.update_product(store, manager, pid, {"active": False})
    return pid


def test_scanning_an_inactive_product_says_so_and_adds_nothing(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1002", "222222")  # a manager: may quick-add, yet is not offered it
    register = desktop.window.register
    (code, name), (other, other_name) = barcodes(store, 2)
    deactivate(store, code)
    register.handle_scan(code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: "not for sale" in desktop.window.notice.text, timeout=5000)
    assert desktop.window.notice.text.startswith(f"{name} is not for sale (inactive)")
    assert register.cart.is_empty and register.model.rowCount() == 0
    assert getattr(register, "quick_add_dialog", None) is None
    register.handle_scan(other)  # the next item still rings up
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    assert [line.name for line in register.cart.lines] == [other_name]


def test_the_catalog_screen_still_finds_an_inactive_product(desktop, qtbot, store):
    (code, name), = barcodes(store, 1)
    pid = deactivate(store, code)
    sign_in(desktop, qtbot, "1004", "4444")
    desktop.window.show_screen("catalog")
    settle(desktop, qtbot)
    screen = desktop.window.catalog
    screen.search.setText(name)
    screen.run_search()
    settle(desktop, qtbot)
    shown = {screen.results.item(r, 0).text() for r in range(screen.results.rowCount())}
    assert f"{name} (inactive)" in shown
    screen.handle_scan(code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: (screen.details or {}).get("id") == pid, timeout=5000)
    assert screen.active.isChecked() is False
