"""The order edit dialog never offers a quantity below what was refunded of a line
(helper K's walk): those items came back and their money went back. The edit service
does not refuse it (app/services/order_edits.py), so the dialog must not offer it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select

from app.services import approvals, staff
from app.store.models import OrderLine
from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press
from tests.ui.test_manager_flows import make_sale, open_detail


def test_a_refunded_line_cannot_be_edited_below_its_refund(desktop, qtbot, store):
    sale = make_sale(store, paid=False, customer="Aoife Byrne", deposit=300)  # pending, €3 paid
    with store.db.read() as s:
        lines = s.execute(select(OrderLine.id, OrderLine.qty_milli).where(OrderLine.order_id == sale.order_id)
                          .order_by(OrderLine.qty_milli.desc())).all()
    (two_id, two_qty), (one_id, one_qty) = lines[0], lines[1]
    assert two_qty == 2000 and one_qty == 1000
    manager = staff.sign_in(store, "1002", "222222")
    approvals.refund_with_override(store, manager, manager, sale.order_id,
                                   [approvals.RefundItem(two_id, 1000), approvals.RefundItem(one_id, 1000)],
                                   "Brought back", method="cash")
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    assert screen.detail.status == "pending"
    qtbot.mouseClick(screen.findChild(QPushButton, "detail_edit"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(screen.actions, "dialog", None) is not None
                    and screen.actions.dialog.isVisible(), timeout=3000)
    dialog = screen.actions.dialog
    half, whole = dialog.spins[two_id], dialog.spins[one_id]
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.cellWidget(r, 2) is half)
    assert "1 refunded" in dialog.table.item(row, 0).text()
    qtbot.mouseClick(half, Qt.MouseButton.LeftButton)
    dialog.activateWindow()
    half.setFocus()
    for _ in range(3):  # 2 -> 1, then it stays: one of them came back and was refunded
        press(half, Qt.Key.Key_Down)
    assert half.value() == 1
    assert not whole.isEnabled()  # all of it refunded: nothing to edit
    assert [(c.line_id, c.qty_milli) for c in dialog.line_changes()] == [(two_id, 1000)]
    press(dialog, Qt.Key.Key_Escape)
    settle(desktop, qtbot)
