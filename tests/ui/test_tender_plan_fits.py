"""The payment's quick cash buttons read whole with a payment plan (helper K's walk,
issue 21).

At 1024x768 and 1366x768 a plan's two lines ('Then 3 installments of about …') and a
second row of quick cash needed 697 px of the 660-px payment dialog: the quick buttons
were squeezed to 54 px, '€5.75 Ctrl+1' cut at the top and bottom, the rows overlapping.
And once the plan dialog closed no window was active: Ctrl+1, F12 went nowhere."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press, type_text
from tests.ui.test_plans_and_edits import _fill_cart, _open_plan

TITLE_BAR = 32


@pytest.mark.parametrize("width", (1024, 1366))
def test_quick_cash_reads_whole_with_a_plan(desktop, qtbot, store, tmp_path, width):
    desktop.window.resize(width, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1003", "3333")
    _fill_cart(desktop, store)
    tender, plan = _open_plan(desktop, qtbot)
    type_text(plan.customer_name, "Aoife O'Brien")
    press(plan.customer_name, Qt.Key.Key_Tab)
    type_text(QApplication.focusWidget(), "+353 87 765 4321")
    press(plan.customer_phone, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not plan.isVisible() and tender.plan is not None, timeout=10_000)
    settle(desktop, qtbot, 50)
    QApplication.processEvents()
    tender.grab().save(str(tmp_path / f"tender-plan-{width}.png"))
    assert tender.plan_label.isVisible()
    buttons = [tender.quick.itemAt(i).widget() for i in range(tender.quick.count())]
    assert len(buttons) > 3  # two rows of quick cash
    for b in buttons:
        lines = b.fontMetrics().lineSpacing() * 2  # the amount and its key
        assert b.height() >= lines + 16, (b.text(), b.height(), lines)
    for i, a in enumerate(buttons):
        for b in buttons[i + 1:]:
            assert not a.geometry().intersects(b.geometry()), (a.text(), b.text())
    assert tender.height() <= 768 - TITLE_BAR, tender.height()
    for w in (tender.complete_button, tender.plan_button):
        assert tender.rect().contains(w.mapTo(tender, w.rect().bottomRight())), w.text()
    # the keys are the payment's again (no window was active after the plan dialog closed)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tender.amount, timeout=3000)
    press(tender.amount, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # the exact down payment
    qtbot.waitUntil(lambda: tender.paid_in_full, timeout=3000)
    tender.reject()
