"""A refund.create whose refund id the server already holds for a refund of another
order (of any organization) was answered ``applied`` with the flag
``refund_already_recorded`` and nothing written: the till paid the customer back, the
server's order shows nothing refunded (helper O, a client written from docs/ alone).
payment.record refuses another order's payment id (docs/sync-protocol.md §4); a refund
id is the same: the same refund again (same order) is a duplicate, another order's is
rejected, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Order
from tests.server.support import RunningServer, Tenant, make_tenant


def _paid_sale(tenant: Tenant) -> dict[str, Any]:
    sale = tenant.term.order_create(tenant.staff[Role.CASHIER], pay=True)
    assert tenant.term.push([sale])["results"][0]["status"] == "applied"
    return sale


def _refund(tenant: Tenant, sale: dict[str, Any], refund_id: str) -> dict[str, Any]:
    li = sale["payload"]["lines"][0]
    return tenant.term.op("refund.create", refund_id, tenant.staff[Role.MANAGER], {
        "refund_id": refund_id, "order_id": sale["entity_id"],
        "lines": [{"line_id": li["id"], "qty_milli": 1000, "amount": 100}], "amount": 100,
        "method": "cash", "restock": False, "reason": "broken",
        "created_at": datetime.now(UTC).isoformat()})


def _result(tenant: Tenant, op: dict[str, Any]) -> tuple[str, list[str], str]:
    r = tenant.term.push([op])["results"][0]
    return r["status"], r["flags"], r.get("reason") or ""


def _refunded(tenant: Tenant, order_id: str) -> int:
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, order_id)
        assert order is not None
        return order.refunded


def test_another_orders_refund_id_is_refused_the_same_refund_is_a_duplicate(
        tenant: Tenant) -> None:
    first, second = _paid_sale(tenant), _paid_sale(tenant)
    refund_id = new_id()
    assert _result(tenant, _refund(tenant, first, refund_id))[0] == "applied"
    status, flags, _ = _result(tenant, _refund(tenant, first, refund_id))
    assert status == "applied" and "refund_already_recorded" in flags, flags
    status, _, reason = _result(tenant, _refund(tenant, second, refund_id))
    assert status == "rejected" and refund_id in reason, reason
    assert (_refunded(tenant, first["entity_id"]), _refunded(tenant, second["entity_id"])) == (
        100, 0)


def test_another_organizations_refund_id_is_refused(
        tenant: Tenant, server: RunningServer) -> None:
    theirs = _paid_sale(tenant)
    refund_id = new_id()
    assert _result(tenant, _refund(tenant, theirs, refund_id))[0] == "applied"
    with make_tenant(server) as other:
        mine = _paid_sale(other)
        status, _, reason = _result(other, _refund(other, mine, refund_id))
        assert status == "rejected", reason
        assert tenant.org_id not in reason and theirs["entity_id"] not in reason, reason
        assert _refunded(other, mine["entity_id"]) == 0
