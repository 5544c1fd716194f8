"""The server flags an approval on a till where the approver was never seen working
(issue 12: "the server flags unusual patterns"). On SQLite and PostgreSQL.

A staff member is seen on a till by an ordinary op pushed from it in their name (on the
handler and the bulk path) or by an online sign-in carrying its token
(``sightings.record_sign_in``); privileged ops never count as being seen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.context import TerminalPrincipal
from server.db.models import AuditEntry
from server.sync import sightings
from tests.server.support import PINS, Tenant, Terminal

FLAG = "unverified_approval"


def _unverified(tenant: Tenant) -> list[AuditEntry]:
    with tenant.server.ctx.reader() as s:
        rows = list(s.scalars(select(AuditEntry).where(
            AuditEntry.org_id == tenant.org_id, AuditEntry.action == "approval.unverified")))
        s.expunge_all()
        return rows


def _delete(till: Terminal, order: dict[str, Any], actor: str) -> dict[str, Any]:
    return till.op("order.delete", order["entity_id"], actor, {"reason": "void"})


def test_a_deletion_by_a_manager_never_seen_on_the_till_is_flagged(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    a, b = till.order_create(cashier), till.order_create(cashier)
    results = till.push([a, b, _delete(till, a, manager), _delete(till, b, manager)])["results"]
    assert [r["status"] for r in results] == ["applied"] * 4
    assert [r["flags"] for r in results[2:]] == [[FLAG], [FLAG]]  # the first never clears the next
    entries = _unverified(tenant)
    assert [(e.entity_id, e.device_id) for e in entries] == [(manager, till.device_id)] * 2
    assert {e.changes["op_id"] for e in entries} == {results[2]["op_id"], results[3]["op_id"]}


def test_a_manager_who_worked_on_the_till_is_not_flagged(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    sale = till.order_create(manager)  # a sale in the manager's name: the bulk path
    results = till.push([sale, _delete(till, sale, manager)])["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert FLAG not in results[0]["flags"] and results[1]["flags"] == []
    # seen on this till only: the same manager on another till is flagged there
    other = tenant.enroll(name="Other till", max_role=Role.MANAGER)
    sale2 = other.order_create(tenant.staff[Role.CASHIER])
    results = other.push([sale2, _delete(other, sale2, manager)])["results"]
    assert results[1]["flags"] == [FLAG]
    assert _unverified(tenant)[0].device_id == other.device_id


def _refund(order: dict[str, Any], approver: str) -> dict[str, Any]:
    li = order["payload"]["lines"][0]
    return {"refund_id": new_id(), "order_id": order["entity_id"],
            "lines": [{"line_id": li["id"], "qty_milli": 500, "amount": 100}],
            "amount": 100, "method": "cash", "restock": False, "reason": "broken",
            "approved_by": approver, "created_at": datetime.now(UTC).isoformat()}


def test_the_named_approver_of_a_refund_is_the_one_checked(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    sale = till.order_create(cashier, pay=True)
    first = till.op("refund.create", new_id(), cashier, _refund(sale, manager))
    results = till.push([sale, first])["results"]
    assert (results[1]["status"], results[1]["flags"]) == ("applied", [FLAG])
    # the manager takes a payment on this till (the handler path): seen from then on
    other = till.order_create(cashier)
    pay = till.op("payment.record", new_id(), manager, {
        "id": new_id(), "order_id": other["entity_id"], "method": "cash", "amount": 100,
        "tendered": 100, "change": 0, "created_at": datetime.now(UTC).isoformat()})
    second = till.op("refund.create", new_id(), cashier, _refund(sale, manager))
    results = till.push([other, pay, second])["results"]
    assert [r["status"] for r in results] == ["applied"] * 3, results
    assert results[2]["flags"] == []


def test_an_online_sign_in_at_the_till_counts_as_seen(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    principal = TerminalPrincipal(till.device_id, tenant.org_id, till.store_id, till.device_code)
    with tenant.server.ctx.writer.begin() as s:
        sightings.record_sign_in(s, principal, manager, "another org")  # ignored
    sale = till.order_create(tenant.staff[Role.CASHIER])
    assert till.push([sale, _delete(till, sale, manager)])["results"][1]["flags"] == [FLAG]
    with tenant.server.ctx.writer.begin() as s:
        sightings.record_sign_in(s, principal, manager, tenant.org_id)
    sale = till.order_create(tenant.staff[Role.CASHIER])
    assert till.push([sale, _delete(till, sale, manager)])["results"][1]["flags"] == []


def test_ordinary_ops_are_never_flagged(tenant: Tenant) -> None:
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    results = till.push([till.order_create(tenant.staff[role], pay=True)
                         for role in (Role.CASHIER, Role.MANAGER, Role.STOCK)])["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    assert all(FLAG not in r["flags"] for r in results)
    assert _unverified(tenant) == []


def test_signing_in_at_the_till_over_the_api_counts_as_seen(tenant: Tenant) -> None:
    """/auth/login with the till's token records the sighting (it was never called)."""
    till = tenant.enroll(name="Counter", max_role=Role.MANAGER)
    manager = tenant.staff[Role.MANAGER]
    sale = till.order_create(tenant.staff[Role.CASHIER])
    assert till.push([sale, _delete(till, sale, manager)])["results"][1]["flags"] == [FLAG]
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": manager, "pin": PINS[Role.MANAGER]},
                   headers=till.headers)
        assert r.status_code == 200, r.text
    sale = till.order_create(tenant.staff[Role.CASHIER])
    assert till.push([sale, _delete(till, sale, manager)])["results"][1]["flags"] == []
