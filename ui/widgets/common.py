"""Little building blocks shared by screens: big buttons, empty states, the notice bar
(ui/widgets/notice_bar.py), the line tables (cart, count) edited in place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QRect, QSize, Qt
from PySide6.QtGui import QFont, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.notice_bar import NoticeBar  # screens import it from here too

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


MONO_FAMILIES = ("DejaVu Sans Mono", "Liberation Mono", "Consolas", "Menlo")


def fixed_pitch(widget: QWidget, px: int) -> QFont:
    """Show a printer's text in its columns: a fixed-pitch font in the widget's own style
    sheet, since the app's ``* { font-family }`` beats a font given with setFont. Returns
    the font, to measure with before the widget is polished."""
    families = ", ".join(f'"{f}"' for f in MONO_FAMILIES)
    widget.setStyleSheet(f"font-family: {families}, monospace; font-size: {px}px;")
    font = QFont()
    font.setFamilies(list(MONO_FAMILIES))
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    font.setPixelSize(px)
    return font


def icon(name: str) -> QIcon:
    return QIcon(str(RESOURCES / "icons" / f"{name}.svg"))


def action_button(text: str, key: str | None = None, *, kind: str = "", icon_name: str = "") -> QPushButton:
    """A big touch button whose label shows its keyboard shortcut ("Pay  ·  F12")."""
    label = f"{text}\n{key}" if key else text
    button = QPushButton(label)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep focus in the scan field
    button.setMinimumHeight(54)  # five rows of register keys fit a 768-pixel screen
    if kind:
        button.setProperty("kind", kind)
    if icon_name:
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(24, 24))
    if key:
        button.setToolTip(f"{text} ({QKeySequence(key).toString()})")
    return button


def heading(text: str, role: str = "title") -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    return label


def line_table(name: str, model: QAbstractItemModel, row_height: int) -> QTableView:
    """A table of lines (the cart, a count): one row selected at a time, a cell edited by
    double-click or F2, tall rows for a touch screen, the first column taking the room."""
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                         | QAbstractItemView.EditTrigger.EditKeyPressed)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(row_height)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view


class EmptyState(QWidget):
    """A calm centred message where a list or table would otherwise be blank."""

    def __init__(self, icon_name: str, title: str, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        picture = QLabel()
        picture.setPixmap(icon(icon_name).pixmap(96, 96))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = heading(title, "emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = heading(hint, "emptyHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for label in (self.title, self.hint):  # a long search in the title never widens the page
            label.setWordWrap(True)
        for w in (picture, self.title, self.hint):
            layout.addWidget(w)
        layout.addStretch(1)


class _WrappingItems(QStyledItemDelegate):
    """Each item as tall as its text wrapped in the list's width. The style sheet's item
    padding (10 px by 8 px) is not counted by Qt's own measure, which then finds one line
    enough and cuts the end of the sentence with "…"."""

    PAD_X, PAD_Y = 8, 10

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802, ANN001 - Qt API
        view = self.view
        width = max(40, view.viewport().width() - 2 * self.PAD_X - 6)
        text = str(index.data() or "")
        rect = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, text)
        return QSize(view.viewport().width(), rect.height() + 2 * self.PAD_Y + 2)


class HintedList(QListWidget):
    """A list that says what to do while it is empty ("No Z reports yet"), in the
    list's own place, so an empty pane is never just a blank box. Its items are
    sentences: a long one wraps onto a second line instead of running off the pane."""

    def __init__(self, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(_WrappingItems(self))
        self.hint = heading(hint, "emptyHint")
        self.hint.setObjectName("listHint")
        self.hint.setParent(self.viewport())
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        for signal in (self.model().rowsInserted, self.model().rowsRemoved, self.model().modelReset):
            signal.connect(self._show_hint)
        self._show_hint()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self._show_hint()

    def _show_hint(self, *_args: object) -> None:
        self.hint.setVisible(self.count() == 0 and bool(self.hint.text()))

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self.hint.setGeometry(self.viewport().rect().adjusted(8, 8, -8, -8))


__all__ = ["NoticeBar", "EmptyState", "HintedList", "action_button", "heading", "icon", "line_table", "RESOURCES"]
