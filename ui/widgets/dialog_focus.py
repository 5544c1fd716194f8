"""Every dialog opens with its first field focused, application-wide.

Without this a QDialog shown before its window is active focuses its default
button: a cashier's "10%" went nowhere and Enter pressed OK on an empty form.
One event filter on the application covers every dialog the screens open
(discount, price, customer, tender, refund, quick-add...). Message boxes keep
their default button.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

_FIELDS = (QLineEdit, QAbstractSpinBox, QComboBox, QPlainTextEdit, QTextEdit)


def first_field(dialog: QWidget) -> QWidget | None:
    """The first enabled, visible field in the dialog's tab order."""
    widget = dialog.nextInFocusChain()
    seen = 0
    while widget is not None and widget is not dialog and seen < 500:
        seen += 1
        if (isinstance(widget, _FIELDS) and widget.isVisibleTo(dialog) and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and not (isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit) and widget.isReadOnly())):
            return widget
        widget = widget.nextInFocusChain()
    return None


class DialogFocus(QObject):
    """Install once on the QApplication."""

    def install(self, app: QApplication) -> None:
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (event.type() == QEvent.Type.Show and isinstance(watched, QDialog)
                and not isinstance(watched, QMessageBox)):
            current = watched.focusWidget()
            if current is None or isinstance(current, QAbstractButton):
                field = first_field(watched)
                if field is not None:
                    field.setFocus(Qt.FocusReason.OtherFocusReason)
        return False
