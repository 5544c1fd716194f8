"""A notice coming or going never moves the page (helper K's walk, 1024x768).

The notice bar pushed everything down 46 px when it appeared and back up when it
faded: a click aimed at "Register" as a notice went landed on "Inventory", the next
scan went into a stock count and F12 asked "Commit this count?". The bar keeps its
room now, empty when nothing shows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.conftest import settle, sign_in
from tests.ui.hid import scan
from ui.widgets import notice_bar


def _places(window) -> dict[str, tuple[int, int, int, int]]:
    """Where the register's parts and the navigation stand in the window."""
    register = window.register
    parts: dict[str, QWidget] = {"scan": register.scan, "cart": register.stack,
                                 "pay": register.pay_button, **{f"nav_{k}": b for k, b in window.nav_buttons.items()}}
    out = {}
    for name, widget in parts.items():
        top_left = widget.mapTo(window, QPoint(0, 0))
        out[name] = (top_left.x(), top_left.y(), widget.width(), widget.height())
    return out


@pytest.mark.parametrize("width", (1024, 1366))
def test_the_register_stays_put_when_a_notice_comes_and_goes(desktop, qtbot, width):
    sign_in(desktop, qtbot)
    window = desktop.window
    window.resize(width, 768 - 32)
    register = window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    settle(desktop, qtbot, 100)
    before = _places(window)
    scan("9999999999999", register.scan)  # no such item: an error says so
    qtbot.waitUntil(lambda: window.notice.text != "", timeout=5000)
    QApplication.processEvents()
    assert _places(window) == before
    qtbot.mouseClick(window.notice.close_button, Qt.MouseButton.LeftButton)  # dismissed by its cross
    QApplication.processEvents()
    assert window.notice.text == "" and _places(window) == before


@pytest.mark.parametrize("width", (1024, 1366))
def test_a_click_aimed_while_a_notice_showed_lands_after_it_faded(desktop, qtbot, monkeypatch, width):
    monkeypatch.setitem(notice_bar.FADE_MS, "info", 300)
    sign_in(desktop, qtbot, "1002", "222222")  # a manager: Register, then Inventory under it
    window = desktop.window
    window.resize(width, 768 - 32)
    settle(desktop, qtbot, 100)
    qtbot.mouseClick(window.nav_buttons["catalog"], Qt.MouseButton.LeftButton)
    desktop.ctx.info("Sale GO-000001 complete")
    qtbot.waitUntil(lambda: window.notice.text != "", timeout=3000)
    QApplication.processEvents()
    button = window.nav_buttons["register"]
    aimed = button.mapTo(window, button.rect().center())  # where the eye saw "Register"
    qtbot.waitUntil(lambda: window.notice.text == "", timeout=3000)  # faded meanwhile
    QApplication.processEvents()
    target = window.childAt(aimed)
    assert target is button, target.objectName() if target else None
    QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(window, aimed))
    assert window.pages.currentWidget() is window.register
