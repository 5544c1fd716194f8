"""Pages that fit the screen: a stack sized by the page it shows, in a scroll area.

A QStackedWidget asks for the largest of all its pages, so one wide screen (or a
long order detail) made the whole window wider than a 1024x768 till. This stack
asks only for its current page, and sits in a scroll area: the window's size never
depends on what a page holds, and a page larger than the room scrolls instead of
being cut or pushing the status bar off the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStackedWidget, QWidget


class CurrentPageStack(QStackedWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else QSize(0, 0)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        """The page shown's height at ``width``. QStackedLayout answers the tallest of all
        pages, so one page with wrapped text (a sale banner) made every page scroll, and
        the scroll bar then took the width the register needed: a horizontal bar too."""
        page = self.currentWidget()
        if page is None or not page.hasHeightForWidth():
            return -1
        layout = page.layout()
        # the least the page needs at that width, not what it would like: the scroll area
        # takes this as the page's floor, and a page asking its preferred height scrolled
        # where its minimum fitted (the shift page at 1024x768 under the notice bar's room)
        return layout.totalMinimumHeightForWidth(width) if layout is not None else page.heightForWidth(width)


def scrolling(widget: QWidget, *, horizontal: bool = True) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it to fit when it can."""
    area = QScrollArea()
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if horizontal
                                      else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    area.setMinimumSize(0, 0)
    area.viewport().setAutoFillBackground(False)  # the screen's own background shows through
    widget.setAutoFillBackground(False)
    return area
