"""An order's actions fit the page at 1024x768 (helper K's walk, issue 21): a plan's
order with a refund showed six buttons in one row, wider than a 1024-pixel till's page,
and the whole page scrolled sideways ('Reprint' at the edge, a scroll bar under it)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.services import approvals, order_detail, staff
from app.services.approvals import RefundItem
from tests.ui.conftest import settle, sign_in
from tests.ui.test_manager_flows import open_detail, plan_sale_today

TITLE_BAR = 32


def _plan_order_with_a_refund(store) -> str:
    sale = plan_sale_today(store, down_share=2, customer="Aoife O'Brien")
    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.sign_in(store, "1002", "222222")
    line = order_detail.order_detail(store, sale.order_id).lines[0]
    approvals.refund_with_override(store, cashier, manager, sale.order_id, [RefundItem(line.id, 1000)],
                                   "Customer Changed Mind")
    return sale.order_id


@pytest.mark.parametrize("width", (1024, 1366))
def test_every_action_of_an_order_is_on_the_page(desktop, qtbot, store, tmp_path, width):
    order_id = _plan_order_with_a_refund(store)
    desktop.window.resize(width, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, order_id)
    settle(desktop, qtbot, 80)
    QApplication.processEvents()
    desktop.window.grab().save(str(tmp_path / f"detail-{width}.png"))
    shown = [b for b in screen.buttons.values() if b.isVisible()]
    assert len(shown) >= 5, [b.text() for b in shown]
    window = desktop.window
    for b in shown:
        right = b.mapTo(window, b.rect().topRight()).x()
        assert right <= window.width(), (b.text(), right, window.width())
    assert screen.width() <= screen.parentWidget().width(), (screen.width(), screen.parentWidget().width())
    assert screen.summary.isVisible()
    b = screen.buttons["refund_receipt"]
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)  # still works where it sits
