"""Back-office REST (issue 5): every role x every action, as the permission table says,
and the domain events each action publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from app.domain.ids import new_id, order_reference
from app.domain.permissions import Action, Role, allowed
from server.db.models import Event
from tests.server.support import Tenant, line


def _order_body(tenant: Tenant, n: int) -> dict[str, Any]:
    li = line(None, 500, 1000)
    return {"id": new_id(), "reference": order_reference("ZZ", n), "store_id": tenant.store_id,
            "currency": "EUR", "tax_inclusive": True, "lines": [li],
            "subtotal": li["total"], "discount": 0, "tax": li["tax"], "total": li["total"],
            "created_at": datetime.now(UTC).isoformat()}


def _pushed_order(tenant: Tenant, pay: bool = False) -> dict[str, Any]:
    op = tenant.term.order_create(tenant.staff[Role.OWNER], pay=pay)
    assert tenant.term.push([op])["results"][0]["status"] == "applied"
    return op


def _request_delete(tenant: Tenant, order_id: str) -> str:
    term = tenant.term
    aid = new_id()
    op = term.op("approval.request", aid, tenant.staff[Role.CASHIER], {
        "approval_id": aid, "kind": "delete", "order_id": order_id, "reason": "wrong item",
        "requested_at": datetime.now(UTC).isoformat()})
    assert term.push([op])["results"][0]["status"] == "applied"
    return aid


def _actions(c: httpx.Client, tenant: Tenant, role: Role, h: dict[str, str]) -> dict[str, int]:
    """Each back-office action once as ``role``; the HTTP status of each."""
    pending, paid = _pushed_order(tenant), _pushed_order(tenant, pay=True)
    with tenant.server.client() as oc:
        detail = oc.get(f"/offline-orders/{paid['entity_id']}",
                        headers=tenant.login(Role.OWNER)).json()["order"]
    li = detail["lines"][0]
    approval = _request_delete(tenant, _pushed_order(tenant)["entity_id"])
    oid = pending["entity_id"]
    unpaid = _pushed_order(tenant)["entity_id"]
    out = {
        "create": c.post("/offline-orders", json=_order_body(tenant, 100 + len(role)),
                         headers=h).status_code,
        "list": c.get("/offline-orders", headers=h).status_code,
        "get": c.get(f"/offline-orders/{oid}", headers=h).status_code,
        "patch": c.patch(f"/offline-orders/{oid}", headers=h, json={
            "fields": {"note": {"base": None, "value": f"by {role.value}"}}}).status_code,
        "pay": c.post(f"/offline-orders/{oid}/payments", headers=h, json={
            "id": new_id(), "method": "cash", "amount": 100}).status_code,
        "payments": c.get(f"/offline-orders/{oid}/payments", headers=h).status_code,
        "refund": c.post(f"/offline-orders/{paid['entity_id']}/refunds", headers=h, json={
            "refund_id": new_id(), "amount": li["total"], "reason": "faulty item",
            "lines": [{"line_id": li["id"], "qty_milli": 1000, "amount": li["total"]}],
        }).status_code,
        "approvals": c.get("/approvals", headers=h).status_code,
        "decide": c.post(f"/approvals/{approval}/decide", headers=h,
                         json={"approved": True, "note": "ok"}).status_code,
        # (oid took a payment above: an order with money collected is not deleted)
        "delete": c.request("DELETE", f"/offline-orders/{unpaid}", headers=h,
                            json={"reason": "entered twice"}).status_code,
    }
    return out


def _expected(role: Role) -> dict[str, int]:
    def ok(action: Action, code: int = 200) -> int:
        return code if allowed(role, action) else 403

    refund = 201 if allowed(role, Action.REFUND_APPROVE) else ok(Action.REFUND_REQUEST, 202)
    return {
        "create": ok(Action.SALE_CREATE, 201), "list": ok(Action.ORDER_VIEW),
        "get": ok(Action.ORDER_VIEW), "patch": ok(Action.ORDER_EDIT),
        "pay": ok(Action.PAYMENT_RECORD, 201), "payments": ok(Action.ORDER_VIEW),
        "refund": refund, "approvals": ok(Action.APPROVAL_DECIDE),
        "decide": ok(Action.APPROVAL_DECIDE), "delete": ok(Action.ORDER_DELETE),
    }


def test_every_role_and_action_follows_the_permission_table(tenant: Tenant) -> None:
    tenant.seen_at(*Role)  # everyone works at the store's till
    got, want = {}, {}
    with tenant.server.client() as c:
        for role in Role:
            got[role.value] = _actions(c, tenant, role, tenant.login(role))
            want[role.value] = _expected(role)
    assert got == want
    assert got["cashier"]["delete"] == 403 and got["cashier"]["refund"] == 202
    with tenant.server.ctx.reader() as s:
        types = set(s.scalars(select(Event.type).where(Event.org_id == tenant.org_id)))
    assert {"offline_order.created", "offline_order.updated", "offline_order.deleted",
            "payment.received", "refund.created", "approval.requested",
            "approval.decided"} <= types


def test_backoffice_edits_merge_conflict_and_approval_queue(tenant: Tenant) -> None:
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    order = _pushed_order(tenant)
    oid = order["entity_id"]
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.patch(f"/offline-orders/{oid}", headers=h,
                    json={"fields": {"note": {"base": None, "value": "gift wrap"}}})
        assert r.status_code == 200 and r.json()["order"]["note"] == "gift wrap"
        r = c.patch(f"/offline-orders/{oid}", headers=h,  # stale base: a conflict, kept
                    json={"fields": {"note": {"base": None, "value": "no wrap"}}})
        assert r.status_code == 409 and r.json()["error"]["details"]["conflict_id"]
        conflicts = c.get("/conflicts", headers=h, params={"status": "open"}).json()
        assert any(x["entity_id"] == oid for x in conflicts)
        r = c.post("/offline-orders", json=_order_body(tenant, 7), headers=h)
        assert r.status_code == 201
        again = c.post("/offline-orders", json=r.json()["order"] | {"id": r.json()["order"]["id"]},
                       headers=h)
        assert again.status_code in (409, 422)
        aid = _request_delete(tenant, oid)
        queue = c.get("/approvals", headers=h).json()
        assert [a["id"] for a in queue] == [aid]
        r = c.post(f"/approvals/{aid}/decide", headers=h, json={"approved": False, "note": "no"})
        assert r.status_code == 200 and r.json()["approval"]["status"] == "rejected"
        r = c.post(f"/approvals/{aid}/decide", headers=h, json={"approved": True})
        assert r.status_code == 409
        assert c.get("/approvals", headers=h).json() == []
        pays = c.get(f"/offline-orders/{oid}/payments", headers=h).json()
        assert pays == []
