"""Issue 21: park a sale (F10) to serve someone else, recall it (F10 on an empty sale)
from a list showing when each was parked and its total; by keys on the real register."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.services import catalog, parked_sales
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.keys import press

SHOTS = Path(os.environ.get("TILLSYNC_SHOTS", "/tmp/h21"))


def _scan_field(desktop, qtbot):
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=10_000)
    return register.scan


def test_park_two_sales_and_recall_the_first(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    codes = barcodes(store, 3)
    for code, _name in codes[:2]:
        register.model.add(catalog.line_for_scan(store, code))
    first_lines = [li.name for li in register.cart.lines]
    first_total = register.cart.totals().total
    press(_scan_field(desktop, qtbot), Qt.Key.Key_F10)
    settle(desktop, qtbot, 100)
    assert register.cart.is_empty, "the sale was not parked"
    assert "parked" in desktop.window.notice.text.lower()
    register.model.add(catalog.line_for_scan(store, codes[2][0]))
    press(_scan_field(desktop, qtbot), Qt.Key.Key_F10)
    settle(desktop, qtbot, 100)
    assert len(parked_sales.parked(store)) == 2
    assert register.buttons["park"].text().startswith("Parked (2)")

    press(_scan_field(desktop, qtbot), Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: getattr(register, "parked_dialog", None) is not None
                    and register.parked_dialog.isVisible())
    dialog = register.parked_dialog
    settle(desktop, qtbot, 100)
    rows = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert len(rows) == 2 and desktop.ctx.money(first_total) in rows[0] and "2 lines" in rows[0], rows
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "parked-sales.png"))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.list, timeout=10_000)
    press(dialog.list, Qt.Key.Key_Return)  # the first (longest waiting) is selected
    settle(desktop, qtbot, 100)
    assert not dialog.isVisible()
    assert [li.name for li in register.cart.lines] == first_lines
    assert register.cart.totals().total == first_total
    assert len(parked_sales.parked(store)) == 1
    assert register.buttons["park"].text().startswith("Park sale")  # items on the register: F10 parks
    desktop.window.resize(1024, 768)
    settle(desktop, qtbot, 100)
    desktop.window.grab().save(str(SHOTS / "register-parked-1024.png"))


def test_f10_on_an_empty_sale_with_nothing_parked_says_so(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    press(_scan_field(desktop, qtbot), Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: getattr(register, "parked_dialog", None) is not None
                    and register.parked_dialog.isVisible())
    settle(desktop, qtbot, 100)
    hint = register.parked_dialog.list.hint  # the empty list says so, in grey, not as an error
    assert hint.isVisible() and hint.text().startswith("No sale is parked on this till")
    assert register.parked_dialog.error.text() == ""
    assert not register.parked_dialog.recall_button.isEnabled()
