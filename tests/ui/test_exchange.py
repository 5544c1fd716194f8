"""Issue 21 (features): the exchange. Items of an earlier order come back and new items go
out in one flow with one receipt, from the order's detail or from the register (F11),
driven by real key events (Shift for capitals) on a till with no server (offline).

Each step is an existing operation, recorded as one mutation each (rows, audit entry
and outbox operation together): approval.request, refund.create, order.create."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, exchanges, sales, staff
from app.services.approvals import RefundItem
from app.store.models import AuditEntry, Order, OutboxOperation, Payment
from app.store.models_aftersale import Refund
from printing.exchange_receipt import build_exchange_receipt
from printing.layout import receipt_text
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.keys import press, type_text
from tests.ui.test_manager_flows import open_detail, order_row


def _products(store, n: int = 8) -> list[tuple[str, str, int]]:
    """(barcode, name, price) of counted demo products, cheapest first."""
    found = [(code, name, catalog.line_for_scan(store, code).unit_price) for code, name in barcodes(store, n)]
    return sorted(found, key=lambda p: p[2])


def _sale(store, codes: list[str], method: Method = Method.CASH) -> sales.SaleResult:
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code in codes:
        cart.add(catalog.line_for_scan(store, code))
    return sales.record_sale(store, cashier, cart, [Tender(method, cart.totals().total)])


def _ops_since(store, seq: int) -> list[tuple[str, str]]:
    with store.db.read() as s:
        return [(o.type, o.entity_id) for o in s.scalars(select(OutboxOperation)
                                                         .where(OutboxOperation.op_seq > seq)
                                                         .order_by(OutboxOperation.op_seq))]


def _last_seq(store) -> int:
    with store.db.read() as s:
        return max([0, *s.scalars(select(OutboxOperation.op_seq))])


def _refund_of(store, order_id: str) -> Refund:
    with store.db.read() as s:
        refund = s.scalars(select(Refund).where(Refund.order_id == order_id)).one()
        s.expunge(refund)
        return refund


def _new_order(store, note: str) -> Order:
    with store.db.read() as s:
        order = s.scalars(select(Order).where(Order.note == note)).one()
        payments = [(p.method, p.amount) for p in s.scalars(select(Payment).where(Payment.order_id == order.id))]
        s.expunge(order)
        order.__dict__["_payments"] = payments
        return order


def test_exchange_from_the_order_detail_with_a_managers_pin(desktop, qtbot, store):
    (cheap_code, cheap_name, cheap), *_, (dear_code, dear_name, dear) = _products(store)
    assert dear > cheap
    sold = _sale(store, [cheap_code])
    before = _last_seq(store)
    sign_in(desktop, qtbot)  # the cashier: a refund needs a manager's PIN
    screen = open_detail(desktop, qtbot, sold.order_id)
    button = screen.buttons["exchange"]
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = screen.exchange.dialog
    assert dialog is not None and dialog.isVisible()
    line_id = screen.detail.lines[0].id
    spin = dialog.spins[line_id]
    # the dialog opens with its first field focused: the quantity coming back
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (spin, spin.lineEdit()), timeout=3000)
    press(spin, Qt.Key.Key_Up)
    assert dialog.items() == [RefundItem(line_id, 1000)]
    dialog.finder.field.setFocus()
    type_text(dialog.finder.field, dear_code)
    press(dialog.finder.field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(dialog.cart.lines) == 1, timeout=3000)
    assert dialog.net_label.text() == f"Customer pays {desktop.ctx.money(dear - cheap)}"
    # a wedge scan while the dialog is open is an item for it (not a code lost behind it)
    wedge_burst(cheap_code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(dialog.cart.lines) == 2, timeout=3000)
    assert dialog.finder.field.text() == ""  # no stray characters
    dialog.new_table.setFocus()
    dialog.new_table.selectRow(1)
    press(dialog.new_table, Qt.Key.Key_Delete)  # and Delete takes it out again
    assert [li.name for li in dialog.cart.lines] == [dear_name]
    dialog.method.setFocus()
    press(dialog.method, Qt.Key.Key_Down)  # cash (the original tender) -> card
    assert dialog.method_value is Method.CARD
    dialog.reason.setFocus()
    type_text(dialog.reason, "Wrong Size")
    press(dialog.reason, Qt.Key.Key_Return)
    override = screen.exchange.override
    assert override is not None and override.isVisible()
    type_text(override.code, "1002")
    press(override.code, Qt.Key.Key_Return)
    type_text(override.pin, "222222")
    press(override.pin, Qt.Key.Key_Return)
    settle(desktop, qtbot, 150)
    result = screen.exchange.result
    assert result is not None, "the exchange was not recorded"

    old = order_row(store, sold.order_id)
    assert old.refunded == cheap
    refund = _refund_of(store, sold.order_id)
    assert (refund.amount, refund.method) == (cheap, "card")
    assert refund.reason == f"Exchange for {sold.reference}: Wrong Size"
    new = _new_order(store, f"Exchange for {sold.reference}")
    assert (new.total, new.paid, new.status) == (dear, dear, "completed")
    assert new.__dict__["_payments"] == [("card", dear)]
    # the three existing operations, each with its audit entry, in this order
    ops = [t for t, _ in _ops_since(store, before) if t != "shift.open"]  # the store opens one itself
    assert ops == ["approval.request", "refund.create", "order.create"]
    with store.db.read() as s:
        audited = set(s.scalars(select(AuditEntry.entity_id)))
    assert {refund.approval_id, sold.order_id, new.id} <= audited
    # the detail now shows the new order, and the one receipt says it all
    settle(desktop, qtbot)
    assert screen.detail is not None and screen.detail.id == new.id
    text = receipt_text(build_exchange_receipt(store, refund.id, new.id))
    money = desktop.ctx.money
    assert "*** EXCHANGE ***" in text
    assert f"Returned: {cheap_name}"[:30] in text
    assert dear_name[:30] in text
    assert f"-{money(cheap)}" in text
    total_line = next(line for line in text.splitlines() if line.startswith("TOTAL"))
    assert total_line.endswith(money(dear - cheap))
    assert f"Exchange for {sold.reference}" in text
    card_line = next(line for line in text.splitlines() if line.startswith("Card"))
    assert card_line.endswith(money(dear - cheap))
    # queued as one print job of kind "exchange" (kept as failed: no printer is set up here)
    qtbot.waitUntil(lambda: any(j.kind == "exchange" and j.reference == new.reference
                                for j in desktop.ctx.printing.jobs()), timeout=3000)


def test_exchange_at_the_register_gives_the_difference_back(desktop, qtbot, store):
    (cheap_code, cheap_name, cheap), *_, (dear_code, dear_name, dear) = _products(store)
    sold = _sale(store, [dear_code])
    sign_in(desktop, qtbot, "1001", "111111")  # the owner approves their own refunds
    register = desktop.window.register
    desktop.window.show_screen("register")
    settle(desktop, qtbot)
    register.scan.setFocus()
    wedge_burst(cheap_code)  # the new item, scanned into the cart
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=3000)
    press(register.scan, Qt.Key.Key_F11)
    ask = register.exchange_reference
    assert ask.isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is ask.field, timeout=3000)
    type_text(ask.field, sold.reference)  # GO-…: capitals typed with Shift
    # the last key shows once the scanner filter's ~30 ms hold has passed through the event
    # loop, which a loaded machine may not have run inside type_text ('GO-00000' was read)
    qtbot.waitUntil(lambda: ask.field.text() == sold.reference, timeout=2000)
    press(ask.field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    dialog = register.exchange_flow.dialog
    assert dialog is not None and dialog.isVisible()
    assert [li.name for li in dialog.cart.lines] == [cheap_name]  # the cart's items are the new items
    spin = next(iter(dialog.spins.values()))
    press(spin, Qt.Key.Key_Up)
    money = desktop.ctx.money
    assert dialog.net_label.text() == f"Give back {money(dear - cheap)}"
    assert dialog.method_value is Method.CASH  # the original tender
    dialog.reason.setFocus()
    type_text(dialog.reason, "Too Big")
    press(dialog.reason, Qt.Key.Key_Return)
    settle(desktop, qtbot, 150)
    # under load the recording may land after the first settle: wait for it, as a person would
    qtbot.waitUntil(lambda: register.exchange_flow.result is not None, timeout=10_000)
    settle(desktop, qtbot, 50)
    result = register.exchange_flow.result
    assert result is not None and result.net == cheap - dear
    assert register.cart.is_empty  # the sale is done: the register is ready for the next
    assert register.sale_banner.isVisible()
    assert f"give back {money(dear - cheap)}" in register.sale_banner.text()
    new = _new_order(store, f"Exchange for {sold.reference}")
    assert (new.total, new.paid, new.__dict__["_payments"]) == (cheap, cheap, [("cash", cheap)])
    refund = _refund_of(store, sold.order_id)
    assert (refund.amount, refund.method, refund.restock) == (dear, "cash", True)
    text = receipt_text(build_exchange_receipt(store, refund.id, new.id))
    assert f"Returned: {dear_name}"[:30] in text and cheap_name[:30] in text
    total_line = next(line for line in text.splitlines() if line.startswith("TOTAL"))
    assert total_line.endswith(f"-{money(dear - cheap)}")
    refund_line = next(line for line in text.splitlines() if line.startswith("Refund (Cash)"))
    assert refund_line.endswith(f"-{money(dear - cheap)}")
    assert QApplication.focusWidget() is register.scan  # keys go back to the scan field


def test_cash_handed_over_for_the_difference_gives_change(desktop, qtbot, store):
    (cheap_code, _cn, cheap), *_, (dear_code, _dn, dear) = _products(store)
    sold = _sale(store, [cheap_code])
    sign_in(desktop, qtbot, "1002", "222222")  # a manager approves their own
    screen = open_detail(desktop, qtbot, sold.order_id)
    qtbot.mouseClick(screen.buttons["exchange"], Qt.MouseButton.LeftButton)
    dialog = screen.exchange.dialog
    spin = next(iter(dialog.spins.values()))
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (spin, spin.lineEdit()), timeout=3000)
    press(spin, Qt.Key.Key_Up)
    assert not dialog.cash.isVisible()  # nothing to pay yet: nothing to hand over
    dialog.finder.field.setFocus()
    type_text(dialog.finder.field, dear_code)
    press(dialog.finder.field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(dialog.cart.lines) == 1, timeout=3000)
    assert dialog.method_value is Method.CASH and dialog.cash.isVisible()
    money = desktop.ctx.money
    dialog.reason.setFocus()
    type_text(dialog.reason, "Swap")
    dialog.cash.setFocus()
    type_text(dialog.cash, "0.01")  # less than the difference: said, and nothing recorded
    press(dialog.cash, Qt.Key.Key_Return)
    assert dialog.isVisible() and "less than" in dialog.error.text()
    dialog.cash.selectAll()
    type_text(dialog.cash, "50")
    press(dialog.cash, Qt.Key.Key_Return)
    settle(desktop, qtbot, 150)
    result = screen.exchange.result
    assert result is not None and result.change == 5000 - (dear - cheap)
    new = _new_order(store, f"Exchange for {sold.reference}")
    refund = _refund_of(store, sold.order_id)
    text = receipt_text(build_exchange_receipt(store, refund.id, new.id))
    lines = text.splitlines()
    assert next(x for x in lines if x.startswith("Cash ")).endswith(money(5000))
    assert next(x for x in lines if x.startswith("Change")).endswith(money(5000 - (dear - cheap)))


def test_a_refused_exchange_writes_nothing(store):
    (cheap_code, _n, _c), *_, (dear_code, _m, dear) = _products(store)
    sold = _sale(store, [dear_code])
    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.sign_in(store, "1002", "222222")
    with store.db.read() as s:
        line_id = s.get(Order, sold.order_id).lines[0].id
    before = _last_seq(store)
    empty = Cart(tax_inclusive=True)
    with pytest.raises(exchanges.ExchangeError, match="Add the new items"):
        exchanges.record_exchange(store, cashier, manager, sold.order_id, [RefundItem(line_id, 1000)], empty,
                                  Method.CASH, "wrong size")
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, cheap_code))
    with pytest.raises(exchanges.ExchangeError, match="refund"):  # the cashier cannot approve a refund
        exchanges.record_exchange(store, cashier, cashier, sold.order_id, [RefundItem(line_id, 1000)], cart,
                                  Method.CASH, "wrong size")
    with pytest.raises(exchanges.ExchangeError):  # more back than was sold
        exchanges.record_exchange(store, cashier, manager, sold.order_id, [RefundItem(line_id, 2000)], cart,
                                  Method.CASH, "wrong size")
    assert _ops_since(store, before) == []
    assert order_row(store, sold.order_id).refunded == 0
    # and a good one, with cash handed over for the difference: the change is given
    cart2 = Cart(tax_inclusive=True)
    cart2.add(catalog.line_for_scan(store, dear_code))
    cart2.set_quantity(0, 2000)
    result = exchanges.record_exchange(store, cashier, manager, sold.order_id, [RefundItem(line_id, 1000)],
                                       cart2, Method.CASH, "wants two", cash_given=dear + 500)
    assert (result.net, result.change) == (dear, 500)
    assert [t for t, _ in _ops_since(store, before)] == ["approval.request", "refund.create", "order.create"]
