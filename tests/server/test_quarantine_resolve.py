"""The quarantine for managers (issue 15 item 4), on SQLite and PostgreSQL: a manager
(``sync.resolve``) finds an op by its op_id in one call, resubmits and dismisses (with a
reason, kept with who and when, in the answers and in the audit entry, so the journal)
the ops of the stores whose tills they work on; another store's or organization's entry
is not found (404), a cashier is refused (403), a blank or too long reason is 422, and a
manager may not vouch for an owner's op."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.domain.permissions import Role
from server.db.models import AuditEntry
from server.journal.chain import LINKS
from tests.server.support import PINS, Tenant, Terminal, make_tenant


def _refused(term: Terminal, tenant: Tenant, n: int = 1) -> list[dict[str, Any]]:
    """``n`` deletions by the cashier (who may not delete): refused into the quarantine."""
    cashier = tenant.staff[Role.CASHIER]
    ops: list[dict[str, Any]] = []
    for _ in range(n):
        order = term.order_create(cashier)
        ops += [order, term.op("order.delete", order["entity_id"], cashier, {"reason": "void"})]
    results = term.push(ops)["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"] * n, results
    return ops[1::2]


def _at_till(tenant: Tenant, term: Terminal, role: Role) -> dict[str, str]:
    """A sign-in at ``term`` (its token sent along, as the till does): the person is then
    seen working at that till's store."""
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": tenant.staff[role], "pin": PINS[role]},
                   headers=term.headers)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _find(c: httpx.Client, headers: dict[str, str], op: dict[str, Any],
          **extra: str) -> httpx.Response:
    return c.get("/sync/quarantine", headers=headers,
                 params={"op_id": op["op_id"], "device_id": op["device_id"]} | extra)


def _audit(tenant: Tenant, qid: str) -> dict[str, AuditEntry]:
    with tenant.server.ctx.reader() as s:
        entries = list(s.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "quarantine", AuditEntry.entity_id == qid)))
        for e in entries:
            s.expunge(e)
    return {e.action: e for e in entries}


def test_a_manager_resubmits_and_dismisses_with_a_reason_in_their_store(tenant: Tenant) -> None:
    first, second = _refused(tenant.term, tenant, 2)
    manager = _at_till(tenant, tenant.term, Role.MANAGER)
    with tenant.server.client() as c:
        # one call finds the op; an op_id of nothing is an empty answer
        r = _find(c, manager, first)
        assert r.status_code == 200, r.text
        [entry] = r.json()
        assert (entry["op_id"], entry["status"], entry["dismiss_reason"]) == \
            (first["op_id"], "open", None)
        assert "may not do order.delete" in entry["reason"]
        assert c.get("/sync/quarantine", headers=manager,
                     params={"op_id": "no-such-op"}).json() == []
        assert {q["op_id"] for q in c.get("/sync/quarantine", headers=manager).json()} == \
            {first["op_id"], second["op_id"]}

        # resubmitted, vouched for by the manager (the manager named as the actor)
        r = c.post(f"/sync/quarantine/{entry['id']}/resubmit", headers=manager,
                   json={"actor_id": tenant.staff[Role.MANAGER]})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["status"] == "applied"
        assert r.json()["quarantine"]["status"] == "resubmitted"
        assert r.json()["quarantine"]["resolved_by"] == tenant.staff[Role.MANAGER]
        assert _find(c, manager, first).json() == []  # open ones only, unless asked
        [done] = _find(c, manager, first, status="resubmitted").json()
        assert done["id"] == entry["id"]

        # dismissed: a reason is required, 1-500 characters
        [other] = _find(c, manager, second).json()
        path = f"/sync/quarantine/{other['id']}/dismiss"
        for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
            r = c.post(path, headers=manager, json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["code"] == "validation_error"
        assert c.post(path, headers=manager).status_code == 422  # no body at all
        assert _find(c, manager, second).json()[0]["status"] == "open"
        r = c.post(path, headers=manager, json={"reason": "  Sale was voided on paper "})
        assert r.status_code == 200, r.text
        gone = r.json()
        assert gone["status"] == "dismissed"
        assert gone["dismiss_reason"] == "Sale was voided on paper"
        assert gone["resolved_by"] == tenant.staff[Role.MANAGER] and gone["resolved_at"]
        [listed] = _find(c, manager, second, status="dismissed").json()
        assert listed["dismiss_reason"] == "Sale was voided on paper"
        assert listed["resolved_by"] == tenant.staff[Role.MANAGER]
        # once closed, closed: neither dismissed again nor resubmitted
        assert c.post(path, headers=manager, json={"reason": "again"}).status_code == 409
        assert c.post(f"/sync/quarantine/{other['id']}/resubmit", headers=manager,
                      json={}).status_code == 409
        # 500 characters are enough
        [third] = _refused(tenant.term, tenant)
        [q3] = _find(c, manager, third).json()
        r = c.post(f"/sync/quarantine/{q3['id']}/dismiss", headers=manager,
                   json={"reason": "y" * 500})
        assert r.status_code == 200 and r.json()["dismiss_reason"] == "y" * 500

    # each is audited by the person who did it, with the reason, and so journaled
    resubmitted = _audit(tenant, entry["id"])["quarantine.resubmit"]
    assert resubmitted.actor_id == tenant.staff[Role.MANAGER]
    assert resubmitted.op_id == first["op_id"] and resubmitted.store_id == tenant.store_id
    assert resubmitted.changes["status"] == ["open", "resubmitted"]
    assert resubmitted.changes["result"] == "applied"
    dismissed = _audit(tenant, other["id"])["quarantine.dismiss"]
    assert dismissed.reason == "Sale was voided on paper"
    assert dismissed.actor_id == tenant.staff[Role.MANAGER]
    assert dismissed.changes["status"] == ["open", "dismissed"]
    assert dismissed.changes["device_id"] == tenant.term.device_id
    with tenant.server.ctx.reader() as s:
        chained = set(s.scalars(select(LINKS.c.audit_id).where(LINKS.c.org_id == tenant.org_id)))
    assert {resubmitted.id, dismissed.id} <= chained


def test_another_store_or_organization_is_not_found_and_a_cashier_is_refused(
        tenant: Tenant) -> None:
    other_store = tenant.add_store()
    far_till = tenant.enroll(other_store, name="Far till")
    [here] = _refused(tenant.term, tenant)
    [there] = _refused(far_till, tenant)
    manager = _at_till(tenant, tenant.term, Role.MANAGER)  # works at the first store only
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        [far] = _find(c, owner, there).json()  # the owner sees every store
        [near] = _find(c, owner, here).json()
        # the manager: the other store's entry is not found, nor listed; naming its store
        # is 403 store_scope (the one rule of server/tenancy/scope.py)
        assert _find(c, manager, there).json() == []
        assert [q["op_id"] for q in c.get("/sync/quarantine", headers=manager).json()] == \
            [here["op_id"]]
        r = c.get("/sync/quarantine", headers=manager, params={"store_id": other_store})
        assert r.status_code == 403 and r.json()["error"]["code"] == "store_scope", r.text
        assert c.get("/sync/quarantine", headers=manager,
                     params={"store_id": tenant.store_id}).status_code == 200
        r = c.post(f"/sync/quarantine/{far['id']}/resubmit", headers=manager, json={})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
        r = c.post(f"/sync/quarantine/{far['id']}/dismiss", headers=manager,
                   json={"reason": "not mine"})
        assert r.status_code == 404, r.text

        # a cashier: refused, whatever the store
        cashier = _at_till(tenant, tenant.term, Role.CASHIER)
        for method, path, body in (
                ("GET", "/sync/quarantine", None),
                ("POST", f"/sync/quarantine/{near['id']}/resubmit", {}),
                ("POST", f"/sync/quarantine/{near['id']}/dismiss", {"reason": "no"})):
            r = c.request(method, path, headers=cashier, json=body)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["details"] == {"role": "cashier", "action": "sync.resolve"}

        # another organization's manager and owner: not found
        with make_tenant(tenant.server) as stranger:
            theirs = _at_till(stranger, stranger.term, Role.MANAGER)
            for headers in (theirs, stranger.login(Role.OWNER)):
                assert _find(c, headers, here).json() == []
                assert c.post(f"/sync/quarantine/{near['id']}/dismiss", headers=headers,
                              json={"reason": "not ours"}).status_code == 404
                assert c.post(f"/sync/quarantine/{near['id']}/resubmit", headers=headers,
                              json={}).status_code == 404
                assert c.get("/sync/quarantine", headers=headers,
                             params={"store_id": tenant.store_id}).status_code == 404
        # nothing of it changed
        assert _find(c, owner, here).json()[0]["status"] == "open"
        assert _find(c, owner, there).json()[0]["status"] == "open"


def test_a_manager_may_not_vouch_for_an_owner_s_op(tenant: Tenant) -> None:
    """An owner's op refused at a manager-ceiling till: a manager may not resubmit it as
    the owner (nor name the owner as its actor); an admin may (it is refused again there,
    the till's ceiling holding)."""
    till = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    op = till.order_create(tenant.staff[Role.OWNER])
    assert till.push([op])["results"][0]["status"] == "rejected"
    [mine] = _refused(till, tenant)
    manager = _at_till(tenant, till, Role.MANAGER)
    with tenant.server.client() as c:
        [entry] = _find(c, manager, op).json()
        r = c.post(f"/sync/quarantine/{entry['id']}/resubmit", headers=manager, json={})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"] == {"role": "manager", "action": "sync.admin"}
        [q] = _find(c, manager, mine).json()
        r = c.post(f"/sync/quarantine/{q['id']}/resubmit", headers=manager,
                   json={"actor_id": tenant.staff[Role.OWNER]})
        assert r.status_code == 403, r.text
        assert _find(c, manager, mine).json()[0]["status"] == "open"
        admin = tenant.login(Role.ADMIN)
        r = c.post(f"/sync/quarantine/{entry['id']}/resubmit", headers=admin, json={})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["status"] == "rejected"
        assert r.json()["quarantine"]["status"] == "open"
