"""The approver's proof bound to the operation, checked on push (issue 12: "privileged
operations carry the approver's proof that the server can check, bound to the
operation; the same forged push is refused"). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from app.domain import approval_proof
from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry, Staff
from tests.server.support import PINS, Tenant, Terminal

FLAG = "unverified_approval"


def _delete(till: Terminal, order: dict[str, Any], approver: str) -> dict[str, Any]:
    return till.op("order.delete", order["entity_id"], approver,
                   {"reason": "void", "approved_by": approver})


def _proof_for(tenant: Tenant, op: dict[str, Any], pin: str, staff: str) -> dict[str, Any]:
    with tenant.server.ctx.reader() as s:
        salt = s.scalar(select(Staff.approval_salt).where(Staff.id == staff))
    key = approval_proof.derive_key(pin, salt)
    message = approval_proof.canonical_bytes(
        op_type=op["type"], entity_id=op["entity_id"], device_id=op["device_id"],
        op_id=op["op_id"], actor_id=op["actor_id"], payload=op["payload"])
    return approval_proof.make_proof(key, staff, message)


@pytest.fixture
def flag_policy(tenant: Tenant) -> Iterator[None]:
    settings = tenant.server.ctx.settings
    settings.approval_proof_policy = "flag"
    try:
        yield
    finally:
        settings.approval_proof_policy = "require"


def test_the_forged_manager_delete_from_a_manager_till_is_refused(tenant: Tenant) -> None:
    """The issue's push: an order.delete with a manager's actor_id and no proof."""
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    sale = till.order_create(cashier)
    forged = till.op("order.delete", sale["entity_id"], manager, {"reason": "void"})
    forged["approval_proof"] = None  # what a stolen till without the PIN can send
    later = till.order_create(cashier)
    results = till.push([sale, forged, later])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]  # queue flows
    assert "manager person's approval has no proof" in results[1]["reason"]
    assert "type their PIN" in results[1]["reason"]
    # the same op with the manager's real proof is applied
    proven = till.op("order.delete", sale["entity_id"], manager, {"reason": "void"})
    assert till.push([proven])["results"][0]["status"] == "applied"


def test_a_proof_made_for_one_op_does_not_fit_another(tenant: Tenant) -> None:
    """Each op carries the manager's real proof of an op that differs in one thing."""
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    other_till = tenant.enroll(name="Back counter", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    a, b = till.order_create(cashier), till.order_create(cashier)
    assert [r["status"] for r in till.push([a, b])["results"]] == ["applied"] * 2
    pin = PINS[Role.MANAGER]
    changes = [{"op_id": new_id()}, {"entity_id": b["entity_id"]},
               {"device_id": other_till.device_id}, {"actor_id": cashier},
               {"payload": {"reason": "other", "approved_by": manager}}]
    ops = []
    for change in changes:
        op = _delete(till, a, manager)
        ops.append(op | {"approval_proof": _proof_for(tenant, op | change, pin, manager)})
    results = till.push(ops)["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(changes), results
    assert all("does not fit this operation" in r["reason"] for r in results)
    # the same op with its own proof is applied
    op = _delete(till, a, manager)
    op["approval_proof"] = _proof_for(tenant, op, pin, manager)
    assert till.push([op])["results"][0]["status"] == "applied"


def test_a_wrong_pins_proof_is_refused(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    sale = till.order_create(cashier)
    op = _delete(till, sale, manager)
    op["approval_proof"] = _proof_for(tenant, op, "999999", manager)
    results = till.push([sale, op])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert "does not fit this operation or their current PIN" in results[1]["reason"]


def test_a_proof_by_someone_else_is_refused(tenant: Tenant) -> None:
    """The cashier's own valid MAC on the manager's approval does not count."""
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    sale = till.order_create(cashier)
    op = _delete(till, sale, manager)
    op["approval_proof"] = _proof_for(tenant, op, PINS[Role.CASHIER], cashier)
    assert "not manager person's" in till.push([sale, op])["results"][1]["reason"]
    bogus = till.op("order.delete", sale["entity_id"], cashier,
                    {"reason": "void", "approved_by": new_id()})
    result = till.push([bogus])["results"][0]
    assert result["status"] == "rejected" and "not a staff member" in result["reason"]


def test_an_approver_without_a_key_is_applied_and_flagged(tenant: Tenant) -> None:
    """Staff from before the upgrade (no PIN seen since): as before proofs, flagged."""
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    with tenant.server.ctx.writer.begin() as s:
        s.execute(update(Staff).where(Staff.id == manager)
                  .values(approval_key=None, approval_salt=None))
    sale = till.order_create(manager)  # seen on the till: only the missing key flags
    op = _delete(till, sale, manager)
    op["approval_proof"] = None
    results = till.push([sale, op])["results"]
    assert [(r["status"], FLAG in r["flags"]) for r in results] == [("applied", False),
                                                                   ("applied", True)]
    with tenant.server.ctx.reader() as s:
        reasons = list(s.scalars(select(AuditEntry.reason).where(
            AuditEntry.org_id == tenant.org_id, AuditEntry.action == "approval.unverified")))
    assert reasons and "no approval key" in reasons[0]


def test_the_flag_policy_applies_and_flags(tenant: Tenant, flag_policy: None) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    sale = till.order_create(manager)
    op = _delete(till, sale, manager)
    op["approval_proof"] = None
    results = till.push([sale, op])["results"]
    assert [(r["status"], FLAG in r["flags"]) for r in results] == [("applied", False),
                                                                   ("applied", True)]


def test_a_sign_in_by_pin_makes_the_missing_key_and_sends_the_salt(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    with tenant.server.ctx.writer.begin() as s:
        s.execute(update(Staff).where(Staff.id == manager)
                  .values(approval_key=None, approval_salt=None))
    _, cursor = till.pull_all()
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": manager, "pin": PINS[Role.MANAGER]},
                   headers=till.headers)
        assert r.status_code == 200, r.text
    changes, _ = till.pull_all(cursor)
    rows = [ch["data"] for ch in changes if ch["entity_type"] == "staff"]
    assert [row["id"] for row in rows] == [manager]
    assert rows[0]["approval_salt"].startswith("argon2id$") and "approval_key" not in rows[0]
    tenant.learn_key(manager, PINS[Role.MANAGER])  # the till derives it from the new salt
    sale = till.order_create(tenant.staff[Role.CASHIER])
    assert [r["status"] for r in till.push([sale, _delete(till, sale, manager)])["results"]] \
        == ["applied", "applied"]


def test_a_new_pin_makes_old_proofs_unfit(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    sale = till.order_create(tenant.staff[Role.CASHIER])
    old = _delete(till, sale, manager)
    old_proof = _proof_for(tenant, old, PINS[Role.MANAGER], manager)
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{manager}", json={"pin": "864209"}, headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    results = till.push([sale, old | {"approval_proof": old_proof}])["results"]
    assert results[1]["status"] == "rejected"
    again = _delete(till, sale, manager)
    again["approval_proof"] = _proof_for(tenant, again, "864209", manager)
    assert till.push([again])["results"][0]["status"] == "applied"


def test_the_envelope_field_is_in_the_openapi_document(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.get("/openapi.json")
        assert r.status_code == 200, r.text
        schemas = r.json()["components"]["schemas"]
    field = schemas["Operation"]["properties"]["approval_proof"]
    assert "approver's proof" in field["description"]
    assert set(schemas["ApprovalProof"]["properties"]) == {"kind", "by", "mac"}
