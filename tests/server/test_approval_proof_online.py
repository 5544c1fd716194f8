"""The server-issued approver's proof (``kind: online``): a signed-in approver asks
``POST /sync/approval-proofs`` for one operation of one till; the push with it applies,
and it fits nothing else. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal


def _delete(till: Terminal, order: dict[str, Any], approver: str) -> dict[str, Any]:
    op = till.op("order.delete", order["entity_id"], approver,
                 {"reason": "void", "approved_by": approver})
    op["approval_proof"] = None  # no offline proof: the online one is asked for
    return op


def _ask(tenant: Tenant, role: Role, op: dict[str, Any]) -> Any:
    body = {k: op[k] for k in ("type", "op_id", "entity_id", "actor_id", "device_id", "payload")}
    with tenant.server.client() as c:
        return c.post("/sync/approval-proofs", json=body, headers=tenant.login(role))


def test_an_online_proof_is_applied_and_fits_its_op_only(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    a, b = till.order_create(cashier), till.order_create(cashier)
    assert [r["status"] for r in till.push([a, b])["results"]] == ["applied"] * 2
    op = _delete(till, a, manager)
    r = _ask(tenant, Role.MANAGER, op)
    assert r.status_code == 200, r.text
    proof = r.json()
    assert (proof["kind"], proof["by"]) == ("online", manager)
    other = _delete(till, b, manager) | {"approval_proof": proof}
    results = till.push([op | {"approval_proof": proof}, other])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"], results
    assert "does not fit this operation" in results[1]["reason"]
    # another till pushing the same op (its own device_id) with that proof: refused
    other_till = tenant.enroll(name="Back counter", max_role=Role.MANAGER)
    c = other_till.order_create(cashier)
    moved = _delete(other_till, c, manager) | {"approval_proof": proof}
    result = other_till.push([c, moved])["results"][1]
    assert result["status"] == "rejected" and "does not fit" in result["reason"]


def test_who_may_ask(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    sale = till.order_create(cashier)
    till.push([sale])
    cashier_op = _delete(till, sale, cashier)
    r = _ask(tenant, Role.CASHIER, cashier_op)
    assert r.status_code == 403 and "may not approve order.delete" in r.text
    r = _ask(tenant, Role.CASHIER, _delete(till, sale, manager))  # someone else's approval
    assert r.status_code == 403 and "approved by someone else" in r.text
    owner_op = _delete(till, sale, tenant.staff[Role.OWNER])
    r = _ask(tenant, Role.OWNER, owner_op)  # the owner is above this till's ceiling
    assert r.status_code == 403 and "takes up to manager" in r.text
    sale_op = till.order_create(manager)
    r = _ask(tenant, Role.MANAGER, sale_op)
    assert r.status_code == 422 and "needs no approver's proof" in r.text


def test_a_new_pin_ends_the_online_proofs_issued_before(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    sale = till.order_create(tenant.staff[Role.CASHIER])
    till.push([sale])
    op = _delete(till, sale, manager)
    proof = _ask(tenant, Role.MANAGER, op).json()
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{manager}", json={"pin": "864209"}, headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    result = till.push([op | {"approval_proof": proof}])["results"][0]
    assert result["status"] == "rejected"
