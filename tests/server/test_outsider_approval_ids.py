"""An approval.request whose approval id the organization already holds for another
request (another order's, or the other kind) was answered ``applied`` with the flag
``approval_already_recorded``: the cashier's new request never reached a manager (helper
O, a client written from docs/ alone; docs/sync-protocol.md §4: "idempotent by
approval_id (a second request with the same id: applied, flag approval_already_recorded)",
which holds for the same request). Another request's id is rejected; the same request
again is still the duplicate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Approval
from tests.server.support import Tenant


def _request(tenant: Tenant, order_id: str, approval_id: str, kind: str = "delete"
             ) -> dict[str, Any]:
    return tenant.term.op("approval.request", approval_id, tenant.staff[Role.CASHIER], {
        "approval_id": approval_id, "kind": kind, "order_id": order_id, "reason": "wrong",
        "details": {}, "requested_at": datetime.now(UTC).isoformat()})


def _result(tenant: Tenant, op: dict[str, Any]) -> tuple[str, list[str], str]:
    r = tenant.term.push([op])["results"][0]
    return r["status"], r["flags"], r.get("reason") or ""


def test_another_requests_approval_id_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first, second = term.order_create(cashier), term.order_create(cashier)
    assert [r["status"] for r in term.push([first, second])["results"]] == ["applied"] * 2
    approval_id = new_id()
    assert _result(tenant, _request(tenant, first["entity_id"], approval_id))[0] == "applied"
    assert _result(tenant, _request(tenant, first["entity_id"], approval_id))[:2] == (
        "applied", ["approval_already_recorded"])
    for op in (_request(tenant, second["entity_id"], approval_id),
               _request(tenant, first["entity_id"], approval_id, kind="refund")):
        status, _, reason = _result(tenant, op)
        assert status == "rejected" and approval_id in reason, reason
    with tenant.server.ctx.reader() as s:
        approval = s.get(Approval, approval_id)
        assert approval is not None
        assert (approval.order_id, approval.kind) == (first["entity_id"], "delete")
