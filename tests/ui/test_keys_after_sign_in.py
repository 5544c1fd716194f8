"""The register's keys work right after signing in, on a till with no window manager
(helper K's walk, issue 21).

The demo runs on Xvfb with no window manager: the app's window is shown but never made
active, keys still reach it (X gives them to the window under the pointer), so the
staff code and PIN typed fine, a scan rang up, but F12 and every other register key did
nothing (their shortcuts need an active window) until someone clicked the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, wedge_burst
from tests.ui.keys import press, type_text


def _no_window_active(qtbot) -> None:
    """What an X server with no window manager leaves: another window had the focus and
    went away, none of the app's windows is active."""
    other = QWindow()
    other.show()
    other.requestActivate()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is other, timeout=3000)
    other.hide()
    other.destroy()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is None, timeout=3000)


def test_f12_pays_right_after_signing_in_by_keys(desktop, qtbot, store):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    _no_window_active(qtbot)
    type_text(screen.code, "1003")
    press(screen.code, Qt.Key.Key_Return)
    type_text(screen.pin, "3333")
    press(screen.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    register = desktop.window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=3000)
    wedge_burst(barcodes(store, 1)[0][0])
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    press(register.scan, Qt.Key.Key_F12)
    settle(desktop, qtbot, 50)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible(),
                    timeout=3000)
    register.tender_dialog.reject()
