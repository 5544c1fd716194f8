"""Issue 21 (fit at 1024x768): the register, the shift page, the catalog and the exchange
fit a maximised till window at 1024x768 and 1366x768 with no horizontal scroll bar, the
register and shift pages with no scroll bar at all, and the status bar's items never
lie over one another, even with its longest words showing. Screenshots into
docs/screenshots with TILLSYNC_WRITE_SCREENSHOTS=1 (screen-<page>-<size>.png)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QScrollArea

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, sales, shifts, staff
from sync.status import SyncStatus
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.keys import press
from tests.ui.test_manager_flows import open_detail

ROOT = Path(__file__).resolve().parents[2]
TITLE_BAR = 32
SIZES = ((1024, 768), (1366, 768))


def _area(window) -> QScrollArea:
    area = window.pages.parentWidget().parentWidget()
    assert isinstance(area, QScrollArea)
    return area


def _no_scroll_bars(window, page: str, *, vertical: bool) -> None:
    QApplication.processEvents()
    area = _area(window)
    assert not area.horizontalScrollBar().isVisible(), (f"{page}: horizontal scroll bar",
                                                        window.pages.currentWidget().minimumSizeHint(),
                                                        area.viewport().size())
    assert area.horizontalScrollBar().maximum() == 0, page
    if vertical:
        assert not area.verticalScrollBar().isVisible(), f"{page}: vertical scroll bar"


def _status_items(bar) -> list:
    items = [w for w in bar.findChildren(QLabel) + bar.findChildren(QPushButton) + bar.findChildren(QProgressBar)
             if w.isVisible() and w.parentWidget() is bar]
    assert len(items) >= 8
    return items


def _no_overlap(bar) -> None:
    QApplication.processEvents()
    items = _status_items(bar)
    room = QRect(0, 0, bar.width(), bar.height())
    for i, a in enumerate(items):
        assert room.contains(a.geometry()), (a.objectName(), a.text(), a.geometry(), room)
        assert a.width() >= a.minimumSizeHint().width() or isinstance(a, QLabel) and a.maximumWidth() < 1000, \
            (a.objectName(), a.text(), a.width())
        for b in items[i + 1:]:
            assert not a.geometry().intersects(b.geometry()), (a.objectName(), a.text(), b.objectName(), b.text())


def _worst_status() -> SyncStatus:
    """The longest words the bar shows at once: reconnecting, a queue with rejects, a sync
    on another day, conflicts, the clock far off."""
    return SyncStatus(online=False, enrolled=True, waiting=12_345, rejected=12, conflicts=3,
                      last_sync=datetime.now(UTC) - timedelta(days=3), clock_skew_s=900.0, syncing=True)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_till_pages_fit_with_no_horizontal_scroll_bar(desktop, qtbot, store, tmp_path, width, height):
    out = ROOT / "docs" / "screenshots" if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS") else tmp_path
    window = desktop.window
    window.resize(width, height - TITLE_BAR)
    qtbot.wait(50)
    assert window.size() == QSize(width, height - TITLE_BAR)
    sign_in(desktop, qtbot, "1002", "222222")  # a manager: every register key shows
    owner = staff.sign_in(store, "1002", "222222")
    shifts.open_shift(store, owner, 10_000)

    # the register: a cart of long names, the last sale's banner, every key
    window.show_screen("register")
    register = window.register
    for code, _name in barcodes(store, 6):
        register._add_line(catalog.line_for_scan(store, code))
    register.sale_banner.setText("Sale complete: GO-000123 · €123.45 paid, change due €6.55")
    register.sale_banner.show()
    settle(desktop, qtbot, 80)
    _no_scroll_bars(window, "register", vertical=True)
    for name, button in register.buttons.items():
        if button.isVisibleTo(register):
            assert register.rect().contains(button.geometry().translated(button.parentWidget().mapTo(
                register, button.parentWidget().rect().topLeft()))), name
    window.grab().save(str(out / f"screen-register-{width}x{height}.png"))

    # the shift page with an open shift
    window.show_screen("shift")
    settle(desktop, qtbot, 80)
    _no_scroll_bars(window, "shift", vertical=True)
    window.grab().save(str(out / f"screen-shift-{width}x{height}.png"))

    # the catalog's browsable list
    window.show_screen("catalog")
    settle(desktop, qtbot, 80)
    qtbot.waitUntil(lambda: window.catalog.results.rowCount() > 0, timeout=3000)
    qtbot.waitUntil(lambda: window.catalog.category.count() > 1, timeout=3000)  # with their names
    settle(desktop, qtbot, 50)
    _no_scroll_bars(window, "catalog", vertical=True)
    assert window.size() == QSize(width, height - TITLE_BAR)
    window.grab().save(str(out / f"screen-catalog-{width}x{height}.png"))

    # the status bar, with its longest words, beside the buttons
    bar = window.status
    bar.show_status(_worst_status())
    bar.show_printer("Front counter", 2)
    _no_overlap(bar)
    assert window.size() == QSize(width, height - TITLE_BAR)  # long words never widen the window
    assert bar.clock.isVisible() and bar.online.isVisible() and bar.conflicts.isVisible()
    window.grab().save(str(out / f"screen-statusbar-busy-{width}x{height}.png"))
    assert "12,345 waiting" in bar.waiting.text() or "12345 waiting" in bar.waiting.text()
    assert bar.conflicts.text() == "3 conflicts"
    bar.show_status(SyncStatus(online=True, enrolled=True, waiting=0, rejected=0, conflicts=0,
                               last_sync=datetime.now(UTC)))
    _no_overlap(bar)
    assert bar.last_sync.isVisible() and bar.last_sync.text().startswith(("Last sync", "Synced"))
    assert window.size() == QSize(width, height - TITLE_BAR)
    window.grab().save(str(out / f"screen-statusbar-{width}x{height}.png"))


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_exchange_fits(desktop, qtbot, store, tmp_path, width, height):
    out = ROOT / "docs" / "screenshots" if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS") else tmp_path
    window = desktop.window
    window.resize(width, height - TITLE_BAR)
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    codes = barcodes(store, 5)
    for code, _name in codes[:3]:
        cart.add(catalog.line_for_scan(store, code))
    sold = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, cart.totals().total)])
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sold.order_id)
    _no_scroll_bars(window, "order detail", vertical=False)
    window.grab().save(str(out / f"screen-order-exchange-{width}x{height}.png"))
    qtbot.mouseClick(screen.buttons["exchange"], Qt.MouseButton.LeftButton)
    dialog = screen.exchange.dialog
    qtbot.waitExposed(dialog)
    press(next(iter(dialog.spins.values())), Qt.Key.Key_Up)
    dialog._add_line(catalog.line_for_scan(store, codes[4][0]))
    dialog.reason.setText("Wrong size")
    QApplication.processEvents()
    assert dialog.height() <= height - TITLE_BAR, dialog.height()
    assert dialog.minimumSizeHint().width() <= width
    dialog.grab().save(str(out / f"screen-exchange-dialog-{width}x{height}.png"))
    dialog.reject()
