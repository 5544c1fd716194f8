"""A scan nobody takes is said, never swallowed (helper K's walk, issue 21).

The scanner filter swallows every burst of keys ended by Enter. At the sign-in screen,
behind a dialog that takes no scans and on screens that take none, the scan then went
nowhere without a word: a staff badge did nothing, a PIN typed fast vanished from the
field, an item scanned behind the customer finder was not rung up and nobody said so."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.keys import press


def _notices(desktop) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    desktop.ctx.notice.connect(lambda kind, text: seen.append((kind, text)))
    return seen


def test_a_staff_badge_picks_the_person_and_a_fast_pin_signs_in(desktop, qtbot):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is screen.code, timeout=5000)
    wedge_burst("1003")  # a badge, or the code typed at a scanner's speed
    qtbot.waitUntil(lambda: screen.code.text() == "1003", timeout=3000)
    assert QApplication.focusWidget() is screen.pin
    wedge_burst("3333")  # the PIN and Enter, fast
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    assert desktop.ctx.actor.name == "Cass Cashier"


def test_a_scan_that_is_no_staff_code_is_said_without_showing_it(desktop, qtbot, store):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is screen.code, timeout=5000)
    code = barcodes(store, 1)[0][0]
    wedge_burst(code)
    qtbot.waitUntil(lambda: "not a staff code" in screen.message.text(), timeout=3000)
    assert code not in screen.message.text()
    assert desktop.ctx.actor is None


def test_a_scan_behind_the_customer_finder_is_said(desktop, qtbot, store):
    (code, _name), = barcodes(store, 1)
    sign_in(desktop, qtbot)
    register = desktop.window.register
    seen = _notices(desktop)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=5000)
    press(register.scan, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: getattr(register, "customer_dialog", None) is not None
                    and QApplication.activeWindow() is register.customer_dialog, timeout=5000)
    wedge_burst(code)
    settle(desktop, qtbot, 50)
    assert register.cart.is_empty
    assert any(kind == "warning" and code in text and "not used" in text for kind, text in seen), seen


def test_a_scan_on_a_screen_that_takes_none_is_said(desktop, qtbot, store):
    (code, _name), = barcodes(store, 1)
    sign_in(desktop, qtbot, "1002", "222222")
    seen = _notices(desktop)
    desktop.window.show_screen("shift")
    settle(desktop, qtbot, 80)
    desktop.window.shift.setFocus()
    wedge_burst(code)
    settle(desktop, qtbot, 50)
    assert any(kind == "warning" and code in text and "Register" in text for kind, text in seen), seen
