"""Customers at the till (issue 21): found by phone in local or international form (the
blind index, never the plain number) or by part of the name; their orders and what is
still owed on their plans."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import demo
from app.domain.cart import Cart
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import catalog, customers, sales, staff
from app.services.customers import CustomerDetails
from app.store.local import open_store
from app.store.models import Customer, StoreSettings


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("customers"), passphrase="x")
    demo.seed(s, 30)
    with s.db.write() as w:
        w.scalars(select(StoreSettings)).one().locale = "nl_NL"  # a Dutch shop
    cashier = staff.sign_in(s, "1003", "3333")

    def sale(who: CustomerDetails, plan: bool = False) -> None:
        cart = Cart(tax_inclusive=True)
        for p in catalog.search(s, "Harbour")[:2]:
            cart.add(catalog.line_for_product(s, p.id, 2000))
        total = cart.totals().total
        if plan:
            down = total // 4
            sales.record_sale(s, cashier, cart, [Tender(Method.CASH, down)], who,
                              plan=make_plan(total, down, 3, date.today() - timedelta(days=45), Interval.MONTHLY))
        else:
            sales.record_sale(s, cashier, cart, [Tender(Method.CARD, total)], who)

    sale(CustomerDetails(None, "Anneke de Vries", "+31 6 12345678"), plan=True)
    sale(CustomerDetails(None, "Anneke de Vries", "+31 6 12345678"))
    sale(CustomerDetails(None, "Joost Bakker", "020 123 4567"))
    yield s
    s.close()


@pytest.mark.parametrize("typed", ["0612 345 678", "+31 6 12345678", "0031612345678", "06-12345678"])
def test_found_by_phone_in_any_form(store, typed):
    found = customers.find_customers(store, typed)
    assert [c.name for c in found] == ["Anneke de Vries"]


def test_found_by_international_form_of_a_number_saved_local(store):
    assert [c.name for c in customers.find_customers(store, "+31 20 123 4567")] == ["Joost Bakker"]


def test_found_by_part_of_the_name(store):
    assert [c.name for c in customers.find_customers(store, "anneke")] == ["Anneke de Vries"]
    assert [c.name for c in customers.find_customers(store, "BAKK")] == ["Joost Bakker"]
    assert customers.find_customers(store, "nobody") == []


def test_the_phone_stays_sealed(store):
    with store.db.read() as s:
        rows = s.scalars(select(Customer)).all()
    assert rows and all(b"12345678" not in (c.phone_enc or b"") for c in rows)


def test_orders_and_what_is_owed(store):
    (anneke,) = customers.find_customers(store, "0612345678")
    assert anneke.orders == 2 and anneke.owed > 0
    account = customers.customer_account(store, anneke.id, date.today())
    assert len(account.orders) == 2
    plan = next(o for o in account.orders if o.plan_outstanding)
    assert plan.plan_outstanding == anneke.owed and plan.overdue > 0
    assert plan.next_due is not None
