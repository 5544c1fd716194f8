"""Payment plans across two terminals and the real server (SQLite and PostgreSQL).

A sells with a plan (30% down, 2 monthly installments) to a customer with a name and a
phone, as a plan needs (issue 21, defect 7); both terminals get the order
and its installments; then, offline, A takes installment 1 and B installment 2. After
sync A, B, A the order is completed everywhere, paid exactly once (3 payments, no
duplicate), and nothing is outstanding on either terminal.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services.customers import CustomerDetails
from app.services.payment_plans import next_installment_id, plan_status
from app.services.sales import SaleResult, record_payment, record_sale
from app.store.models import Installment, Order, Payment
from tests.sync.conftest import BACKENDS, Till

PRICE = 1000  # tax inclusive: total 1000, 300 down, two installments of 350
# A plan names who owes it (issue 21, defect 7): the till takes a name and a phone.
WHO = CustomerDetails(None, "Aoife Byrne", "+353 87 765 4321")


def sell_on_plan(till: Till) -> tuple[SaleResult, list[int]]:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Sofa", unit_price=PRICE,
                      tax_rate_ppm=200_000, qty_milli=1000))
    total = cart.totals().total
    down = down_payment_amount(total, percent_ppm=300_000)
    plan = make_plan(total, down, 2, date(2025, 1, 31), Interval.MONTHLY)
    sale = record_sale(till.store, till.actor(Role.CASHIER), cart, [Tender(Method.CASH, down)],
                       WHO, plan=plan)
    return sale, [i.amount for i in plan.installments]


def local_state(till: Till, order_id: str) -> tuple[str, int, int, list[tuple[str, int, int]]]:
    with till.store.db.read() as s:
        order = s.get(Order, order_id)
        assert order is not None
        pays = s.scalars(select(Payment).where(Payment.order_id == order_id)
                         .order_by(Payment.id)).all()
        return order.status, order.total, order.paid, sorted(
            (p.id, p.amount, p.change) for p in pays)


def server_state(till: Till, order_id: str) -> dict:
    tenant = till.tenant
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    headers = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        r = c.get(f"/offline-orders/{order_id}", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["order"]


def installment_ids(till: Till, order_id: str) -> list[str]:
    with till.store.db.read() as s:
        return list(s.scalars(select(Installment.id).where(Installment.order_id == order_id)
                              .order_by(Installment.number)))


def assert_paid_off_everywhere(a: Till, b: Till, order_id: str, total: int,
                               change: int = 0) -> None:
    srv = server_state(a, order_id)
    assert (srv["status"], srv["total"], srv["paid"]) == ("completed", total, total)
    assert len(srv["payments"]) == 3
    assert len({p["id"] for p in srv["payments"]}) == 3
    assert sum(p["amount"] for p in srv["payments"]) == total
    assert sum(p["change"] for p in srv["payments"]) == change
    server_payments = sorted((p["id"], p["amount"], p["change"]) for p in srv["payments"])
    for till in (a, b):
        status, t, paid, pays = local_state(till, order_id)
        assert (status, t, paid) == ("completed", total, total), till.store.data_dir
        assert pays == server_payments
        plan = plan_status(till.store, order_id)
        assert plan is not None
        assert plan.outstanding == 0
        assert [i.paid for i in plan.installments] == [i.amount for i in plan.installments]
        assert next_installment_id(plan) is None
        assert not any("overpaid" in f for f in srv["flags"] or [])


@BACKENDS
def test_installments_paid_offline_on_two_terminals_complete_once(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    sale, amounts = sell_on_plan(a)
    assert sale.status.value == "pending" and sale.paid == 300 and amounts == [350, 350]
    a.sync()
    b.sync()

    # the plan reached the server with who owes it: the order is found by their phone
    a.tenant.seen_at(Role.MANAGER)  # (by a manager who works at the store's till)
    with a.tenant.server.client() as c:
        r = c.get("/offline-orders", params={"phone": WHO.phone},
                  headers=a.tenant.login(Role.MANAGER))
        assert r.status_code == 200, r.text
        assert [o["id"] for o in r.json()["items"]] == [sale.order_id]

    on_b = plan_status(b.store, sale.order_id)
    assert on_b is not None
    assert (on_b.down_payment, [i.amount for i in on_b.installments]) == (300, [350, 350])
    assert on_b.outstanding == 700
    assert on_b.installment_ids == installment_ids(a, sale.order_id)
    first, second = on_b.installment_ids

    # offline: no sync in between
    paid_a = record_payment(a.store, a.actor(), sale.order_id, Tender(Method.CASH, amounts[0]), first)
    paid_b = record_payment(b.store, b.actor(), sale.order_id, Tender(Method.CARD, amounts[1]), second)
    assert paid_a.status.value == paid_b.status.value == "pending"
    assert paid_a.paid == paid_b.paid == 650

    a.sync()
    b.sync()
    a.sync()

    assert_paid_off_everywhere(a, b, sale.order_id, sale.total)
    with b.store.db.read() as s:
        by_installment = {p.installment_id: p.amount for p in s.scalars(
            select(Payment).where(Payment.order_id == sale.order_id))}
    assert by_installment == {None: 300, first: 350, second: 350}


@BACKENDS
def test_cash_over_payment_on_last_installment_gives_change_and_completes_once(
        till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    sale, amounts = sell_on_plan(a)
    a.sync()
    b.sync()
    first, second = plan_status(b.store, sale.order_id).installment_ids

    record_payment(a.store, a.actor(), sale.order_id, Tender(Method.CASH, amounts[0]), first)
    a.sync()
    b.sync()
    on_b = plan_status(b.store, sale.order_id)
    assert on_b.outstanding == 350 and next_installment_id(on_b) == second

    last = record_payment(b.store, b.actor(), sale.order_id, Tender(Method.CASH, 500), second)
    assert (last.status.value, last.paid, last.change) == ("completed", sale.total, 150)

    b.sync()
    a.sync()
    b.sync()

    assert_paid_off_everywhere(a, b, sale.order_id, sale.total, change=150)
