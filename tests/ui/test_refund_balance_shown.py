"""The order page after a refund capped at what was collected (helper K, demo store,
1024x768): a plan's order of tea €7.94 and dog food €11.24, €5.75 down; the tea came
back with the €5.75. The page said "balance €13.43"; the customer keeps the dog food and
has paid nothing net: it says "goods brought back €7.94 · balance €11.24"."""

from __future__ import annotations

from datetime import date

from app.domain.cart import Cart, CartLine
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import approvals, order_detail, sales, staff
from app.services.approvals import RefundItem
from app.services.customers import CustomerDetails
from tests.ui.conftest import settle, sign_in
from tests.ui.test_manager_flows import open_detail

TITLE_BAR = 32


def _capped_refund(store) -> str:  # type: ignore[no-untyped-def]
    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.sign_in(store, "1002", "222222")
    cart = Cart(tax_inclusive=True)
    for name, price in (("Green Tea", 794), ("Dog Food", 1124)):
        cart.add(CartLine(product_id=None, sku=None, name=name, unit_price=price,
                          tax_rate_ppm=230_000, qty_milli=1000))
    plan = make_plan(1918, 575, 3, date.today(), Interval.MONTHLY)
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 575)],
                             CustomerDetails(None, "Dana Doyle", "+353 87 111 2233"), plan=plan)
    tea = next(li for li in order_detail.order_detail(store, sale.order_id).lines
               if li.name == "Green Tea")
    approvals.refund_with_override(store, cashier, manager, sale.order_id, [RefundItem(tea.id, 1000)],
                                   "Customer Changed Mind")
    return sale.order_id


def test_the_order_page_asks_for_what_the_customer_keeps(desktop, qtbot, store) -> None:  # type: ignore[no-untyped-def]
    order_id = _capped_refund(store)
    desktop.window.resize(1024, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1003", "3333")
    screen = open_detail(desktop, qtbot, order_id)
    settle(desktop, qtbot, 80)
    summary = screen.summary.text()
    assert "paid €5.75" in summary and "refunded <b>€5.75</b>" in summary
    assert "goods brought back <b>€7.94</b>" in summary
    assert "balance <b>€11.24</b>" in summary, summary
    assert screen.buttons["pay"].isVisible()


def test_the_refund_window_says_the_amount_the_refund_records(qtbot, store) -> None:  # type: ignore[no-untyped-def]
    """Three bags at €3.40 less €0.20 off the line (€10.00), brought back one at a time:
    the refunds are €3.33, €3.34, €3.33 (they add up to the line), and the window says
    €3.34 for the second bag, as recorded (it said €3.33, a cent off the record)."""
    from ui.dialogs.order_requests import RefundRequestDialog

    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.sign_in(store, "1002", "222222")
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Dog Food", unit_price=340,
                      tax_rate_ppm=230_000, qty_milli=3000, discount=Discount(amount=20)))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 1000)])
    line_id = order_detail.order_detail(store, sale.order_id).lines[0].id
    said = []
    for _ in range(3):
        dialog = RefundRequestDialog(order_detail.order_detail(store, sale.order_id), money_text)
        qtbot.addWidget(dialog)
        dialog.spins[line_id].setValue(1)
        said.append(dialog.refund_amount())
        approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                       [RefundItem(line_id, 1000)], "torn bags")
    d = order_detail.order_detail(store, sale.order_id)
    assert said == [333, 334, 333] and d.refunded == 1000 and d.status == "refunded"


def money_text(amount: int) -> str:
    return f"€{amount / 100:.2f}"
