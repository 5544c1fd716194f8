"""The notice strip above every screen: confirmations, warnings and errors, each its own look.

- A confirmation ("Sale GO-000001 complete") is green with a tick and fades after
  ``FADE_MS["info"]``; a warning is amber with a triangle and fades later; an error
  is red with a cross and stays until someone dismisses it (✕ or Esc on the bar).
- A new notice replaces the one shown; ``clear`` drops it (switching user does, so
  the next person never sees the last one's "Change due").
- The strip is one fixed height (long text is elided, the whole text in its tooltip):
  showing a notice never grows the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

FADE_MS = {"info": 6_000, "warning": 20_000}  # errors: never by themselves
LOOK = {  # (mark, background, border, text colour)
    "info": ("✔", "#E4F4E9", "#9CD3AE", "#14532D"),
    "warning": ("⚠", "#FFF4DB", "#F1D18A", "#6B4A00"),
    "error": ("✖", "#FDE2DE", "#E88C7D", "#8A1C0E"),
}
HEIGHT = 52


class NoticeBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.level = ""
        self._text = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 4, 8, 4)
        self.mark = QLabel()
        self.mark.setObjectName("noticeMark")
        self.label = QLabel()
        self.label.setObjectName("noticeText")
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.close_button = QToolButton()
        self.close_button.setObjectName("noticeDismiss")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.clear)
        layout.addWidget(self.mark)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        level = level if level in LOOK else "info"
        mark, background, border, colour = LOOK[level]
        self.level, self._text = level, text
        self.setProperty("level", level)
        self.setStyleSheet(f"QWidget#noticeBar {{ background: {background}; border-bottom: 2px solid {border}; }}"
                           f"QLabel {{ color: {colour}; font-size: 17px; font-weight: 600; }}"
                           f"QLabel#noticeMark {{ font-size: 22px; }}")
        self.mark.setText(mark)
        self.label.setToolTip(text)
        self.show()
        self._elide()
        if level in FADE_MS:
            self._timer.start(FADE_MS[level])
        else:
            self._timer.stop()

    def clear(self) -> None:
        self._timer.stop()
        self.level, self._text = "", ""
        self.label.clear()
        self.hide()

    def _elide(self) -> None:
        width = max(self.label.width(), 200)
        self.label.setText(self.label.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight,
                                                               width * 2 - 40) if self._text else "")
        self.label.setWordWrap(True)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._elide()

    @property
    def text(self) -> str:
        """The whole message shown now ("" when none is)."""
        return self._text if self.isVisible() else ""
