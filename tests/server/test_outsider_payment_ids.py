"""A sale whose payment carries an id the server already holds (another order's, of
any store or organization, or the same sale's other payment) was applied with that
payment silently left out: the order stayed pending with less paid than the till took
(helper O, a client written from docs/ alone). docs/sync-protocol.md §4 refuses "a line
id another order holds" and, for payment.record, "the id of another order's payment";
a sale's own payments are judged the same way: the op is rejected, nothing written,
on both push paths (one op alone: the handler; several: the bulk writer)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Order, Payment
from tests.server.support import RunningServer, Tenant, make_tenant


def _status(result: dict[str, Any]) -> tuple[str, str]:
    return result["status"], result.get("reason") or ""


def _with_payment_id(op: dict[str, Any], pay_id: str) -> dict[str, Any]:
    op["payload"]["payments"][0]["id"] = pay_id
    return op


def _split_in_two(op: dict[str, Any], same_id: bool) -> dict[str, Any]:
    """The sale's one payment as two halves (the second with the first's id)."""
    first = op["payload"]["payments"][0]
    half = first["amount"] // 2
    second = dict(first, id=first["id"] if same_id else new_id(),
                  amount=first["amount"] - half, tendered=first["amount"] - half)
    first.update(amount=half, tendered=half)
    op["payload"]["payments"].append(second)
    return op


def _nothing_written(tenant: Tenant, *order_ids: str) -> None:
    with tenant.server.ctx.reader() as s:
        for oid in order_ids:
            assert s.get(Order, oid) is None, oid
            assert not s.scalar(select(func.count()).select_from(Payment)
                                .where(Payment.order_id == oid)), oid


def test_a_sale_carrying_another_orders_payment_id_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first = term.order_create(cashier, pay=True)
    assert _status(term.push([first])["results"][0])[0] == "applied"
    taken = first["payload"]["payments"][0]["id"]

    alone = _with_payment_id(term.order_create(cashier, pay=True), taken)
    (status, reason), = [_status(r) for r in term.push([alone])["results"]]
    assert status == "rejected", reason
    assert taken in reason and "another order" in reason, reason

    run = [term.order_create(cashier, pay=True),
           _with_payment_id(term.order_create(cashier, pay=True), taken),
           term.order_create(cashier, pay=True)]
    got = [_status(r) for r in term.push(run)["results"]]
    assert [s for s, _ in got] == ["applied", "rejected", "applied"], got
    assert taken in got[1][1], got
    _nothing_written(tenant, alone["entity_id"], run[1]["entity_id"])


def test_two_sales_of_one_push_never_share_a_payment(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    a, b = term.order_create(cashier, pay=True), term.order_create(cashier, pay=True)
    _with_payment_id(b, a["payload"]["payments"][0]["id"])
    got = [_status(r) for r in term.push([a, b])["results"]]
    assert [s for s, _ in got] == ["applied", "rejected"], got
    _nothing_written(tenant, b["entity_id"])


def test_a_sale_listing_one_payment_id_twice_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    alone = _split_in_two(term.order_create(cashier, pay=True), same_id=True)
    (status, reason), = [_status(r) for r in term.push([alone])["results"]]
    assert status == "rejected", reason
    run = [term.order_create(cashier, pay=True),
           _split_in_two(term.order_create(cashier, pay=True), same_id=True)]
    got = [_status(r) for r in term.push(run)["results"]]
    assert [s for s, _ in got] == ["applied", "rejected"], got
    _nothing_written(tenant, alone["entity_id"], run[1]["entity_id"])
    # two payments with their own ids are still one sale paid in full
    fine = _split_in_two(term.order_create(cashier, pay=True), same_id=False)
    assert _status(term.push([fine])["results"][0])[0] == "applied"
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, fine["entity_id"])
        assert order is not None and order.paid == fine["payload"]["total"]


def test_another_organizations_payment_id_is_refused_too(
        tenant: Tenant, server: RunningServer) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    theirs = term.order_create(cashier, pay=True)
    assert _status(term.push([theirs])["results"][0])[0] == "applied"
    with make_tenant(server) as other:
        mine = _with_payment_id(other.term.order_create(other.staff[Role.CASHIER], pay=True),
                                theirs["payload"]["payments"][0]["id"])
        (status, reason), = [_status(r) for r in other.term.push([mine])["results"]]
        assert status == "rejected", reason
        assert tenant.org_id not in reason and tenant.store_id not in reason, reason
        _nothing_written(other, mine["entity_id"])


def test_the_back_office_refuses_a_held_payment_id_too(tenant: Tenant) -> None:
    """POST /offline-orders runs the same decision: 422 rejected, no order written."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first = term.order_create(cashier, pay=True)
    assert _status(term.push([first])["results"][0])[0] == "applied"
    taken = first["payload"]["payments"][0]
    order_id = new_id()
    body = {k: v for k, v in term.order_create(cashier)["payload"].items() if k != "reference"}
    body.update(id=order_id, payments=[dict(taken, order_id=order_id)])
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    with tenant.server.client() as c:
        r = c.post("/offline-orders", headers=tenant.login(Role.MANAGER), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "rejected" and taken["id"] in r.json()["error"]["message"]
    _nothing_written(tenant, order_id)
