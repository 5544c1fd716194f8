"""The screen printer's slip: what the paper would show, in a window beside the till.

It never takes the keyboard (the cashier goes on scanning) and never grows past the
screen: the slip scrolls. The PDF it was kept as is named under the slip.
"""

from __future__ import annotations

from math import ceil
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from ui.widgets.common import fixed_pitch

SLIP_PX = 13  # a 48-column slip in about 380 px


class SlipRelay(QObject):
    """Carries a printed slip from the printing thread to the GUI thread."""

    printed = Signal(str, str)  # (pdf path, text)

    def __call__(self, path: Path, text: str) -> None:
        if not isValid(self):  # its window was closed and freed: nobody to show the slip to
            return
        self.printed.emit(str(path), text)


class SlipWindow(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("slipWindow")
        self.setWindowTitle("Receipt printer (on screen)")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setObjectName("slipText")
        self.text.setReadOnly(True)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = fixed_pitch(self.text, SLIP_PX)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.where = QLabel()
        self.where.setObjectName("slipPdf")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Close")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.where)
        layout.addWidget(close)
        width = QFontMetrics(font).horizontalAdvance("M" * 50) + 40
        self.resize(width, 560)

    def show_slip(self, pdf: str, text: str) -> None:
        self.text.setPlainText(text)
        self.where.setText(f"Kept as {pdf}")
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            width = max(self.width(), self._room_for(text))
            self.resize(min(width, screen.width() - 32), min(560, screen.height() - 80))
            self.move(screen.right() - self.width() - 16, screen.top() + 40)
        self.show()

    def _room_for(self, text: str) -> int:
        """The window width that shows the slip's longest line without scrolling sideways
        (its font, the field's padding and border, a vertical scroll bar, the margins)."""
        self.text.ensurePolished()
        longest = max((self.text.fontMetrics().horizontalAdvance(line) for line in text.splitlines()), default=0)
        field, outer = self.text.contentsMargins(), self.layout().contentsMargins()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return (longest + 2 * ceil(self.text.document().documentMargin()) + field.left() + field.right()
                + bar + outer.left() + outer.right() + 4)
