"""The back office's store scope, on SQLite and PostgreSQL: a manager (or a cashier) sees
to the orders, approval requests and conflicts of the stores whose tills they were seen
working on only (server/tenancy/scope.py), as the analytics and the quarantine: another
store's records are neither listed nor found (404), nor written; a store named in the
request out of scope is 403 ``store_scope``. An owner or admin reaches every store.

Found by a client written from the docs: a manager seen only at store A1 listed A2's
approval requests and approved one (deleting an A2 order), resolved A2's conflicts and
read A2's orders with their customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal, line

CUSTOMER = {"name": "Ada Lovelace", "phone": "+353 1 555 0101"}


@dataclass
class StoreRecords:
    """One store's records: a pending order with a customer (and a delete request on
    it), an unpaid order to edit and pay, a paid one to refund (its line), and an open
    conflict on a fourth."""

    store_id: str
    till: Terminal
    order: str
    unpaid: str
    paid: str
    paid_line: dict[str, Any]
    approval: str
    conflict: str


def _records(tenant: Tenant, till: Terminal) -> StoreRecords:
    """Pushed by the owner (so neither the manager nor the cashier is seen there)."""
    owner = tenant.staff[Role.OWNER]
    ops = [till.order_create(owner, pay=pay) for pay in (False, False, True, False)]
    ops[0]["payload"]["customer"] = CUSTOMER | {"id": new_id()}
    order, unpaid, paid, edited = (op["entity_id"] for op in ops)
    aid = new_id()
    ops.append(till.op("approval.request", aid, owner, {
        "approval_id": aid, "kind": "delete", "order_id": order, "reason": "entered twice",
        "requested_at": datetime.now(UTC).isoformat()}))
    for note in ("gift wrap", "no wrap"):  # the same base twice: the second is a conflict
        ops.append(till.op("order.update", edited, owner,
                           {"fields": {"note": {"base": None, "value": note}}}))
    results = till.push(ops)["results"]
    assert [r["status"] for r in results] == ["applied"] * 6 + ["conflict"], results
    return StoreRecords(till.store_id, till, order, unpaid, paid,
                        ops[2]["payload"]["lines"][0], aid, results[-1]["conflict_id"])


@pytest.fixture
def stores(tenant: Tenant) -> tuple[StoreRecords, StoreRecords]:
    """Store A1 (the tenant's first, its till) and store A2 (a till of its own)."""
    a2_till = tenant.enroll(tenant.add_store("Store A2"), name="A2 till")
    return _records(tenant, tenant.term), _records(tenant, a2_till)


def _at_till(tenant: Tenant, role: Role, till: Terminal) -> dict[str, str]:
    """``role`` signed in at ``till`` (its token sent, as a till does): seen there."""
    tenant.seen_at(role, term=till)
    return tenant.login(role)


def _order_body(store_id: str) -> dict[str, Any]:
    li = line(None, 500, 1000)
    return {"id": new_id(), "store_id": store_id, "currency": "EUR", "tax_inclusive": True,
            "lines": [li], "subtotal": li["total"], "discount": 0, "tax": li["tax"],
            "total": li["total"], "created_at": datetime.now(UTC).isoformat()}


def _lists(c: httpx.Client, h: dict[str, str]) -> tuple[set[str], set[str], set[str]]:
    """The stores of the orders, approval requests and conflicts listed to ``h``."""
    orders = c.get("/offline-orders", headers=h, params={"limit": 1000})
    approvals = c.get("/approvals", headers=h)
    conflicts = c.get("/conflicts", headers=h)
    for r in (orders, approvals, conflicts):
        assert r.status_code == 200, r.text
    return ({o["store_id"] for o in orders.json()["items"]},
            {a["store_id"] for a in approvals.json()},
            {x["store_id"] for x in conflicts.json()})


def _writes(c: httpx.Client, h: dict[str, str], rec: StoreRecords) -> dict[str, httpx.Response]:
    """Every back-office read and write of one store's records, once."""
    o, li = f"/offline-orders/{rec.order}", rec.paid_line
    return {
        "get": c.get(o, headers=h),
        "payments": c.get(f"{o}/payments", headers=h),
        "patch": c.patch(f"/offline-orders/{rec.unpaid}", headers=h,
                         json={"fields": {"note": {"base": None, "value": "mine"}}}),
        "pay": c.post(f"/offline-orders/{rec.unpaid}/payments", headers=h,
                      json={"id": new_id(), "method": "cash", "amount": 100}),
        "refund": c.post(f"/offline-orders/{rec.paid}/refunds", headers=h, json={
            "refund_id": new_id(), "amount": li["total"], "reason": "faulty",
            "lines": [{"line_id": li["id"], "qty_milli": li["qty_milli"],
                       "amount": li["total"]}]}),
        "resolve": c.post(f"/conflicts/{rec.conflict}/resolve", headers=h,
                          json={"choice": "server"}),
        "decide": c.post(f"/approvals/{rec.approval}/decide", headers=h,
                         json={"approved": True, "note": "ok"}),
    }


def _untouched(c: httpx.Client, owner: dict[str, str], rec: StoreRecords) -> None:
    order = c.get(f"/offline-orders/{rec.order}", headers=owner).json()["order"]
    assert order["status"] == "pending", order
    unpaid = c.get(f"/offline-orders/{rec.unpaid}", headers=owner).json()["order"]
    assert unpaid["note"] is None and unpaid["paid"] == 0, unpaid
    paid = c.get(f"/offline-orders/{rec.paid}", headers=owner).json()["order"]
    assert paid["refunded"] == 0, paid
    assert rec.approval in {a["id"] for a in c.get("/approvals", headers=owner).json()}
    assert rec.conflict in {x["id"] for x in c.get("/conflicts", headers=owner).json()}


def test_a_manager_seen_at_one_store_lists_only_its_records(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords]) -> None:
    a1, a2 = stores
    manager = _at_till(tenant, Role.MANAGER, a1.till)
    with tenant.server.client() as c:
        assert _lists(c, manager) == ({a1.store_id},) * 3
        for path in ("/offline-orders", "/approvals", "/conflicts"):
            r = c.get(path, headers=manager, params={"store_id": a2.store_id})
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "store_scope"
            assert r.json()["error"]["details"] == {"store_id": a2.store_id}
            assert c.get(path, headers=manager,
                         params={"store_id": a1.store_id}).status_code == 200
        # the customer of A2's order is never shown, nor found by phone
        found = c.get("/offline-orders", headers=manager, params={"phone": CUSTOMER["phone"]})
        assert [o["id"] for o in found.json()["items"]] == [a1.order]
        assert found.json()["total"] == 1
        r = c.get("/offline-orders", headers=manager, params={"store_id": new_id()})
        assert r.status_code == 404  # not a store of the organization


def test_a_manager_cannot_read_or_write_another_store_s_records(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords]) -> None:
    a1, a2 = stores
    manager = _at_till(tenant, Role.MANAGER, a1.till)
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        answers = _writes(c, manager, a2)
        delete = c.request("DELETE", f"/offline-orders/{a2.order}", headers=manager,
                           json={"reason": "not mine"})
        for name, r in [*answers.items(), ("delete", delete)]:
            assert r.status_code == 404, (name, r.text)
            assert r.json()["error"]["code"] == "not_found", (name, r.text)
            assert CUSTOMER["name"] not in r.text
        r = c.post("/offline-orders", headers=manager, json=_order_body(a2.store_id))
        assert r.status_code == 403 and r.json()["error"]["code"] == "store_scope", r.text
        _untouched(c, owner, a2)
        assert len(c.get("/offline-orders", headers=owner,
                         params={"store_id": a2.store_id}).json()["items"]) == 4


def test_a_manager_does_all_of_it_at_their_own_store(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords]) -> None:
    a1, _ = stores
    manager = _at_till(tenant, Role.MANAGER, a1.till)
    with tenant.server.client() as c:
        got = {name: r.status_code for name, r in _writes(c, manager, a1).items()}
        assert got == {"get": 200, "payments": 200, "patch": 200, "pay": 201, "refund": 201,
                       "resolve": 200, "decide": 200}
        assert c.get(f"/offline-orders/{a1.order}", headers=manager
                     ).json()["order"]["status"] == "deleted"  # the approved request
        r = c.post("/offline-orders", headers=manager, json=_order_body(a1.store_id))
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_an_owner_or_admin_reaches_every_store(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords], role: Role) -> None:
    a1, a2 = stores
    h = tenant.login(role)  # seen at no till
    with tenant.server.client() as c:
        assert _lists(c, h) == ({a1.store_id, a2.store_id},) * 3
        for rec in (a1, a2):
            got = {name: r.status_code for name, r in _writes(c, h, rec).items()}
            assert got == {"get": 200, "payments": 200, "patch": 200, "pay": 201,
                           "refund": 201, "resolve": 200, "decide": 200}, (rec.store_id, got)
            r = c.post("/offline-orders", headers=h, json=_order_body(rec.store_id))
            assert r.status_code == 201, r.text


def test_a_cashier_keeps_to_their_store_and_their_role(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords]) -> None:
    a1, a2 = stores
    cashier = _at_till(tenant, Role.CASHIER, a1.till)
    with tenant.server.client() as c:
        orders = c.get("/offline-orders", headers=cashier).json()["items"]
        assert {o["store_id"] for o in orders} == {a1.store_id}
        assert c.get(f"/offline-orders/{a1.order}", headers=cashier).status_code == 200
        assert c.get(f"/offline-orders/{a2.order}", headers=cashier).status_code == 404
        r = c.post(f"/offline-orders/{a2.unpaid}/payments", headers=cashier,
                   json={"id": new_id(), "method": "cash", "amount": 100})
        assert r.status_code == 404, r.text
        r = c.post("/offline-orders", headers=cashier, json=_order_body(a2.store_id))
        assert r.status_code == 403 and r.json()["error"]["code"] == "store_scope", r.text
        assert c.post("/offline-orders", headers=cashier,
                      json=_order_body(a1.store_id)).status_code == 201
        # what the role may not do stays refused by the role, whatever the store
        for r in (c.get("/approvals", headers=cashier),
                  c.post(f"/approvals/{a1.approval}/decide", headers=cashier,
                         json={"approved": True}),
                  c.post(f"/conflicts/{a1.conflict}/resolve", headers=cashier,
                         json={"choice": "server"})):
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "permission_denied", r.text


def test_a_manager_seen_at_no_till_sees_no_store(
        tenant: Tenant, stores: tuple[StoreRecords, StoreRecords]) -> None:
    a1, _ = stores
    manager = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        assert _lists(c, manager) == (set(), set(), set())
        assert c.get(f"/offline-orders/{a1.order}", headers=manager).status_code == 404
