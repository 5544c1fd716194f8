"""Issue 21: quick keys for items with no barcode: a manager puts a product and a category
on keys; a cashier sells with one touch, a category key opens its products."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.services import quick_keys, staff
from app.store.models import AuditEntry, Category, Product
from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press, type_text

SHOTS = Path(os.environ.get("TILLSYNC_SHOTS", "/tmp/h21"))


def _bakery(store) -> tuple[str, list[str]]:
    with store.db.read() as s:
        cat = s.scalars(select(Category).where(Category.name == "Bakery")).one()
        names = list(s.scalars(select(Product.name).where(Product.category_id == cat.id, Product.active)
                               .order_by(Product.name)))
        return cat.id, names


def test_manager_sets_keys_by_keyboard_and_a_cashier_sells_with_them(desktop, qtbot, store):
    cat_id, bakery = _bakery(store)
    sign_in(desktop, qtbot, "1002", "222222")
    register = desktop.window.register
    panel = register.quick_keys
    settle(desktop, qtbot, 100)
    assert panel.edit_button.isVisible()
    panel.edit_button.click()
    panel.buttons[0].click()  # edit key 1: a product
    qtbot.waitUntil(lambda: panel.editor is not None and panel.editor.isVisible(), timeout=10_000)
    editor = panel.editor
    qtbot.waitUntil(lambda: QApplication.focusWidget() is editor.search, timeout=10_000)
    type_text(editor.search, bakery[0])
    qtbot.waitUntil(lambda: editor.results.count() > 0, timeout=3000)
    press(editor.search, Qt.Key.Key_Return)  # the first product found
    settle(desktop, qtbot, 100)
    qtbot.waitUntil(lambda: panel.buttons[0].text().startswith(bakery[0][:8]), timeout=3000)
    panel.buttons[1].click()  # key 2: the Bakery category
    qtbot.waitUntil(lambda: panel.editor is not editor and panel.editor.isVisible(), timeout=10_000)
    editor = panel.editor
    editor.category.setCurrentIndex(editor.category.findData(cat_id))
    editor.save_category_button.click()
    settle(desktop, qtbot, 100)
    qtbot.waitUntil(lambda: "Bakery" in panel.buttons[1].text(), timeout=3000)
    panel.edit_button.click()  # done editing
    with store.db.read() as s:
        assert [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "quick_key"))] == [
            "quick_key.set", "quick_key.set"]

    desktop.window.switch_user() if hasattr(desktop.window, "switch_user") else None
    sign_in(desktop, qtbot, "1003", "3333")
    settle(desktop, qtbot, 100)
    assert not panel.edit_button.isVisible()  # a cashier does not edit keys
    panel.buttons[0].click()
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=3000)
    assert register.cart.lines[0].name == bakery[0]
    panel.buttons[1].click()  # the category opens its products
    qtbot.waitUntil(lambda: panel.buttons[1].toolTip() == bakery[0], timeout=3000)
    assert panel.buttons[0].text().startswith("◀")
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop.window.grab().save(str(SHOTS / "register-quick-keys.png"))
    panel.buttons[2].click()  # the second bakery product
    qtbot.waitUntil(lambda: len(register.cart.lines) == 2, timeout=3000)
    assert register.cart.lines[1].name == bakery[1]
    assert "Bakery" in panel.buttons[1].text()  # back to the top keys after a sale from a category


def test_a_cashier_may_not_set_keys(store):
    cashier = staff.sign_in(store, "1003", "3333")
    import pytest

    from app.domain.permissions import PermissionDenied
    with pytest.raises(PermissionDenied):
        quick_keys.set_key(store, cashier, 0, category_id="x")
