"""What a customer owes after a refund that gave back less money than the goods were worth
(helper K at the till: a plan's order of tea €7.94 and dog food €11.24, €5.75 down; the
tea comes back with the €5.75 collected; the customer keeps the dog food and owes €11.24,
not €13.43). The server's balance (the back office's payment cap, the order's status)
is the till's rule on the same data (app/domain/order_balance.py): a hypothesis test
pushes random orders and refunds and compares the two. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain import order_balance, order_rules
from app.domain.ids import new_id
from app.domain.order_status import status_for_balance
from app.domain.permissions import Role
from app.store.models import Order as TillOrder
from app.store.models import OrderLine as TillLine
from server.db.models import Order
from server.sync.orders import returned_of
from tests.server.support import Tenant, Terminal, line

TEA, DOG_FOOD, DOWN = 794, 1124, 575


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _sale(term: Terminal, actor: str, lines: list[dict[str, Any]], paid: int) -> dict[str, Any]:
    op = term.order_create(actor, lines=lines)
    if paid:
        op["payload"]["payments"] = [{"id": new_id(), "order_id": op["entity_id"],
                                      "method": "cash", "amount": paid, "tendered": paid,
                                      "change": 0, "created_at": _now()}]
    assert term.push([op])["results"][0]["status"] == "applied"
    return op


def _refund(term: Terminal, actor: str, order_id: str, amount: int,
            lines: list[dict[str, Any]]) -> dict[str, Any]:
    rid = new_id()
    op = term.op("refund.create", rid, actor, {
        "refund_id": rid, "order_id": order_id, "amount": amount, "method": "cash",
        "restock": False, "reason": "brought back", "created_at": _now(), "lines": lines})
    result = term.push([op])["results"][0]
    assert result["status"] == "applied", result
    return op


def _server_order(tenant: Tenant, order_id: str) -> tuple[str, int]:
    """(status, what is owed) as the server has them."""
    with tenant.server.ctx.reader() as s:
        order = s.scalars(select(Order).where(Order.id == order_id)).one()
        owed = order_balance.owed(order.total, order.paid, order.refunded, returned_of(s, order))
        return order.status, owed


def _pay(tenant: Tenant, order_id: str, amount: int) -> Any:
    with tenant.server.client() as c:
        return c.post(f"/offline-orders/{order_id}/payments", headers=tenant.login(Role.OWNER),
                      json={"id": new_id(), "method": "card", "amount": amount})


def test_goods_brought_back_and_not_paid_back_are_not_owed(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    tea, dog = line(None, TEA, tax_rate_ppm=0), line(None, DOG_FOOD, tax_rate_ppm=0)
    op = _sale(term, owner, [tea, dog], DOWN)
    oid = op["entity_id"]
    _refund(term, owner, oid, DOWN, [{"line_id": tea["id"], "qty_milli": 1000, "amount": TEA}])
    assert _server_order(tenant, oid) == ("pending", DOG_FOOD)
    too_much = _pay(tenant, oid, DOG_FOOD + 1)  # the balance was 13.43 before
    assert too_much.status_code == 422, too_much.text
    assert "cannot be more than the balance due" in too_much.text
    paid_off = _pay(tenant, oid, DOG_FOOD)
    assert paid_off.status_code in (200, 201), paid_off.text
    assert _server_order(tenant, oid) == ("completed", 0)


def test_a_pending_order_all_brought_back_owes_nothing_and_can_be_deleted(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    tea, dog = line(None, TEA, tax_rate_ppm=0), line(None, DOG_FOOD, tax_rate_ppm=0)
    oid = _sale(term, owner, [tea, dog], DOWN)["entity_id"]
    _refund(term, owner, oid, DOWN, [{"line_id": tea["id"], "qty_milli": 1000, "amount": TEA},
                                     {"line_id": dog["id"], "qty_milli": 1000, "amount": DOG_FOOD}])
    assert _server_order(tenant, oid) == ("pending", 0)
    delete = term.op("order.delete", oid, owner, {"reason": "all brought back"})
    assert term.push([delete])["results"][0]["status"] == "applied"


def test_a_refund_of_money_alone_is_never_owed_again(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    oid = _sale(term, owner, [line(None, 1000, tax_rate_ppm=0)], 1000)["entity_id"]
    _refund(term, owner, oid, 300, [])  # goodwill: the price comes down
    assert _server_order(tenant, oid) == ("completed", 0)


# ---------------------------------------------------------------- the till's rule = the server's


@st.composite
def orders_and_refunds(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int, list[Any]]:
    """Lines (unit price, quantity), the share paid (percent), and refunds: each a list of
    (line, quantity) and how its money is chosen (the till's cap, less, or money alone)."""
    lines = draw(st.lists(st.tuples(st.integers(1, 5000), st.sampled_from([1000, 2000, 3000, 1500])),
                          min_size=1, max_size=3))
    share = draw(st.sampled_from([0, 10, 30, 50, 99, 100]))
    refunds = draw(st.lists(st.tuples(
        st.lists(st.tuples(st.integers(0, len(lines) - 1), st.integers(1, 3000)), max_size=2),
        st.sampled_from(["till", "less", "money"])), max_size=3))
    return lines, share, refunds


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=orders_and_refunds())
def test_the_server_owes_what_the_till_owes(tenant: Tenant, case: Any) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    specs, share, refunds = case
    lines = [line(None, price, qty, tax_rate_ppm=0) for price, qty in specs]
    paid = sum(li["total"] for li in lines) * share // 100
    oid = _sale(term, owner, lines, paid)["entity_id"]
    till = TillOrder(total=sum(li["total"] for li in lines), paid=paid, refunded=0)
    till.lines = [TillLine(id=li["id"], total=li["total"], qty_milli=li["qty_milli"],
                           refunded_qty_milli=0) for li in lines]
    till.status = status_for_balance(till.total, paid).value
    for items, how in refunds:
        taken = _till_refund(till, items, how)
        if taken is not None:
            _refund(term, owner, oid, *taken)
    assert _server_order(tenant, oid) == (till.status, till.balance)


def _till_refund(till: TillOrder, items: list[tuple[int, int]], how: str
                 ) -> tuple[int, list[dict[str, Any]]] | None:
    """The refund as the till makes it (app/services/approvals.py), applied to ``till``;
    None when the till would refuse it (nothing left of a line, nothing collected)."""
    priced: list[dict[str, Any]] = []
    taken: dict[int, int] = {}
    for index, qty in items if how != "money" else []:
        li = till.lines[index]
        already = li.refunded_qty_milli + taken.get(index, 0)
        if already + qty > li.qty_milli:
            return None
        priced.append({"line_id": li.id, "qty_milli": qty, "amount": order_balance.refund_line_amount(
            li.total, li.qty_milli, already, qty)})
        taken[index] = taken.get(index, 0) + qty
    held = till.paid - till.refunded
    value = sum(p["amount"] for p in priced)
    amount = {"till": min(value, held), "less": min(value, held) // 2, "money": held // 3}[how]
    if not priced and amount <= 0:
        return None
    for index, qty in taken.items():
        till.lines[index].refunded_qty_milli += qty
    till.refunded += amount
    till.status = order_rules.next_status(till.status, till.total, till.paid, till.refunded,
                                          till.returned).value
    return amount, priced
