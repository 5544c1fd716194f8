"""A sale on a payment plan: down payment now, installments later, at any terminal."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import demo
from app.domain.cart import Cart
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services import catalog, order_detail, payment_plans, sales, staff
from app.services.customers import CustomerDetails
from app.store.local import open_store
from app.store.models import OutboxOperation

WHO = CustomerDetails(None, "Aoife Byrne", "+353 87 765 4321")  # a plan needs a customer


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("plan"), passphrase="test-passphrase")
    demo.seed(s, 60)
    yield s
    s.close()


def _cart(store):
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:3]:
        cart.add(catalog.line_for_product(store, p.id, 3000))
    return cart


def test_plan_with_30_percent_down_and_two_installments(store):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = _cart(store)
    total = cart.totals().total
    down = down_payment_amount(total, percent_ppm=300_000)
    plan = make_plan(total, down, 2, date(2026, 1, 15), Interval.MONTHLY)
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, down)], WHO, plan=plan)
    assert sale.status == "pending" and sale.paid == down
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.entity_id == sale.order_id)).one()
    assert [i["amount"] for i in op.payload["installments"]] == [i.amount for i in plan.installments]
    status = payment_plans.plan_status(store, sale.order_id)
    assert status.outstanding == total - down
    # Installment 1 is overdue a day after it fell due; none before.
    first_due = plan.installments[0].due_date
    assert payment_plans.overdue_installments(store, first_due) == []
    late = payment_plans.overdue_installments(store, first_due + timedelta(days=1))
    assert [(o.reference, o.number) for o in late] == [(sale.reference, 1)]
    # An under-payment leaves part of installment 1 due; the rest completes the order.
    first = plan.installments[0].amount
    sales.record_payment(store, cashier, sale.order_id, Tender(Method.CARD, first - 100),
                         payment_plans.next_installment_id(status))
    status = payment_plans.plan_status(store, sale.order_id)
    assert status.installments[0].outstanding == 100
    done = sales.record_payment(store, cashier, sale.order_id, Tender(Method.CASH, total))
    assert done.status == "completed" and done.change == total - (total - down - first + 100)
    detail = order_detail.order_detail(store, sale.order_id)
    assert detail.plan.outstanding == 0 and len(detail.payments) == 3
    assert [a.action for a in detail.audit] == ["sale.record", "payment.record", "payment.record"]
    assert detail.audit[0].by == "Cass Cashier"


def test_plan_must_match_the_sale(store):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = _cart(store)
    total = cart.totals().total
    plan = make_plan(total, 1000, 3, date(2026, 1, 1), Interval.WEEKLY)
    with pytest.raises(sales.SaleError, match="down payment"):
        sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 900)], plan=plan)
    other = make_plan(total + 1, 1000, 3, date(2026, 1, 1), Interval.WEEKLY)
    with pytest.raises(sales.SaleError, match="different total"):
        sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 1000)], plan=other)


def test_cash_over_the_down_payment_gives_change_and_plan_lines_are_not_edited(store):
    from app.services import order_edits

    cashier, manager = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1002", "222222")
    cart = _cart(store)
    total = cart.totals().total
    plan = make_plan(total, 1000, 2, date(2026, 2, 1), Interval.WEEKLY)
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 2000)], WHO, plan=plan)
    assert (sale.paid, sale.change, sale.status) == (1000, 1000, "pending")
    detail = order_detail.order_detail(store, sale.order_id)
    assert [(p.amount, p.tendered, p.change) for p in detail.payments] == [(1000, 2000, 1000)]
    with pytest.raises(order_edits.EditError, match="payment plan"):
        order_edits.edit_order(store, manager, sale.order_id,
                               lines=[order_edits.LineChange(detail.lines[0].id, 1000)])
    assert order_detail.order_detail(store, sale.order_id).plan.down_payment == 1000
