"""Push: dedupe, results per op, gaps, permissions re-checked, flags and quarantine."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Action, Role, allowed
from server.db.models import Order, Payment
from tests.server.support import Tenant, line


def _count_orders(tenant: Tenant) -> int:
    with tenant.server.ctx.reader() as s:
        return s.scalar(select(func.count()).select_from(Order).where(
            Order.org_id == tenant.org_id)) or 0


def test_same_batch_pushed_twice_creates_one_order(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    ops = [term.order_create(cashier, pay=True), term.order_create(cashier)]
    first = term.push(ops)
    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    assert first["last_applied_seq"] == 2
    second = term.push(ops)
    assert [r["status"] for r in second["results"]] == ["duplicate", "duplicate"]
    assert [r["version"] for r in second["results"]] == [r["version"] for r in first["results"]]
    assert _count_orders(tenant) == 2
    with tenant.server.ctx.reader() as s:
        paid = s.scalars(select(Payment).where(Payment.order_id == ops[0]["entity_id"])).all()
    assert len(paid) == 1


def test_results_per_op_and_gap_reporting(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    a, b, c = (term.order_create(cashier) for _ in range(3))
    resp = term.push([a, c])  # op_seq 1 and 3: 2 is missing
    assert [r["op_seq"] for r in resp["results"]] == [1]
    assert resp["gap_from"] == 2 and resp["last_applied_seq"] == 1
    resp = term.push([b, c])
    assert [(r["op_seq"], r["status"]) for r in resp["results"]] == [(2, "applied"), (3, "applied")]
    assert resp["gap_from"] is None and resp["last_applied_seq"] == 3


def test_cashier_delete_is_rejected_and_queue_keeps_flowing(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    create = term.order_create(cashier)
    oid = create["entity_id"]
    delete = term.op("order.delete", oid, cashier, {"reason": "customer left"})
    later = term.order_create(cashier)
    resp = term.push([create, delete, later])
    statuses = [r["status"] for r in resp["results"]]
    assert statuses == ["applied", "rejected", "applied"]
    assert "may not do order.delete" in resp["results"][1]["reason"]
    assert resp["last_applied_seq"] == 3
    # quarantine shows it to admins; a fixed resubmit (a manager as actor) applies it
    admin = tenant.login(Role.ADMIN)
    with tenant.server.client() as c:
        q = c.get("/sync/quarantine", headers=admin).json()
        assert [item["op_id"] for item in q] == [delete["op_id"]]
        assert c.get("/sync/quarantine", headers=tenant.login(Role.CASHIER)).status_code == 403
        r = c.post(f"/sync/quarantine/{q[0]['id']}/resubmit",
                   json={"actor_id": tenant.staff[Role.MANAGER]}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["status"] == "applied"
        assert r.json()["quarantine"]["status"] == "resubmitted"
    # the resubmit's change reaches the store's feed (positioned at its commit)
    changes, _ = term.pull_all()
    versions = [c for c in changes if c["entity_type"] == "order" and c["entity_id"] == oid]
    assert versions[-1]["data"]["status"] == "deleted", versions[-1]
    again = term.push([delete])
    assert again["results"][0]["status"] == "duplicate"


@pytest.mark.parametrize("role", list(Role))
def test_delete_permission_for_every_role(tenant: Tenant, role: Role) -> None:
    term = tenant.term
    create = term.order_create(tenant.staff[Role.CASHIER])
    delete = term.op("order.delete", create["entity_id"], tenant.staff[role], {"reason": "void"})
    resp = term.push([create, delete])
    expected = "applied" if allowed(role, Action.ORDER_DELETE) else "rejected"
    assert resp["results"][1]["status"] == expected
    assert (role in (Role.OWNER, Role.ADMIN, Role.MANAGER)) == (expected == "applied")


def test_recorded_sale_is_never_refused(tenant: Tenant) -> None:
    term, cashier, stock = tenant.term, tenant.staff[Role.CASHIER], tenant.staff[Role.STOCK]
    pid = new_id()
    product = term.op("product.create", pid, stock, {
        "sku": "MILK", "name": "Milk", "price": 199, "tax_rate_ppm": 200_000})
    sale = term.order_create(cashier, lines=[line(pid, 150, 3000), line(new_id(), 500)], pay=True)
    resp = term.push([product, sale])
    assert [r["status"] for r in resp["results"]] == ["applied", "applied"]
    flags = set(resp["results"][1]["flags"])
    assert {"price_changed", "unknown_product", "negative_stock"} <= flags


def test_unknown_actor_and_bad_payload_are_rejected_with_reason(tenant: Tenant) -> None:
    term = tenant.term
    stranger = term.order_create(new_id())
    bad = term.op("payment.record", new_id(), tenant.staff[Role.CASHIER], {"amount": "lots"})
    resp = term.push([stranger, bad])
    assert [r["status"] for r in resp["results"]] == ["rejected", "rejected"]
    assert "not a staff member" in resp["results"][0]["reason"]
    assert "invalid PaymentData payload" in resp["results"][1]["reason"]


def test_payment_is_append_only_and_completes_order(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    create = term.order_create(cashier)
    oid = create["entity_id"]
    total = create["payload"]["total"]
    pay = term.op("payment.record", new_id(), cashier, {
        "id": new_id(), "order_id": oid, "method": "card", "amount": total, "tendered": total,
        "created_at": create["created_at"]})
    resp = term.push([create, pay])
    assert [r["status"] for r in resp["results"]] == ["applied", "applied"]
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, oid)
        assert order is not None and order.status == "completed" and order.paid == total
