"""The notice strip above every screen: confirmations, warnings and errors, each its own look.

- A confirmation ("Sale GO-000001 complete") is green with a tick and fades after
  ``FADE_MS["info"]``; a warning is amber with a triangle and fades later; an error
  is red with a cross and stays until someone dismisses it (its ✕).
- Up to ``MAX_ROWS`` notices are kept, newest first, so a print error does not hide
  the "Change due" it followed; the same text again is not shown twice; when full,
  the oldest confirmation (else the oldest notice) makes room.
- The bar is one row high whatever it holds: the newest notice, with "+N more" on it
  when others are kept. That opens the others as a list laid over the page (and
  closes it again), so three notices never push the navigation into a scroll bar at
  1024x768 (stacked rows took 138 px from it) and none is lost.
- ``clear`` drops them all (switching user does, so the next person never sees the
  last one's "Change due").
- The bar keeps its one row's room when nothing shows (an empty strip): a notice
  coming or going never moves the page under the pointer. It pushed everything down
  46 px and back up: a click aimed at "Register" as a notice faded landed on
  "Inventory", and the next scan went into a stock count.
- Each row is one fixed height: a notice never makes the window grow. A text too long
  for one line is set smaller, on two lines if need be (an error's remedy, "add one in
  Settings › Printers", is at its end); past two lines it is elided, the whole in its
  tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

FADE_MS = {"info": 6_000, "warning": 20_000}  # errors: never by themselves
LOOK = {  # (mark, background, border, text colour)
    "info": ("✔", "#E4F4E9", "#9CD3AE", "#14532D"),
    "warning": ("⚠", "#FFF4DB", "#F1D18A", "#6B4A00"),
    "error": ("✖", "#FDE2DE", "#E88C7D", "#8A1C0E"),
}
ROW_HEIGHT = 46
TEXT_PX = 17  # the row's text (its style sheet says so too)
SMALL_PX = 14  # two lines of it fit a row
MAX_ROWS = 3


class NoticeRow(QWidget):
    """One notice: its mark, its text (elided to the row), a dismiss button."""

    def __init__(self, bar: NoticeBar, level: str, text: str) -> None:
        super().__init__(bar)
        self.bar, self.level, self.full_text = bar, level, text
        mark, background, border, colour = LOOK[level]
        self.setObjectName("noticeRow")
        self.setProperty("level", level)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(ROW_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setStyleSheet(f"QWidget#noticeRow {{ background: {background}; border-bottom: 2px solid {border}; }}"
                           f"QLabel {{ color: {colour}; font-size: {TEXT_PX}px; font-weight: 600; }}"
                           "QLabel#noticeMark { font-size: 22px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 2, 8, 2)
        self.mark = QLabel(mark)
        self.mark.setObjectName("noticeMark")
        self.label = QLabel()
        self.label.setObjectName("noticeText")
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setToolTip(text)
        self.close_button = QToolButton()
        self.close_button.setObjectName("noticeDismiss")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(lambda: bar.dismiss(self))
        self.more = QToolButton()  # shown on the top row only, when others are kept
        self.more.setObjectName("noticeMore")
        self.more.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.more.setStyleSheet(f"QToolButton {{ color: {colour}; font-size: 15px; font-weight: 600;"
                                f" border: 1px solid {border}; border-radius: 6px; padding: 3px 8px; }}")
        self.more.clicked.connect(bar.toggle_list)
        self.more.hide()
        self.label.installEventFilter(self)
        layout.addWidget(self.mark)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.more)
        layout.addWidget(self.close_button)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(lambda: bar.dismiss(self))
        if level in FADE_MS:
            self.timer.start(FADE_MS[level])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.label and event.type() == QEvent.Type.Resize:
            self._fit()  # the label's own width settles after the row's
        return False

    def _fit(self) -> None:
        """The text on one line at the row's size, else on two in a smaller font."""
        width = max(self.label.width(), 100)
        self.label.ensurePolished()  # the style sheet's family, not the default one
        font = QFont(self.label.font())
        font.setPixelSize(TEXT_PX)  # measured in the row's own look, whatever is set now
        font.setWeight(QFont.Weight.DemiBold)
        if QFontMetrics(font).horizontalAdvance(self.full_text) <= width:
            sheet, text = "", self.full_text
        else:
            font.setPixelSize(SMALL_PX)
            sheet = f"font-size: {SMALL_PX}px;"
            text = "\n".join(two_lines(self.full_text, QFontMetrics(font), width))
        if self.label.styleSheet() != sheet:  # set only when it changes: no resize loop
            self.label.setStyleSheet(sheet)
        if self.label.text() != text:
            self.label.setText(text)


def two_lines(text: str, metrics: QFontMetrics, width: int) -> list[str]:
    """``text`` broken at spaces into at most two lines of ``width`` pixels, the second
    elided if the rest does not fit."""
    words, first = text.split(" "), ""
    while words and metrics.horizontalAdvance((first + " " + words[0]).strip()) <= width:
        first = (first + " " + words.pop(0)).strip()
    if not first:  # one word wider than the line
        return [metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)]
    rest = " ".join(words)
    if not rest:
        return [first]
    return [first, metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)]


class NoticeBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(ROW_HEIGHT)
        self.rows: list[NoticeRow] = []
        self.expanded = False  # the older notices' list is open
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.list: QFrame | None = None  # the older notices, over the page; made when first needed

    def show_message(self, level: str, text: str) -> None:
        level = level if level in LOOK else "info"
        for row in [r for r in self.rows if r.full_text == text]:
            self._drop(row)
        if len(self.rows) >= MAX_ROWS:
            infos = [r for r in self.rows if r.level != "error"]
            self._drop((infos or self.rows)[-1])  # the oldest confirmation/warning, else the oldest
        self.rows.insert(0, NoticeRow(self, level, text))
        self._arrange()

    def dismiss(self, row: NoticeRow) -> None:
        self._drop(row)
        self._arrange()

    def clear(self) -> None:
        for row in list(self.rows):
            self._drop(row)
        self._arrange()

    def toggle_list(self) -> None:
        """Open (or close) the list of the notices behind the newest."""
        self.expanded = not self.expanded and len(self.rows) > 1
        self._arrange()

    def _drop(self, row: NoticeRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
            row.timer.stop()
            row.hide()
            holder = row.parentWidget()  # the bar or the list
            if holder is not None and holder.layout() is not None:
                holder.layout().removeWidget(row)
            row.deleteLater()

    def _arrange(self) -> None:
        """The newest notice in the bar, the others in the list (open or not)."""
        self.setProperty("level", self.rows[0].level if self.rows else "")  # as the bar's Qt property too
        if len(self.rows) <= 1:
            self.expanded = False
        if not self.rows:  # the bar stays, empty: its room is kept (see the module's doc)
            self._show_list()
            return
        top, rest = self.rows[0], self.rows[1:]
        for row in rest:  # only the newest stays in the bar
            self._layout.removeWidget(row)
        if self._layout.indexOf(top) < 0:
            if top.parentWidget() is not self:
                top.setParent(self)
            self._layout.insertWidget(0, top)
        top.more.setText("Hide ▴" if self.expanded else f"+{len(rest)} more ▾")
        top.more.setToolTip("Hide the other notices" if self.expanded else "Show the other notices")
        top.more.setVisible(bool(rest))
        top.show()
        for row in rest:
            row.more.hide()
        self._show_list()

    def _show_list(self) -> None:
        rest = self.rows[1:]
        if not (self.expanded and rest and self.parentWidget() is not None):
            if self.list is not None:
                self.list.hide()
            for row in rest:
                row.hide()
            return
        if self.list is None or self.list.parentWidget() is not self.parentWidget():
            self.list = QFrame(self.parentWidget())
            self.list.setObjectName("noticeList")
            QVBoxLayout(self.list).setContentsMargins(0, 0, 0, 0)
            self.list.layout().setSpacing(0)
        layout = self.list.layout()
        for i, row in enumerate(rest):
            if row.parentWidget() is not self.list or layout.indexOf(row) != i:
                layout.removeWidget(row)
                row.setParent(self.list)
                layout.insertWidget(i, row)
            row.show()
        self._place_list()
        self.list.show()
        self.list.raise_()

    def _place_list(self) -> None:
        if self.list is not None and self.list.parentWidget() is self.parentWidget():
            self.list.setGeometry(self.x(), self.y() + self.height(), self.width(),
                                  ROW_HEIGHT * (len(self.rows) - 1))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_list()

    def moveEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().moveEvent(event)
        self._place_list()

    @property
    def level(self) -> str:
        """The newest notice's level ("" when none shows)."""
        return self.rows[0].level if self.rows else ""

    @property
    def mark(self) -> QLabel:
        return self.rows[0].mark

    @property
    def close_button(self) -> QToolButton:
        """The newest notice's dismiss button."""
        return self.rows[0].close_button

    @property
    def text(self) -> str:
        """Every notice kept now (in the bar or its list), newest first, one a line ("" when none)."""
        return "\n".join(r.full_text for r in self.rows)
