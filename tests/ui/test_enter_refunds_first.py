"""Enter in the blocked delete dialog takes its way forward (helper K's walk, issue 21):
Enter, the cashier's 'go on', closed the dialog (Close was the default button) instead
of taking its green 'Refund first'."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press
from tests.ui.test_delete_needs_refund import _pending_sale
from tests.ui.test_manager_flows import click, open_detail, order_row


def test_enter_in_the_blocked_delete_dialog_refunds_first(desktop, qtbot, store):
    order_id = _pending_sale(store, 1623)
    sign_in(desktop, qtbot, "1003", "3333")  # the cashier: a refund needs a manager's PIN
    screen = open_detail(desktop, qtbot, order_id)
    click(screen, "detail_delete")
    dialog = screen.actions.dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    press(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert not dialog.isVisible()
    assert screen.actions.dialog.objectName() == "refundDialog"
    screen.actions.dialog.reject()
    assert order_row(store, order_id).status == "pending"
