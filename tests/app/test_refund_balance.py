"""What the customer owes after a refund at the till (app/domain/order_balance.py).

Helper K, demo store: a plan's order of tea €7.94 and dog food €11.24, €5.75 down in
cash. The tea comes back (manager PIN); the refund is capped at the €5.75 collected.
The customer keeps the dog food and has paid nothing net: they owe €11.24, not €13.43
(the €2.19 of tea not paid back is not theirs to pay), everywhere the till shows it:
the order's page, the plan's installments, what a payment may be, the customer's
account, the till's figures."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app import demo
from app.domain import order_balance
from app.domain.cart import Cart, CartLine
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import analytics_local, approvals, customers, sales, staff
from app.services.approvals import RefundItem
from app.services.customers import CustomerDetails
from app.services.order_detail import order_detail
from app.services.payment_plans import overdue_installments
from app.store.models import Order
from tests.conftest import fresh_store, seed_demo

TEA, DOG_FOOD, DOWN = 794, 1124, 575
WHO = CustomerDetails(None, "Dana Doyle", "+353 87 111 2233")


@pytest.fixture(scope="module")
def store(tmp_path_factory, migrated_store_file):  # type: ignore[no-untyped-def]
    s = fresh_store(tmp_path_factory.mktemp("refund_balance"), migrated_store_file)
    seed_demo(s, 20)
    yield s
    s.close()


@pytest.fixture(scope="module")
def people(store):  # type: ignore[no-untyped-def]
    return {code: staff.sign_in(store, code, pin) for _, code, _, pin in demo.DEMO_STAFF}


def _item(name: str, price: int, qty_milli: int = 1000) -> CartLine:
    return CartLine(product_id=None, sku=None, name=name, unit_price=price,
                    tax_rate_ppm=230_000, qty_milli=qty_milli)


def _plan_sale(store, cashier, who=WHO):  # type: ignore[no-untyped-def]
    cart = Cart(tax_inclusive=True)
    cart.add(_item("Green Tea", TEA))
    cart.add(_item("Dog Food", DOG_FOOD))
    total = cart.totals().total
    plan = make_plan(total, DOWN, 3, date(2020, 1, 31), Interval.MONTHLY)  # all overdue now
    return sales.record_sale(store, cashier, cart, [Tender(Method.CASH, DOWN)], who, plan=plan)


def _lines(store, order_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with store.db.read() as s:
        return {li.name: li.id for li in s.get(Order, order_id).lines}


def test_goods_brought_back_and_not_paid_back_are_not_owed(store, people) -> None:  # type: ignore[no-untyped-def]
    cashier, manager = people["1003"], people["1002"]
    who = CustomerDetails(None, "Dana Doyle", "+353 87 111 2233")
    sale = _plan_sale(store, cashier, who)
    tea = _lines(store, sale.order_id)["Green Tea"]
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [RefundItem(tea, 1000)], "changed their mind")
    d = order_detail(store, sale.order_id)
    assert d is not None and d.plan is not None
    assert (d.total, d.paid, d.refunded, d.returned) == (TEA + DOG_FOOD, DOWN, DOWN, TEA)
    assert (d.status, d.balance) == ("pending", DOG_FOOD)  # was 13.43
    assert d.plan.outstanding == DOG_FOOD  # the installments left add up to the balance
    late = [o for o in overdue_installments(store, date.today()) if o.order_id == sale.order_id]
    assert sum(o.outstanding for o in late) == DOG_FOOD
    match = [c for c in customers.find_customers(store, "Dana Doyle") if c.owed]
    assert [c.owed for c in match] == [DOG_FOOD]
    assert customers.customer_account(store, match[0].id, date.today()).owed == DOG_FOOD
    with store.db.read() as s:
        outstanding, _, _ = analytics_local._plans(s, date.today())
    assert outstanding == DOG_FOOD
    with pytest.raises(sales.SaleError, match="cannot be more than the balance due"):
        sales.record_payment(store, cashier, sale.order_id, Tender(Method.CARD, DOG_FOOD + 1))
    paid = sales.record_payment(store, cashier, sale.order_id, Tender(Method.CARD, DOG_FOOD))
    assert paid.status.value == "completed"
    d = order_detail(store, sale.order_id)
    assert d is not None and d.plan is not None
    assert (d.balance, d.plan.outstanding) == (0, 0)


def test_a_refund_that_gives_back_all_the_goods_value_leaves_the_balance(store, people) -> None:  # type: ignore[no-untyped-def]
    """Paid in full, the tea comes back with its €7.94: nothing is owed, as before."""
    cashier, manager = people["1003"], people["1002"]
    cart = Cart(tax_inclusive=True)
    cart.add(_item("Green Tea", TEA))
    cart.add(_item("Dog Food", DOG_FOOD))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, TEA + DOG_FOOD)])
    tea = _lines(store, sale.order_id)["Green Tea"]
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [RefundItem(tea, 1000)], "faulty")
    d = order_detail(store, sale.order_id)
    assert d is not None and (d.status, d.refunded, d.balance) == ("completed", TEA, 0)
    dog = _lines(store, sale.order_id)["Dog Food"]
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [RefundItem(dog, 1000)], "faulty")
    d = order_detail(store, sale.order_id)
    assert d is not None and (d.status, d.balance) == ("refunded", 0)


def test_partial_quantities_brought_back_one_by_one_add_up_to_the_line(store, people) -> None:  # type: ignore[no-untyped-def]
    """Three bags of dog food at €3.40 less €0.20 off the line (€10.00), brought back one
    at a time, each its own refund: €3.33, €3.34, €3.33 (not €3.33 three times, a cent
    kept), and the order is refunded in full."""
    cashier, manager = people["1003"], people["1002"]
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Dog Food", unit_price=340,
                      tax_rate_ppm=230_000, qty_milli=3000, discount=Discount(amount=20)))
    total = cart.totals().total
    assert total == 1000
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, total)])
    dog = _lines(store, sale.order_id)["Dog Food"]
    for _ in range(3):
        approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                       [RefundItem(dog, 1000)], "torn bags")
    d = order_detail(store, sale.order_id)
    assert d is not None
    assert (d.refunded, d.returned, d.balance, d.status) == (1000, 1000, 0, "refunded")


def test_a_pending_order_all_brought_back_owes_nothing_and_is_deleted(store, people) -> None:  # type: ignore[no-untyped-def]
    cashier, manager = people["1003"], people["1002"]
    sale = _plan_sale(store, cashier, CustomerDetails(None, "Eve Egan", "+353 87 222 3344"))
    items = [RefundItem(i, 1000) for i in _lines(store, sale.order_id).values()]
    approvals.refund_with_override(store, cashier, manager, sale.order_id, items, "all back")
    d = order_detail(store, sale.order_id)
    assert d is not None and d.plan is not None
    assert (d.status, d.balance, d.plan.outstanding) == ("pending", 0, 0)
    approvals.delete_with_override(store, cashier, manager, sale.order_id, "all back")
    with store.db.read() as s:
        assert s.scalar(select(Order.status).where(Order.id == sale.order_id)) == "deleted"


@given(total=st.integers(1, 100_000), qty=st.integers(1, 50),
       parts=st.lists(st.integers(1, 10), min_size=1, max_size=6))
def test_a_lines_refunds_add_up_to_its_total(total: int, qty: int, parts: list[int]) -> None:
    """However a line is brought back, piece by piece, its refunds come to its total."""
    sold, already, priced = qty * 1000, 0, 0
    for part in parts:
        take = min(part * 1000, sold - already)
        if take <= 0:
            break
        priced += order_balance.refund_line_amount(total, sold, already, take)
        already += take
    assert priced == order_balance.line_returned(total, sold, already)
    if already == sold:
        assert priced == total


@given(total=st.integers(0, 10_000), paid=st.integers(0, 10_000), refunded=st.integers(0, 10_000),
       returned=st.integers(0, 10_000))
def test_what_is_owed_is_what_is_kept_less_what_was_paid_net(total: int, paid: int, refunded: int,
                                                              returned: int) -> None:
    """Money given back up to the goods' value pays for them; beyond it lowers the price."""
    kept = total - max(returned, refunded)
    assert order_balance.owed(total, paid, refunded, returned) == kept - (paid - refunded)
    assert order_balance.balance_due(total, paid, refunded, returned) >= 0


def test_an_edit_after_goods_came_back_keeps_a_pending_order_pending(store, people) -> None:  # type: ignore[no-untyped-def]
    """The tea came back (capped at the €5.75 paid), then the dog food is taken off the
    order: nothing is kept and nothing owed, and the order stays pending (to be deleted),
    as the server's order.update makes it (order_rules.next_status), not 'refunded'."""
    from app.services.order_edits import LineChange, edit_order

    cashier, manager = people["1003"], people["1002"]
    cart = Cart(tax_inclusive=True)
    cart.add(_item("Green Tea", TEA))
    cart.add(_item("Dog Food", DOG_FOOD))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, DOWN)])
    lines = _lines(store, sale.order_id)
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [RefundItem(lines["Green Tea"], 1000)], "changed their mind")
    edit_order(store, manager, sale.order_id, lines=[LineChange(lines["Dog Food"], 0)],
               reason="does not want it")
    d = order_detail(store, sale.order_id)
    assert d is not None and (d.total, d.status, d.balance) == (TEA, "pending", 0)


@pytest.mark.parametrize("qty_milli", [1000, 0])
def test_an_edit_cannot_take_a_line_below_what_came_back(store, people, qty_milli) -> None:  # type: ignore[no-untyped-def]
    """Two of three teas came back: the edit may leave two or more, never fewer (to 0 it
    failed with a raw IntegrityError; to 1 it was taken: helper K2), as the server's
    order.update refuses it (order_rules.check_keeps_brought_back)."""
    from app.services.order_edits import EditError, LineChange, edit_order

    cashier, manager = people["1003"], people["1002"]
    cart = Cart(tax_inclusive=True)
    cart.add(_item("Green Tea", TEA, 3000))
    cart.add(_item("Dog Food", DOG_FOOD))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, DOWN)])
    lines = _lines(store, sale.order_id)
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [RefundItem(lines["Green Tea"], 2000)], "changed their mind")
    before = order_detail(store, sale.order_id)
    with pytest.raises(EditError, match="2 of Green Tea was already brought back"):
        edit_order(store, manager, sale.order_id,
                   lines=[LineChange(lines["Green Tea"], qty_milli)], reason="fewer")
    assert order_detail(store, sale.order_id) == before
    edit_order(store, manager, sale.order_id, lines=[LineChange(lines["Green Tea"], 2000)],
               reason="one tea less")
    d = order_detail(store, sale.order_id)
    assert d is not None and d.lines[0].qty_milli == 2000
