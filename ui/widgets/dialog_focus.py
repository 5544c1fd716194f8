"""Every dialog opens with its first field focused, and gives the keys back when it
closes, application-wide.

Without this a QDialog shown before its window is active focuses its default
button: a cashier's "10%" went nowhere and Enter pressed OK on an empty form.
One event filter on the application covers every dialog the screens open
(discount, price, customer, tender, refund, quick-add...). Message boxes keep
their default button.

When a dialog closes and no window of the app is active (a till with no window
manager, as the demo's Xvfb, leaves none: keys and a wedge scan went nowhere after
a discount, a price, the parked sales, quick-add, "Cancel sale? No"), the window
it was opened from is activated again: Qt gives the keys back to that window's
last field (the register's scan field).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
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


def give_back_keys(owner: QWidget) -> None:
    """Activate ``owner`` again if a closed dialog left no window of the app active (the
    owner may be a dialog itself: the payment, after its payment plan closed)."""
    modal = QApplication.activeModalWidget()
    if QApplication.activeWindow() is None and modal in (None, owner) and owner.isVisible():
        owner.activateWindow()


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
        elif event.type() == QEvent.Type.Hide and isinstance(watched, QDialog) and watched.isWindow():
            parent = watched.parentWidget()
            if parent is not None:  # after the close has settled (a next dialog may open)
                owner = parent.window()
                QTimer.singleShot(0, owner, lambda: give_back_keys(owner))
        return False
