"""Tenancy walls, the pull feed, snapshots and the compaction horizon."""

from __future__ import annotations

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.tenancy import service as tenancy
from tests.server.support import Tenant, make_tenant


def test_terminal_cannot_touch_other_store_or_org(tenant: Tenant) -> None:
    server = tenant.server
    cashier = tenant.staff[Role.CASHIER]
    a = tenant.term
    store_b = tenant.add_store()
    b = tenant.enroll(store_id=store_b, name="Till in B")
    create_b = b.order_create(cashier)
    assert b.push([create_b])["results"][0]["status"] == "applied"
    oid_b = create_b["entity_id"]
    # A cannot pull B's orders
    changes_a, _ = a.pull_all()
    assert oid_b not in {c["entity_id"] for c in changes_a}
    # A cannot pay, edit or delete B's order, nor create an order in B's store
    pay = a.op("payment.record", new_id(), cashier, {
        "id": new_id(), "order_id": oid_b, "method": "cash", "amount": 1, "tendered": 1,
        "created_at": create_b["created_at"]})
    wrong_store = a.order_create(cashier)
    wrong_store["payload"]["store_id"] = store_b
    resp = a.push([pay, wrong_store])
    assert [r["status"] for r in resp["results"]] == ["rejected", "rejected"]
    assert "another store" in resp["results"][0]["reason"]
    with make_tenant(server) as other:
        # another org's terminal: our staff are unknown actors, our orders invisible
        foreign = other.term.order_create(cashier)
        assert other.term.push([foreign])["results"][0]["status"] == "rejected"
        changes_o, _ = other.term.pull_all()
        assert oid_b not in {c["entity_id"] for c in changes_o}
        with server.client() as c:
            r = c.get(f"/offline-orders/{oid_b}", headers=other.login(Role.OWNER))
            assert r.status_code == 404
            assert c.get("/sync/pull", headers=tenant.login(Role.OWNER)).status_code == 401
    # a staff token of A's org may read B's store in the back office (same org), for
    # someone who works there (server/tenancy/scope.py)
    tenant.seen_at(Role.MANAGER, term=b)
    with server.client() as c:
        assert c.get(f"/offline-orders/{oid_b}",
                     headers=tenant.login(Role.MANAGER)).status_code == 200


def test_feed_carries_full_state_and_org_wide_entities(tenant: Tenant) -> None:
    term = tenant.term
    store_b = tenant.add_store()
    b = tenant.enroll(store_id=store_b)
    pid = new_id()
    term.push([term.op("product.create", pid, tenant.staff[Role.STOCK],
                       {"sku": "S1", "name": "Soap", "price": 120, "tax_rate_ppm": 200_000})])
    create = term.order_create(tenant.staff[Role.CASHIER], pay=True)
    term.push([create])
    changes, cursor = term.pull_all()
    positions = [c["position"] for c in changes]
    assert positions == list(range(1, len(positions) + 1))
    kinds = {c["entity_type"] for c in changes}
    assert {"staff", "product", "order"} <= kinds
    staff = [c for c in changes if c["entity_type"] == "staff"][0]["data"]
    assert "password_hash" not in staff and staff["pin_hash"].startswith("$argon2")
    order = [c for c in changes if c["entity_type"] == "order"][-1]
    assert order["data"]["lines"] and order["data"]["payments"]
    assert order["origin_device_id"] == term.device_id and order["op_id"] == create["op_id"]
    # the product (org-wide) reached store B's feed, the order did not
    changes_b, _ = b.pull_all()
    assert pid in {c["entity_id"] for c in changes_b}
    assert create["entity_id"] not in {c["entity_id"] for c in changes_b}
    # nothing new after the cursor
    more, same = term.pull_all(cursor)
    assert more == [] and same == cursor


def test_compaction_horizon_gives_410_and_snapshot_resumes(tenant: Tenant) -> None:
    term = tenant.term
    term.push([term.order_create(tenant.staff[Role.CASHIER]) for _ in range(3)])
    changes, cursor = term.pull_all()
    with tenant.server.client() as c:
        admin = tenant.login(Role.ADMIN)
        r = c.post("/sync/compact", json={"store_id": tenant.store_id, "before_position": cursor},
                   headers=admin)
        assert r.status_code == 200 and r.json()["horizon"] == cursor
        old = c.get("/sync/pull", params={"after": 0}, headers=term.headers)
        assert old.status_code == 410
        err = old.json()["error"]
        assert err["code"] == "cursor_expired" and err["details"]["horizon"] == cursor
        snap = c.get("/sync/snapshot", headers=term.headers).json()
        assert snap["cursor"] == cursor
        orders = [ch for ch in snap["changes"] if ch["entity_type"] == "order"]
        assert len(orders) == 3
    term.push([term.order_create(tenant.staff[Role.CASHIER])])
    after, _ = term.pull_all(cursor)
    assert [c["entity_type"] for c in after] == ["order"]


def test_staff_change_reaches_every_store_feed(tenant: Tenant) -> None:
    store_b = tenant.add_store()
    b = tenant.enroll(store_id=store_b)
    _, cursor = b.pull_all()
    with tenant.server.ctx.writer.begin() as s:
        new = tenancy.create_staff(s, tenant.server.ctx.hasher, tenant.org_id, "Nia", "cashier",
                                   pin="8888")
        nid = new.id
    for term in (tenant.term, b):
        changes, _ = term.pull_all(cursor if term is b else 0)
        assert nid in {c["entity_id"] for c in changes}
