"""The printer form has one rule for a network printer's address and port (helper K's
walk): Address is the host, Port the port. Its hint said "192.168.1.50:9100" beside a
separate Port field, and a port typed in Address silently beat the Port field's. A
"host:port" typed in Address is now split at once: the port shows in its own field."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.domain.demo_catalog import DEMO_STAFF
from app.domain.permissions import Role
from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press, type_text

pytest.importorskip("printing.service")


def _add_dialog(desktop, qtbot):
    _name, code, _role, pin = next(s for s in DEMO_STAFF if s[2] is Role.OWNER)
    sign_in(desktop, qtbot, code, pin)
    desktop.window.show_screen("settings")
    page = desktop.window.settings.printers
    settle(desktop, qtbot)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=3000)
    return page.dialog


def test_the_address_hint_has_no_port_and_a_typed_port_moves_to_its_field(desktop, qtbot):
    dialog = _add_dialog(desktop, qtbot)
    dialog.kind.setCurrentIndex(dialog.kind.findData("network"))
    assert ":" not in dialog.address.placeholderText()
    assert ":" not in dialog.kind.currentText()  # not "host:port" either
    assert dialog.port.value() == 9100
    for field in (dialog.name, dialog.kind, dialog.address, dialog.port):  # every label whole ("Connect")
        label = dialog.form.labelForField(field)
        assert label.width() >= label.sizeHint().width(), label.text()
    dialog.name.setFocus()
    type_text(dialog.name, "Front till")
    press(dialog.name, Qt.Key.Key_Tab)  # to Connection
    press(dialog.kind, Qt.Key.Key_Tab)  # to Address
    type_text(dialog.address, "192.168.1.77:9101")
    press(dialog.address, Qt.Key.Key_Tab)  # leaves Address: the port goes to its field
    assert dialog.address.text() == "192.168.1.77" and dialog.port.value() == 9101
    dialog.address.setFocus()
    dialog.address.selectAll()
    type_text(dialog.address, "[fe80::5]:9102")
    press(dialog.address, Qt.Key.Key_Return)  # Enter saves what the form shows
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    assert (dialog.config.address, dialog.config.port) == ("fe80::5", 9102)
