"""Issue 21, defect 7: a payment plan names who owes it (a customer with a name and a phone),
checked at the till before anything is written; the server checks it again."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app import demo
from app.domain.cart import Cart
from app.domain.order_rules import PLAN_NEEDS_CUSTOMER
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services import catalog, sales, staff
from app.services.customers import CustomerDetails
from app.store.local import open_store
from app.store.models import Order, OutboxOperation


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("plan-customer"), passphrase="test-passphrase")
    demo.seed(s, 40)
    yield s
    s.close()


def _sale(store, customer: CustomerDetails | None):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:2]:
        cart.add(catalog.line_for_product(store, p.id, 2000))
    total = cart.totals().total
    down = down_payment_amount(total, percent_ppm=300_000)
    plan = make_plan(total, down, 3, date(2026, 1, 15), Interval.MONTHLY)
    return sales.record_sale(store, cashier, cart, [Tender(Method.CASH, down)], customer, plan=plan)


def _counts(store) -> tuple[int, int]:
    with store.db.read() as s:
        return s.scalar(select(func.count(Order.id))), s.scalar(select(func.count(OutboxOperation.op_id)))


@pytest.mark.parametrize("customer", [None, CustomerDetails(None, "Aoife Byrne", None),
                                      CustomerDetails(None, None, "+353 87 765 4321"),
                                      CustomerDetails(None, "  ", "  ")])
def test_a_plan_without_a_named_customer_is_refused_and_nothing_is_written(store, customer):
    before = _counts(store)
    with pytest.raises(sales.SaleError, match="A payment plan needs a customer"):
        _sale(store, customer)
    assert _counts(store) == before


def test_a_plan_with_name_and_phone_is_recorded(store):
    sale = _sale(store, CustomerDetails(None, "Aoife Byrne", "+353 87 765 4321"))
    assert sale.status == "pending" and sale.paid < sale.total
    assert PLAN_NEEDS_CUSTOMER.startswith("A payment plan needs a customer")
