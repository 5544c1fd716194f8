"""Issue 21 (the register at 1024x768): a cashier sees at least 8 cart lines whole, with
the totals, Pay, every action key, the quick keys and the search field still on screen;
and the cart follows a scan by a row inserted, not by resetting the table (issue 17).

The window is a maximised till's: 1024x768 or 1366x768 less a title bar. Items come in
by wedge bursts (real key events through the scanner filter), as at the counter."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QWidget

from app.domain.cart import CartLine
from app.services import catalog, quick_keys, staff
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst

TITLE_BAR = 32


def _fully_visible_rows(register) -> int:
    viewport = register.table.viewport().rect()
    return sum(1 for row in range(register.model.rowCount())
               if viewport.contains(register.table.visualRect(register.model.index(row, 0))))


def _on_screen(window, widget: QWidget) -> bool:
    """Shown, and wholly inside the window's pages (nothing cut by the window's edge)."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return widget.isVisible() and window.rect().contains(QRect(top_left, widget.size()))


def _scan_items(desktop, qtbot, n: int) -> None:
    register = desktop.window.register
    for code, _name in barcodes(desktop.ctx.store, n):
        register.scan.setFocus()
        wedge_burst(code)
        settle(desktop, qtbot, 10)
    qtbot.waitUntil(lambda: len(register.cart.lines) == n, timeout=10_000)
    settle(desktop, qtbot, 80)


@pytest.mark.parametrize(("width", "height"), ((1024, 768), (1366, 768)))
def test_eight_cart_lines_show_whole_beside_everything_else(desktop, qtbot, width, height):
    window = desktop.window
    window.resize(width, height - TITLE_BAR)
    manager = staff.sign_in(desktop.ctx.store, "1002", "222222")
    product = catalog.line_for_scan(desktop.ctx.store, barcodes(desktop.ctx.store, 13)[12][0]).product_id
    quick_keys.set_key(desktop.ctx.store, manager, 11, product_id=product)  # the grid shows: its full height
    sign_in(desktop, qtbot, "1002", "222222")  # a manager: every key shows, Edit keys too
    window.show_screen("register")
    _scan_items(desktop, qtbot, 12)
    assert window.size() == QSize(width, height - TITLE_BAR)
    register = window.register
    assert _fully_visible_rows(register) >= 8, (width, _fully_visible_rows(register),
                                                register.table.viewport().height())
    last = register.table.visualRect(register.model.index(11, 0))  # the line just scanned shows
    assert register.table.viewport().rect().contains(last)
    assert register.quick_keys.buttons[11].text().strip()
    for name, widget in (("search", register.scan), ("total", register.totals["total"]),
                         ("pay", register.pay_button), ("quick keys", register.quick_keys.buttons[-1]),
                         ("edit keys", register.quick_keys.edit_button),
                         *((f"key {k}", b) for k, b in register.buttons.items())):
        assert _on_screen(window, widget), (name, width)
    name = register.model.index(0, 0)  # a long name is never lost: wrapped, and whole in the tooltip
    assert register.model.data(name, 3) == register.cart.lines[0].name  # Qt.ToolTipRole


def test_a_scan_inserts_a_row_and_never_resets_the_cart(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    _scan_items(desktop, qtbot, 2)
    resets, inserted = [], []
    register.model.modelReset.connect(lambda: resets.append(1))
    register.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    code, _name = barcodes(desktop.ctx.store, 3)[2]
    wedge_burst(code)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 3, timeout=5000)
    assert inserted == [(2, 2)] and not resets
    assert register.totals["total"].text() == desktop.ctx.money(register.cart.totals().total)
    wedge_burst(code)  # the same item again: its line's quantity, no new row
    qtbot.waitUntil(lambda: register.cart.lines[2].qty_milli == 2000, timeout=5000)
    assert register.model.rowCount() == 3 and not resets
    assert register.model.data(register.model.index(2, 1)) == "2"
    assert register.totals["total"].text() == desktop.ctx.money(register.cart.totals().total)
    register.model.remove(2)
    assert register.model.rowCount() == 2 and not resets
    assert register.totals["total"].text() == desktop.ctx.money(register.cart.totals().total)


def test_the_cart_totals_follow_every_kind_of_change(desktop, qtbot):
    """The model keeps the totals between changes; a change by any road shows at once."""
    register = desktop.window.register
    model = register.model
    line = CartLine(product_id="p1", sku="T1", name="Loose tea", unit_price=250, tax_rate_ppm=0)
    model.add(line)
    model.add(CartLine(product_id="p2", sku="S1", name="Scones", unit_price=120, tax_rate_ppm=0))
    assert model.data(model.index(1, 4)) == desktop.ctx.money(120)
    model.set_quantity(1, 3000)
    assert model.data(model.index(1, 4)) == desktop.ctx.money(360)
    register.cart.lines[0] = replace(line, unit_price=300)  # changed behind the model's back
    model.refresh()
    assert model.data(model.index(0, 4)) == desktop.ctx.money(300)
    assert register.totals["total"].text() == desktop.ctx.money(660)
