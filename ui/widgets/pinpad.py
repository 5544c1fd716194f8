"""A PIN pad for mouse and touch; the keyboard types into the same field."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLineEdit, QPushButton, QWidget


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
