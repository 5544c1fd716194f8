"""The sign-in pad and the PIN override take approvers' PINs (6 to 12 digits), typed with
real key events, and a till refuses, in words, people above its role ceiling."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.permissions import Role
from app.services import staff, till_ceiling
from tests.ui.conftest import settle
from ui.dialogs.pin_override import PinOverrideDialog

TWELVE = "135792468024"


def _type_pin(desktop, qtbot, code: str, pin: str) -> str:
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    screen.choose(code)
    QTest.keyClicks(screen.pin, pin, Qt.KeyboardModifier.NoModifier, 60)
    typed = screen.pin.text()
    QTest.keyClick(screen.pin, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: screen.pin.isEnabled(), timeout=5000)
    return typed


def test_the_sign_in_pad_takes_a_twelve_digit_pin(desktop, qtbot, store):
    staff.add_staff_row(store, "Olga Owner", "77", Role.OWNER, TWELVE)
    typed = _type_pin(desktop, qtbot, "77", TWELVE + "9")  # a 13th digit is not taken
    assert typed == TWELVE
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    assert desktop.ctx.actor.name == "Olga Owner"


def test_the_pin_pad_buttons_take_twelve_digits(desktop, qtbot, store):
    staff.add_staff_row(store, "Olga Owner", "77", Role.OWNER, TWELVE)
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    screen.choose("77")
    button = type(screen._buttons["1001"])
    for digit in TWELVE + "7":
        qtbot.mouseClick(screen.pad.findChild(button, f"pin_{digit}"), Qt.MouseButton.LeftButton)
    assert screen.pin.text() == TWELVE
    qtbot.mouseClick(screen.pad.findChild(button, "pin_ok"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    assert desktop.ctx.actor.name == "Olga Owner"


def test_the_override_takes_a_long_pin_typed_on_the_keyboard(desktop, qtbot, store):
    staff.add_staff_row(store, "Mo Manager", "78", Role.MANAGER, TWELVE)
    dialog = PinOverrideDialog(desktop.ctx, "order.delete", "Delete this sale?")
    dialog.show()
    qtbot.waitExposed(dialog)
    QTest.keyClicks(dialog.code, "78", Qt.KeyboardModifier.NoModifier, 60)
    QTest.keyClicks(dialog.pin, TWELVE + "5", Qt.KeyboardModifier.NoModifier, 60)
    assert dialog.pin.text() == TWELVE
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: dialog.approver is not None, timeout=5000)
    assert dialog.approver.name == "Mo Manager"


def test_a_manager_till_refuses_the_owner_in_words(desktop, qtbot, store):
    with store.db.write() as s:
        till_ceiling.store_ceiling(s, Role.MANAGER)
    _type_pin(desktop, qtbot, "1001", "111111")
    assert desktop.ctx.actor is None
    assert desktop.window.signin.message.text() == (
        "Olivia Owner is an owner; this till takes up to manager (ask an admin, or use the "
        "back-office till)")
    dialog = PinOverrideDialog(desktop.ctx, "order.delete", "Delete this sale?")
    dialog.show()
    qtbot.waitExposed(dialog)
    QTest.keyClicks(dialog.code, "1001", Qt.KeyboardModifier.NoModifier, 60)
    QTest.keyClicks(dialog.pin, "111111", Qt.KeyboardModifier.NoModifier, 60)
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert dialog.approver is None and dialog.isVisible()
    assert "this till takes up to manager" in dialog.error.text()
    dialog.close()
    _type_pin(desktop, qtbot, "1002", "222222")
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)
    assert desktop.ctx.actor.role is Role.MANAGER
