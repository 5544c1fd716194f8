"""Issue 21, defect 12 (printer settings): the form shows Port only for a network printer
and Baud rate only for a serial one; Edit, Remove and Test wait for a printer to exist."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.demo_catalog import DEMO_STAFF
from app.domain.permissions import Role
from tests.ui.conftest import settle, sign_in

pytest.importorskip("printing.service")


def _visible(dialog, field) -> bool:
    return field.isVisibleTo(dialog) and dialog.form.labelForField(field).isVisibleTo(dialog)


def test_the_printer_form_asks_only_what_the_connection_needs(desktop, qtbot):
    _name, code, _role, pin = next(s for s in DEMO_STAFF if s[2] is Role.OWNER)
    sign_in(desktop, qtbot, code, pin)
    desktop.window.show_screen("settings")
    page = desktop.window.settings.printers
    settle(desktop, qtbot)
    assert page.stack.currentWidget() is page.empty
    assert not page.edit_button.isEnabled() and not page.remove_button.isEnabled()
    assert not page.test_button.isEnabled() and page.add_button.isEnabled()
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    qtbot.waitUntil(dialog.isVisible)
    wanted = {"network": (True, False), "serial": (False, True), "file": (False, False),
              "usb": (False, False), "screen": (False, False)}
    for kind, (port, baud) in wanted.items():
        dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
        assert (_visible(dialog, dialog.port), _visible(dialog, dialog.baud)) == (port, baud), kind
    dialog.name.setFocus()
    QTest.keyClicks(dialog.name, "Counter", Qt.KeyboardModifier.NoModifier, 40)
    dialog.address.setText("/tmp/slips")
    dialog.kind.setCurrentIndex(dialog.kind.findData("screen"))
    QTest.keyClick(dialog.address, Qt.Key.Key_Return)  # Enter saves the form
    settle(desktop, qtbot, 150)
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.list, timeout=5000)
    assert page.edit_button.isEnabled() and page.remove_button.isEnabled() and page.test_button.isEnabled()
