"""The till's dashboard and the server's /analytics/summary say the same of a plan after
goods came back (app/domain/order_balance.py), on SQLite and PostgreSQL.

Helper K's order, rung up on a real till and synced to the real server: tea €7.94 and dog
food €11.24 on a plan of two monthly instalments (the first already due), €5.75 down;
the tea comes back with the €5.75 collected. The till's dashboard
(app/services/analytics_local.py) and the server's analytics (live rollups, then rebuilt
from the orders) say €11.24 outstanding and the same overdue plan and amount (the
server said €19.18 before)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import analytics_local, approvals
from app.services.customers import CustomerDetails
from app.services.order_detail import order_detail
from app.services.sales import record_sale
from server.analytics import rebuild
from tests.sync.conftest import BACKENDS, Till

TEA, DOG_FOOD, DOWN = 794, 1124, 575


def _till_plans(till: Till, today: date) -> tuple[int, int, int]:
    d = analytics_local.dashboard(till.store, today, today, today)
    return d.plans_outstanding, d.plans_overdue, d.plans_overdue_amount


def _server_plans(till: Till, today: date) -> tuple[int, int, int]:
    with till.tenant.server.client() as c:
        r = c.get("/analytics/summary", headers=till.tenant.login(Role.OWNER), params={
            "date_from": today.isoformat(), "date_to": today.isoformat(),
            "store_id": till.tenant.store_id})
        assert r.status_code == 200, r.text
        p = r.json()["plans"]
        return p["outstanding"], p["overdue_count"], p["overdue_amount"]


@BACKENDS
def test_the_till_and_the_server_say_the_same_of_a_plan_after_goods_came_back(till_factory) -> None:  # type: ignore[no-untyped-def]
    till = till_factory("A")
    today = datetime.now(UTC).date()
    cart = Cart(tax_inclusive=True)
    for name, price in (("Green Tea", TEA), ("Dog Food", DOG_FOOD)):
        cart.add(CartLine(product_id=None, sku=None, name=name, unit_price=price,
                          tax_rate_ppm=230_000, qty_milli=1000))
    plan = make_plan(TEA + DOG_FOOD, DOWN, 2, today - timedelta(days=40), Interval.MONTHLY)
    assert plan.installments[0].due_date < today < plan.installments[1].due_date
    sale = record_sale(till.store, till.actor(), cart, [Tender(Method.CASH, DOWN)],
                       CustomerDetails(None, "Dana Doyle", "+353 87 111 2233"), plan=plan)
    till.sync()
    assert _till_plans(till, today) == _server_plans(till, today) == (
        TEA + DOG_FOOD - DOWN, 1, plan.installments[0].amount)

    tea = next(li.id for li in order_detail(till.store, sale.order_id).lines
               if li.name == "Green Tea")
    approvals.refund_with_override(till.store, till.actor(), till.actor(Role.MANAGER),
                                   sale.order_id, [approvals.RefundItem(tea, 1000)],
                                   "changed their mind")
    till.sync()
    # €2.19 of the tea not paid back counts as paid, against the first instalment
    expected = (DOG_FOOD, 1, plan.installments[0].amount - (TEA - DOWN))
    assert _till_plans(till, today) == expected
    assert _server_plans(till, today) == expected
    with till.tenant.server.ctx.writer.begin() as s:
        rebuild.rebuild(s, till.tenant.org_id)
    assert _server_plans(till, today) == expected
