"""Manager flows on real widgets over a real store: PIN override, approvals queue, payment plan.

Set TILLSYNC_WRITE_SCREENSHOTS=1 to also write docs/screenshots/order-detail.png and
approvals.png (test_screenshots always renders them, to a temporary folder otherwise).
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtWidgets import QPushButton

from app.domain.cart import Cart
from app.domain.permissions import Action
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, catalog, order_edits, payment_plans, sales, staff
from app.services.customers import CustomerDetails
from app.store.models import Order
from tests.ui.conftest import barcodes, settle, sign_in
from ui.dialogs.payment_plan import PERCENT

ROOT = Path(__file__).resolve().parents[2]


def click(widget, name: str) -> None:
    button = widget.findChild(QPushButton, name)
    assert button is not None, name
    assert button.isVisible() and button.isEnabled(), f"{name} cannot be clicked"
    button.click()


def make_sale(store, *, paid: bool, customer: str | None = None, plan_down_pct: int | None = None,
              deposit: int = 100):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code, _name in barcodes(store, 3):
        cart.add(catalog.line_for_scan(store, code))
    cart.set_quantity(0, 2000)
    total = cart.totals().total
    details = CustomerDetails(None, customer, "+353 87 765 4321") if customer else None
    if plan_down_pct is not None:
        details = details or CustomerDetails(None, "Plan Customer", "+353 87 765 4321")  # a plan needs one
        down = down_payment_amount(total, percent_ppm=plan_down_pct * 10_000)
        plan = make_plan(total, down, 3, date.today() - timedelta(days=40), Interval.MONTHLY)
        return sales.record_sale(store, cashier, cart, [Tender(Method.CARD, down)], details, plan=plan)
    tenders = [Tender(Method.CARD, total)] if paid else [Tender(Method.CASH, deposit)] if deposit else []
    return sales.record_sale(store, cashier, cart, tenders, details)


def plan_sale_today(store, *, down_share: int, customer: str):
    """Two products on a three-month plan made today, 1/``down_share`` of it paid down in cash."""
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code, _name in barcodes(store, 2):
        cart.add(catalog.line_for_scan(store, code))
    total = cart.totals().total
    plan = make_plan(total, total // down_share, 3, date.today(), Interval.MONTHLY)
    return sales.record_sale(store, cashier, cart, [Tender(Method.CASH, total // down_share)],
                             CustomerDetails(None, customer, "+353 87 765 4321"), plan=plan)


def open_detail(desktop, qtbot, order_id: str):
    desktop.ctx.show_order(order_id)
    settle(desktop, qtbot)
    screen = desktop.window.order_detail
    assert desktop.window.pages.currentWidget() is screen
    assert screen.detail is not None and screen.detail.id == order_id
    return screen


def order_row(store, order_id: str) -> Order:
    with store.db.read() as s:
        order = s.get(Order, order_id)
        s.expunge(order)
        return order


def audit_text(screen) -> str:
    t = screen.audit
    return "\n".join(" | ".join(t.item(r, c).text() for c in range(t.columnCount())) for r in range(t.rowCount()))


# -- PIN override -------------------------------------------------------------------

def test_deletion_with_manager_pin_override(desktop, qtbot, store):
    sale = make_sale(store, paid=False, deposit=0)  # money collected is refunded first
    sign_in(desktop, qtbot, "1003", "3333")
    screen = open_detail(desktop, qtbot, sale.order_id)
    assert not screen.buttons["edit"].isVisible()  # a cashier does not edit orders
    click(screen, "detail_delete")
    dialog = screen.actions.dialog
    click(dialog, "routeOverride")
    assert "reason is required" in dialog.error.text()
    dialog.reason.setText("customer changed their mind")
    click(dialog, "routeOverride")
    override = screen.actions.override
    assert override is not None and override.isVisible()

    override.code.setText("1002")
    override.pin.setText("9999")
    click(override, "overrideApprove")
    settle(desktop, qtbot)
    assert override.isVisible() and "Wrong PIN" in override.error.text()
    assert order_row(store, sale.order_id).status == "pending"

    override.code.setText("1003")  # the cashier's own PIN is no approval
    override.pin.setText("3333")
    click(override, "overrideApprove")
    settle(desktop, qtbot)
    assert override.isVisible() and "cannot approve this" in override.error.text()
    assert order_row(store, sale.order_id).status == "pending"

    override.code.setText("1002")
    override.pin.setText("222222")
    click(override, "overrideApprove")
    settle(desktop, qtbot, 100)
    assert not override.isVisible()
    order = order_row(store, sale.order_id)
    assert order.status == "deleted" and order.deleted_reason == "customer changed their mind"
    assert screen.detail.status == "deleted" and screen.status.text() == "DELETED"
    trail = audit_text(screen)
    assert "pending → deleted" in trail and "customer changed their mind" in trail
    assert not screen.buttons["delete"].isVisible()
    assert "Max Manager" in desktop.window.notice.text


# -- approvals queue ----------------------------------------------------------------

def test_refund_sent_to_queue_then_approved_by_manager(desktop, qtbot, store):
    sale = make_sale(store, paid=True)
    sign_in(desktop, qtbot, "1003", "3333")
    assert not desktop.window.nav_buttons["approvals"].isVisible()
    screen = open_detail(desktop, qtbot, sale.order_id)
    line = screen.detail.lines[0]  # two of this item were sold
    with store.db.read() as s:
        product_id = s.get(Order, sale.order_id).lines[0].product_id
    stock_before = catalog.on_hand_milli(store, product_id)
    click(screen, "detail_refund")
    dialog = screen.actions.dialog
    dialog.set_quantity(line.id, 1)
    dialog.method.setCurrentIndex(dialog.method.findData("cash"))
    assert dialog.restock.isChecked()
    dialog.reason.setText("one was broken")
    click(dialog, "routeQueue")
    settle(desktop, qtbot)
    (request,) = approvals.pending(store)
    assert request.kind == "refund" and request.amount == line.total // 2
    assert "refund awaiting approval" in screen.summary.text()

    desktop.window.switch_user()
    sign_in(desktop, qtbot, "1002", "222222")
    settle(desktop, qtbot)
    nav = desktop.window.nav_buttons["approvals"]
    assert nav.isVisible() and nav.text() == "Approvals  (1)"
    desktop.window.show_screen("approvals")
    settle(desktop, qtbot)
    queue = desktop.window.approvals
    assert queue.table.rowCount() == 1
    row = [queue.table.item(0, c).text() for c in range(queue.table.columnCount())]
    assert row[:2] == ["Refund", sale.reference] and row[3] == "one was broken" and row[4] == "Cass Cashier"
    queue.note.setText("ok, checked the box")
    click(queue, "approveButton")
    settle(desktop, qtbot, 150)

    order = order_row(store, sale.order_id)
    assert order.refunded == request.amount and order.status == "completed"
    assert catalog.on_hand_milli(store, product_id) == stock_before + 1000
    assert approvals.pending(store) == [] and queue.table.rowCount() == 0 and nav.text() == "Approvals"
    jobs = desktop.ctx.printing.jobs()
    assert [j.kind for j in jobs if j.order_id == sale.order_id] == ["refund"]


def test_rejection_from_queue_changes_nothing(desktop, qtbot, store):
    sale = make_sale(store, paid=False, deposit=0)
    cashier = staff.sign_in(store, "1003", "3333")
    approvals.request_deletion(store, cashier, sale.order_id, "test order")
    sign_in(desktop, qtbot, "1001", "111111")
    desktop.window.show_screen("approvals")
    settle(desktop, qtbot)
    queue = desktop.window.approvals
    assert queue.table.rowCount() == 1
    click(queue, "rejectButton")
    settle(desktop, qtbot)
    assert order_row(store, sale.order_id).status == "pending"
    assert queue.table.rowCount() == 0


# -- payment plan ---------------------------------------------------------------------

def test_payment_plan_at_tender_then_installments_from_order_detail(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1003", "3333")
    register = desktop.window.register
    for code, _name in barcodes(store, 3):
        register.model.add(catalog.line_for_scan(store, code))
    total = register.cart.totals().total
    register.pay()
    tender = register.tender_dialog
    click(tender, "tenderPlanButton")
    plan_dialog = tender.plan_dialog
    plan_dialog.customer_name.setText("Aoife Byrne")  # a plan needs a customer
    plan_dialog.customer_phone.setText("+353 87 765 4321")
    plan_dialog.set_down("30", PERCENT)
    plan_dialog.count.setValue(2)
    plan_dialog.set_interval(Interval.MONTHLY)
    down = down_payment_amount(total, percent_ppm=300_000)
    preview = [plan_dialog.preview.item(r, 2).text() for r in range(plan_dialog.preview.rowCount())]
    expected = make_plan(total, down, 2, date.today(), Interval.MONTHLY)
    assert preview == [desktop.ctx.money(i.amount) for i in expected.installments]
    click(plan_dialog, "planUse")
    assert tender.plan == expected and tender.due_now == down
    assert tender.due.text() == desktop.ctx.money(down)
    assert tender.add(Method.CASH, down + 1000) and tender.change_due == 1000  # cash over the down payment
    tender.complete()
    settle(desktop, qtbot, 100)
    sale = register.last_sale
    assert sale is not None and sale.status == "pending" and sale.paid == down
    assert sale.change == 1000  # recorded as tendered, with the change handed back

    screen = open_detail(desktop, qtbot, sale.order_id)
    assert screen.schedule_box.isVisible() and screen.schedule.rowCount() == 3  # down payment + 2
    first, second = expected.installments
    assert screen.schedule.item(1, 2).text() == desktop.ctx.money(first.amount)
    click(screen, "detail_pay")
    pay = screen.actions.dialog
    assert pay.amount.text().replace(",", "") == f"{first.amount / 100:.2f}"
    pay.choose(Method.CARD)
    click(pay, "installmentPay")
    settle(desktop, qtbot, 100)
    status = payment_plans.plan_status(store, sale.order_id)
    assert [i.outstanding for i in status.installments] == [0, second.amount]
    assert order_row(store, sale.order_id).status == "pending" and screen.detail.status == "pending"

    click(screen, "detail_pay")
    pay = screen.actions.dialog
    pay.amount.setText(f"{(second.amount + 500) / 100:.2f}")  # cash over the balance: change
    assert "Change due" in pay.info.text()
    pay.choose(Method.CARD)
    assert "cannot be more than the balance" in pay.error.text()
    pay.choose(Method.CASH)
    click(pay, "installmentPay")
    settle(desktop, qtbot, 100)
    order = order_row(store, sale.order_id)
    assert order.status == "completed" and order.paid == total
    assert screen.detail.status == "completed" and not screen.buttons["pay"].isVisible()
    assert "Change due" in desktop.window.notice.text


def test_manager_edits_pending_order_and_sees_the_trail(desktop, qtbot, store):
    sale = make_sale(store, paid=False, customer="Aoife Byrne")
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    click(screen, "detail_edit")
    dialog = screen.actions.dialog
    dialog.name.setText("Aoife Byrne-Walsh")
    dialog.spins[screen.detail.lines[0].id].setValue(1)
    dialog.findChild(QPushButton, "editSave").click()
    assert "Say why" in dialog.error.text()
    dialog.reason.setText("customer took one back")
    dialog.findChild(QPushButton, "editSave").click()
    settle(desktop, qtbot, 100)
    trail = audit_text(screen)
    assert "Aoife Byrne, +353 87 765 4321 → Aoife Byrne-Walsh, +353 87 765 4321" in trail
    assert "customer took one back" in trail and "Max Manager" in trail
    assert screen.detail.lines[0].qty_milli == 1000


def test_overdue_list_opens_the_order(desktop, qtbot, store):
    sale = make_sale(store, paid=False, plan_down_pct=20)
    sign_in(desktop, qtbot, "1003", "3333")
    desktop.window.show_screen("overdue")
    settle(desktop, qtbot)
    overdue = desktop.window.overdue
    assert overdue.table.rowCount() == 1 and overdue.table.item(0, 0).text() == sale.reference
    click(overdue, "overdueOpen")
    settle(desktop, qtbot)
    screen = desktop.window.order_detail
    assert desktop.window.pages.currentWidget() is screen and screen.detail.id == sale.order_id
    assert screen.schedule.item(1, 1).text().endswith("!") and screen.schedule.item(1, 1).toolTip() == "Overdue"
    click(screen, "detailBack")
    assert desktop.window.pages.currentWidget() is overdue


def test_conflicts_screen_lists_and_resolves(desktop, qtbot, store):
    from datetime import UTC, datetime

    from sync import conflicts

    with store.db.write() as s:
        conflicts.record_pulled(s, store.cipher, "c-1", {
            "entity_type": "order", "entity_id": "0000-order", "kind": "field_conflict",
            "fields": {"note": {"base": "a", "server": "from till B", "terminal": "from till A"}},
            "created_at": datetime.now(UTC).isoformat()})
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("conflicts")
    settle(desktop, qtbot)
    screen = desktop.window.conflicts
    assert screen.table.rowCount() == 1
    assert "from till A" in screen.table.item(0, 3).text() and "from till B" in screen.table.item(0, 4).text()
    click(screen, "keepTerminal")
    settle(desktop, qtbot)
    assert conflicts.open_conflicts(store) == [] and screen.table.rowCount() == 0


# -- screenshots --------------------------------------------------------------------

def _screenshot_data(store) -> str:
    """A plan order with a customer, a paid installment, an edit and an overdue one; queue requests."""
    manager, cashier = staff.sign_in(store, "1002", "222222"), staff.sign_in(store, "1003", "3333")
    sale = make_sale(store, paid=False, customer="Aoife Byrne", plan_down_pct=30)
    order_edits.edit_order(store, manager, sale.order_id, note="Collects on Fridays",
                           customer=CustomerDetails(None, "Aoife Byrne", "+353 86 111 2222"),
                           reason="customer has a new phone number")
    status = payment_plans.plan_status(store, sale.order_id)
    sales.record_payment(store, cashier, sale.order_id, Tender(Method.CASH, status.installments[0].amount),
                         payment_plans.next_installment_id(status))
    paid = make_sale(store, paid=True)
    line_ids = order_row_lines(store, paid.order_id)
    approvals.request_refund(store, cashier, paid.order_id, [approvals.RefundItem(line_ids[0], 1000)],
                             "Lid cracked on one jar", method="cash")
    other = make_sale(store, paid=True, customer="Seán Ó Briain")
    approvals.request_refund(store, cashier, other.order_id,
                             [approvals.RefundItem(i, q) for i, q in zip(order_row_lines(store, other.order_id),
                                                                           (2000, 1000, 1000), strict=True)],
                             "Wrong order delivered, all returned")
    pending = make_sale(store, paid=False, deposit=0)
    approvals.request_deletion(store, cashier, pending.order_id, "Test sale rung up by mistake")
    return sale.order_id


def order_row_lines(store, order_id: str) -> list[str]:
    with store.db.read() as s:
        return [li.id for li in s.get(Order, order_id).lines]


def test_screenshots(desktop, qtbot, store, tmp_path):
    out = ROOT / "docs" / "screenshots" if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS") else tmp_path
    order_id = _screenshot_data(store)
    window = desktop.window
    window.resize(1280, 900)
    sign_in(desktop, qtbot, "1002", "222222")
    screen = window.order_detail
    screen.today = lambda: date.today() + timedelta(days=25)  # installment 2 is late by then
    desktop.ctx.show_order(order_id)
    settle(desktop, qtbot, 150)
    assert window.ctx.can(Action.ORDER_EDIT) and screen.schedule.rowCount() == 4
    assert window.width() == 1280  # nothing on the screen forces the window wider
    window.grab().save(str(out / "order-detail.png"))
    window.resize(1280, 800)
    window.show_screen("approvals")
    settle(desktop, qtbot, 150)
    assert window.approvals.table.rowCount() == 3
    window.approvals.table.selectRow(0)
    window.grab().save(str(out / "approvals.png"))
    assert (out / "order-detail.png").stat().st_size > 10_000
