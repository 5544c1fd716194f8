"""What /analytics/summary says a plan still owes after goods came back is the order's own
rule (app/domain/order_balance.py), at push time and after a rebuild, on SQLite and
PostgreSQL.

Helper K's order: tea €7.94 and dog food €11.24 on a plan, €5.75 down in cash; the tea
comes back with the €5.75 collected (the refund is capped at it). The customer keeps the
dog food and owes €11.24 (the analytics said €19.18: total less paid-minus-refunded).
Of the two instalments (€6.72 ten days ago, €6.71 in a year), €2.19 of the tea not paid
back counts as paid: €4.53 of the first is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.analytics import rebuild
from server.analytics.consumer import ORDERS
from tests.server.analytics_check import compare, recompute
from tests.server.support import Tenant, Terminal, line
from tests.server.test_analytics_push_vs_rebuild import _rollups

TEA, DOG_FOOD, DOWN = 794, 1124, 575
FIRST, SECOND = 672, 671  # the €13.43 left after the down payment


def _plan_sale(term: Terminal, actor: str, today: date) -> dict[str, Any]:
    """K's sale as a till pushes it: two lines, the down payment, two instalments."""
    tea, dog = line(None, TEA, tax_rate_ppm=0), line(None, DOG_FOOD, tax_rate_ppm=0)
    op = term.order_create(actor, lines=[tea, dog])
    p, now = op["payload"], datetime.now(UTC).isoformat()
    assert p["total"] == TEA + DOG_FOOD == DOWN + FIRST + SECOND
    p["payments"] = [{"id": new_id(), "order_id": op["entity_id"], "method": "cash",
                      "amount": DOWN, "tendered": DOWN, "change": 0, "created_at": now}]
    p["installments"] = [
        {"id": new_id(), "number": n + 1, "due_date": d.isoformat(), "amount": a}
        for n, (d, a) in enumerate(((today - timedelta(days=10), FIRST),
                                    (today + timedelta(days=400), SECOND)))]
    p["customer"] = {"id": new_id(), "name": "Dana Doyle", "phone": "+353 87 111 2233"}
    return op


def _tea_back(term: Terminal, actor: str, approver: str, sale: dict[str, Any]) -> dict[str, Any]:
    tea = sale["payload"]["lines"][0]
    rid = new_id()
    return term.op("refund.create", rid, actor, {
        "refund_id": rid, "order_id": sale["entity_id"], "amount": DOWN, "method": "cash",
        "restock": False, "reason": "changed their mind", "approved_by": approver,
        "created_at": datetime.now(UTC).isoformat(),
        "lines": [{"line_id": tea["id"], "qty_milli": 1000, "amount": DOWN}]})


def _summary(tenant: Tenant, today: date) -> dict[str, Any]:
    with tenant.server.client() as c:
        r = c.get("/analytics/summary", headers=tenant.login(Role.OWNER), params={
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": (today + timedelta(days=1)).isoformat(), "store_id": tenant.store_id})
        assert r.status_code == 200, r.text
        return r.json()


def _order_rows(tenant: Tenant) -> dict[str, tuple[Any, ...]]:
    """analytics_orders of the store: what each order added and whether its plan is open."""
    with tenant.server.ctx.reader() as s:
        return {row.order_id: (row.facts, row.total, row.paid, row.refunded, row.plan_open)
                for row in s.execute(select(ORDERS).where(ORDERS.c.store_id == tenant.store_id))}


def test_a_plan_owes_what_the_order_owes_after_goods_came_back(tenant: Tenant) -> None:
    owner, manager = tenant.staff[Role.OWNER], tenant.staff[Role.MANAGER]
    today = datetime.now(UTC).date()
    sale = _plan_sale(tenant.term, owner, today)  # the bulk writer's push
    assert tenant.term.push([sale])["results"][0]["status"] == "applied"
    before = _summary(tenant, today)["plans"]
    assert (before["outstanding"], before["overdue_count"], before["overdue_amount"]) == (
        TEA + DOG_FOOD - DOWN, 1, FIRST)
    result = tenant.term.push([_tea_back(tenant.term, owner, manager, sale)])["results"][0]
    assert result["status"] == "applied", result

    pushed, rows, rollups = _summary(tenant, today), _order_rows(tenant), _rollups(tenant)
    plans = pushed["plans"]
    assert (plans["outstanding"], plans["overdue_count"], plans["overdue_amount"]) == (
        DOG_FOOD, 1, FIRST - (TEA - DOWN))
    assert rows[sale["entity_id"]][4] is True  # still open: €11.24 owed
    with tenant.server.ctx.reader() as s:  # the plain recomputation from the orders
        compare(pushed, recompute(s, tenant.store_id, "UTC", today - timedelta(days=1),
                                  today + timedelta(days=1), "day", today))

    with tenant.server.ctx.writer.begin() as s:
        rebuild.rebuild(s, tenant.org_id)
    assert _summary(tenant, today) == pushed
    assert _order_rows(tenant) == rows
    assert _rollups(tenant) == rollups


def test_a_plan_paid_off_after_goods_came_back_is_closed(tenant: Tenant) -> None:
    owner, manager = tenant.staff[Role.OWNER], tenant.staff[Role.MANAGER]
    today = datetime.now(UTC).date()
    sale = _plan_sale(tenant.term, owner, today)
    assert tenant.term.push([sale])["results"][0]["status"] == "applied"
    assert tenant.term.push([_tea_back(tenant.term, owner, manager, sale)]
                            )["results"][0]["status"] == "applied"
    with tenant.server.client() as c:  # the back office takes the €11.24 owed
        r = c.post(f"/offline-orders/{sale['entity_id']}/payments",
                   headers=tenant.login(Role.OWNER),
                   json={"id": new_id(), "method": "card", "amount": DOG_FOOD})
        assert r.status_code == 201, r.text
    plans = _summary(tenant, today)["plans"]
    assert (plans["outstanding"], plans["overdue_count"], plans["overdue_amount"]) == (0, 0, 0)
    rows = _order_rows(tenant)
    assert rows[sale["entity_id"]][4] is False  # the analytics keep no open plan for it
    with tenant.server.ctx.writer.begin() as s:
        rebuild.rebuild(s, tenant.org_id)
    assert _order_rows(tenant) == rows
