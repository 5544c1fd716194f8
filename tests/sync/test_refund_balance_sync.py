"""After a refund capped at what was collected, two tills and the real server owe the same
(SQLite and PostgreSQL; app/domain/order_balance.py).

Till A sells tea €7.94 and dog food €11.24 on a plan, €5.75 down; the tea comes back
(manager PIN), capped at the €5.75 collected. After sync, A, B (which only pulled the
refund) and the server all say €11.24 is owed, not €13.43 (the order, the plan, the
shift's X on the till and the server's live X); the back office may not take
a card payment of €11.25; B takes €11.24 by card and the order is completed everywhere.
"""

from __future__ import annotations

from datetime import date

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, shift_reports, shifts
from app.services.customers import CustomerDetails
from app.services.order_detail import order_detail
from app.services.sales import record_payment, record_sale
from tests.sync.conftest import BACKENDS, Till

TEA, DOG_FOOD, DOWN = 794, 1124, 575


def _detail(till: Till, order_id: str) -> tuple[str, int, int]:
    d = order_detail(till.store, order_id)
    assert d is not None and d.plan is not None
    return d.status, d.balance, d.plan.outstanding


def _server(till: Till, order_id: str) -> dict:
    with till.tenant.server.client() as c:
        r = c.get(f"/offline-orders/{order_id}", headers=till.tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
        return r.json()["order"]


@BACKENDS
def test_two_tills_and_the_server_owe_the_same_after_a_capped_refund(till_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = till_factory("A"), till_factory("B")
    cart = Cart(tax_inclusive=True)
    for name, price in (("Green Tea", TEA), ("Dog Food", DOG_FOOD)):
        cart.add(CartLine(product_id=None, sku=None, name=name, unit_price=price,
                          tax_rate_ppm=230_000, qty_milli=1000))
    plan = make_plan(TEA + DOG_FOOD, DOWN, 3, date(2030, 1, 31), Interval.MONTHLY)
    sale = record_sale(a.store, a.actor(), cart, [Tender(Method.CASH, DOWN)],
                       CustomerDetails(None, "Dana Doyle", "+353 87 111 2233"), plan=plan)
    tea = next(li.id for li in order_detail(a.store, sale.order_id).lines if li.name == "Green Tea")
    approvals.refund_with_override(a.store, a.actor(), a.actor(Role.MANAGER), sale.order_id,
                                   [approvals.RefundItem(tea, 1000)], "changed their mind")
    a.sync()
    b.sync()
    assert _detail(a, sale.order_id) == ("pending", DOG_FOOD, DOG_FOOD)
    assert _detail(b, sale.order_id) == ("pending", DOG_FOOD, DOG_FOOD)
    shift = shifts.current_shift(a.store)  # the X: what is still owed on plans sold in it
    assert shift is not None and shift_reports.x_report(a.store).plans_outstanding == DOG_FOOD
    with a.tenant.server.client() as c:
        live = c.get(f"/shifts/{shift.id}/report", headers=a.tenant.login(Role.OWNER)).json()["live"]
        assert live["plans_outstanding"] == DOG_FOOD
    on_server = _server(a, sale.order_id)
    assert (on_server["status"], on_server["paid"], on_server["refunded"]) == ("pending", DOWN, DOWN)
    with a.tenant.server.client() as c:
        r = c.post(f"/offline-orders/{sale.order_id}/payments", headers=a.tenant.login(Role.OWNER),
                   json={"id": "01a24000-0000-7000-8000-000000000001", "method": "card",
                         "amount": DOG_FOOD + 1})
        assert r.status_code == 422 and "balance due" in r.text, r.text

    done = record_payment(b.store, b.actor(), sale.order_id, Tender(Method.CARD, DOG_FOOD))
    assert done.status.value == "completed"
    b.sync()
    a.sync()
    assert _server(a, sale.order_id)["status"] == "completed"
    assert _detail(a, sale.order_id) == ("completed", 0, 0)
    assert _detail(b, sale.order_id) == ("completed", 0, 0)
