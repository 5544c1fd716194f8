"""Issue 21, defect 7: payment plans and edits say what is owed, need a customer, keep what
was typed. Driven by key presses on real widgets over a real store."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from app.services import approvals, catalog, sales, staff
from app.store.models import Order
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.keys import press, type_text
from tests.ui.test_manager_flows import make_sale, open_detail, plan_sale_today

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("TILLSYNC_SHOTS", "/tmp/h21"))


def _fill_cart(desktop, store) -> int:
    register = desktop.window.register
    for code, _name in barcodes(store, 3):
        register.model.add(catalog.line_for_scan(store, code))
    return register.cart.totals().total


def _open_plan(desktop, qtbot):
    register = desktop.window.register
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=10_000)
    press(register.scan, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible(), timeout=10_000)
    tender = register.tender_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tender.amount, timeout=10_000)
    press(tender.amount, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: getattr(tender, "plan_dialog", None) is not None and tender.plan_dialog.isVisible(), timeout=10_000)
    return tender, tender.plan_dialog


def test_a_plan_needs_a_customer_and_says_what_is_still_owed(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    total = _fill_cart(desktop, store)
    tender, plan = _open_plan(desktop, qtbot)
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is plan.customer_name)  # the first thing to type
    press(plan.down_value, Qt.Key.Key_Return)  # no customer yet
    assert plan.isVisible(), "a plan with no customer was accepted"
    assert "needs a customer" in plan.error.text()
    type_text(plan.customer_name, "Aoife Byrne")
    press(plan.customer_name, Qt.Key.Key_Tab)
    type_text(QApplication.focusWidget(), "+353 87 765 4321")
    assert plan.customer_phone.text() == "+353 87 765 4321"
    plan.grab().save(str(SHOTS / "plan-dialog.png"))
    press(plan.customer_phone, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not plan.isVisible(), timeout=10_000)
    assert tender.plan is not None
    down = tender.plan.down_payment
    press(tender.amount, Qt.Key.Key_Return)  # the whole down payment in cash
    owed = desktop.ctx.money(total - down)
    assert "Paid in full" not in tender.remaining.text()
    assert "down payment" in tender.remaining.text().lower()
    assert tender.owed.isVisible() and tender.owed.text() == f"{owed} still owed on the plan"
    tender.grab().save(str(SHOTS / "tender-plan-down-paid.png"))
    press(tender.amount, Qt.Key.Key_Return)  # start the plan
    register = desktop.window.register
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    banner = register.sale_banner.text()
    assert "complete" not in banner.lower() and owed in banner, banner
    with store.db.read() as s:
        order = s.get(Order, register.last_sale.order_id)
        assert order.customer_id is not None and order.status == "pending"
    desktop.window.grab().save(str(SHOTS / "register-plan-started.png"))


def test_a_new_plan_shows_no_overdue_tag(desktop, qtbot, store):
    sale = plan_sale_today(store, down_share=4, customer="Aoife Byrne")
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    assert screen.schedule_box.isVisible()
    assert not screen.overdue_legend.isVisible(), "a plan made today shows an overdue tag"
    screen.today = lambda: date.today() + timedelta(days=40)  # installment 1 is late by then
    screen.load()
    settle(desktop, qtbot)
    assert screen.overdue_legend.isVisible()


def test_a_failed_edit_keeps_what_was_typed(desktop, qtbot, store):
    sale = make_sale(store, paid=False, customer="Aoife Byrne")
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    screen.findChild(QPushButton, "detail_edit").click()
    dialog = screen.actions.dialog
    dialog.name.setFocus()
    dialog.name.selectAll()
    type_text(dialog.name, "Aoife Byrne-Walsh")
    dialog.phone.selectAll()
    type_text(dialog.phone, "+353 86 111 2222")
    for spin in dialog.spins.values():  # every line to 0: an order keeps at least one line
        spin.setFocus()
        spin.selectAll()
        type_text(spin, "0")
    dialog.reason.setFocus()
    type_text(dialog.reason, "Customer changed her mind")
    press(dialog.reason, Qt.Key.Key_Return)
    settle(desktop, qtbot, 100)
    assert dialog.isVisible(), "the dialog closed and lost what was typed"
    assert "at least one line" in dialog.error.text()
    assert dialog.name.text() == "Aoife Byrne-Walsh" and dialog.phone.text() == "+353 86 111 2222"
    dialog.grab().save(str(SHOTS / "edit-failed-kept.png"))
    first = next(iter(dialog.spins.values()))
    first.setFocus()
    first.selectAll()
    type_text(first, "1")
    press(dialog.reason, Qt.Key.Key_Return)
    settle(desktop, qtbot, 100)
    # the edit's op and the detail's reload run off the GUI thread: on a loaded machine
    # they may land after the settle (this failed at load 11-13), so wait for them
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: getattr(screen.detail.customer, "name", None) == "Aoife Byrne-Walsh",
                    timeout=5000)


def test_a_deleted_order_offers_no_schedule(desktop, qtbot, store):
    sale = make_sale(store, paid=False, customer="Aoife Byrne", plan_down_pct=30)
    manager = staff.sign_in(store, "1002", "222222")
    with store.db.read() as s:
        lines = [(li.id, li.qty_milli) for li in s.get(Order, sale.order_id).lines]
    approvals.refund_with_override(store, manager, manager, sale.order_id,
                                   [approvals.RefundItem(i, q) for i, q in lines], "Returned", method="card")
    approvals.delete_with_override(store, manager, manager, sale.order_id, "Sold by mistake")
    assert sales.find_by_reference(store, sale.reference)
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    assert screen.detail.status == "deleted"
    assert not screen.buttons["schedule"].isVisible()


def test_a_manager_adds_an_item_to_a_pending_order(desktop, qtbot, store):
    sale = make_sale(store, paid=False, customer="Aoife Byrne")
    with store.db.read() as s:
        taken = {li.product_id for li in s.get(Order, sale.order_id).lines}
    extra = next(p for p in catalog.search(store, "Harbour", 50) if p.id not in taken and p.active)
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    before = len(screen.detail.lines)
    screen.findChild(QPushButton, "detail_edit").click()
    dialog = screen.actions.dialog
    dialog.add_item.setFocus()
    type_text(dialog.add_item, extra.name)
    press(dialog.add_item, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == before + 1, timeout=3000)
    assert dialog.table.item(before, 0).text() == extra.name
    dialog.reason.setFocus()
    type_text(dialog.reason, "Took one more")
    dialog.grab().save(str(SHOTS / "edit-add-item.png"))
    press(dialog.reason, Qt.Key.Key_Return)
    settle(desktop, qtbot, 150)
    assert not dialog.isVisible()
    assert [li.name for li in screen.detail.lines][-1] == extra.name
