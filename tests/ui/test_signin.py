"""Sign-in: the PIN pad, keyboard entry, wrong PIN and lockout messages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import settle, sign_in


def _type_pin(desktop, qtbot, code: str, pin: str) -> str:
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    screen.choose(code)
    QTest.keyClicks(screen.pin, pin, Qt.KeyboardModifier.NoModifier, 60)  # human speed
    qtbot.wait(80)
    QTest.keyClick(screen.pin, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: screen.pin.isEnabled(), timeout=5000)
    return screen.message.text()


def test_pin_pad_signs_in_cashier(desktop, qtbot):
    sign_in(desktop, qtbot, "1003", "3333")
    assert desktop.ctx.actor.name == "Cass Cashier"
    assert "Cass Cashier" in desktop.window.status.person.text()
    assert desktop.window.pages.currentWidget() is desktop.window.register


def test_keyboard_pin_with_backspace(desktop, qtbot):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    screen.choose("1002")
    QTest.keyClicks(screen.pin, "22229", Qt.KeyboardModifier.NoModifier, 60)
    qtbot.wait(80)
    QTest.keyClick(screen.pin, Qt.Key.Key_Backspace)
    QTest.keyClicks(screen.pin, "22", Qt.KeyboardModifier.NoModifier, 60)
    qtbot.wait(80)
    assert screen.pin.echoMode() == screen.pin.EchoMode.Password
    QTest.keyClick(screen.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    assert desktop.ctx.actor.name == "Max Manager"


def test_wrong_pin_message(desktop, qtbot):
    message = _type_pin(desktop, qtbot, "1003", "9999")
    assert message == "Wrong PIN (4 tries left)"
    assert desktop.ctx.actor is None


def test_lockout_message(desktop, qtbot):
    for _ in range(4):
        _type_pin(desktop, qtbot, "1003", "0000")
    assert _type_pin(desktop, qtbot, "1003", "0000") == "Too many wrong PINs. Locked for 5 minutes."
    message = _type_pin(desktop, qtbot, "1003", "3333")  # even the right PIN now
    assert message.startswith("Too many wrong PINs. Try again in")
    assert desktop.ctx.actor is None


def test_sign_out_and_role_aware_navigation(desktop, qtbot):
    sign_in(desktop, qtbot, "1003", "3333")
    nav = desktop.window.nav_buttons
    assert nav["register"].isVisible() and nav["sales"].isVisible()
    assert not nav["settings"].isVisible()
    desktop.window.status.signout_button.click()
    assert desktop.window.root.currentWidget() is desktop.window.signin
    sign_in(desktop, qtbot, "1001", "111111")
    assert nav["settings"].isVisible()
    desktop.window.switch_user()
    sign_in(desktop, qtbot, "1004", "4444")  # stock staff: no register
    assert not nav["register"].isVisible() and nav["sales"].isVisible()
    assert desktop.window.pages.currentWidget() is desktop.window.inventory  # stock lands on inventory
