"""A PIN pad for mouse and touch; the keyboard types into the same field. The staff code
and PIN rows that the PIN dialogs share (ui/dialogs/pin_override.py, server_pin.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGridLayout, QLineEdit, QPushButton, QWidget

from app.domain.pin_rules import MAX_PIN


class PinPad(QWidget):
    """Digit buttons that type into ``target``; ✓ emits ``submitted``."""

    submitted = Signal()

    def __init__(self, target: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = target
        grid = QGridLayout(self)
        grid.setSpacing(8)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✓"]
        for i, key in enumerate(keys):
            button = QPushButton(key)
            button.setObjectName(f"pin_{ {'⌫': 'back', '✓': 'ok'}.get(key, key) }".replace(" ", ""))
            button.setProperty("kind", "pinkey" if key.isdigit() else ("primary" if key == "✓" else "pinkey"))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumSize(84, 60)
            button.clicked.connect(lambda _=False, k=key: self._press(k))
            grid.addWidget(button, i // 3, i % 3)

    def _press(self, key: str) -> None:
        if key == "⌫":
            self.target.backspace()
        elif key == "✓":
            self.submitted.emit()
        else:
            self.target.insert(key)
        self.target.setFocus()


@dataclass(frozen=True)
class CodeAndPin:
    code: QLineEdit
    pin: QLineEdit
    pad: PinPad


def code_and_pin_rows(form: QFormLayout, code_label: str, name: str, submit: Callable[[], None]) -> CodeAndPin:
    """A staff code row and a PIN row in ``form`` (object names ``<name>Code`` and
    ``<name>Pin``), and a pad typing into the PIN: Enter in the code goes to the PIN,
    Enter in the PIN or the pad's ✓ calls ``submit``. The caller places the pad."""
    code = QLineEdit()
    code.setObjectName(f"{name}Code")
    code.setPlaceholderText("Staff code")
    pin = QLineEdit()
    pin.setObjectName(f"{name}Pin")
    pin.setEchoMode(QLineEdit.EchoMode.Password)
    pin.setPlaceholderText("PIN")
    pin.setMaxLength(MAX_PIN)  # an approver's PIN is 6 to 12 digits
    pin.returnPressed.connect(submit)
    code.returnPressed.connect(pin.setFocus)
    form.addRow(code_label, code)
    form.addRow("PIN", pin)
    pad = PinPad(pin)
    pad.submitted.connect(submit)
    return CodeAndPin(code, pin, pad)
