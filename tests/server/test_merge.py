"""Field-level merge vs conflict, edit vs deletion, resolution into the feed."""

from __future__ import annotations

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import Tenant


def _edit(term, oid, actor, **fields):  # type: ignore[no-untyped-def]
    return term.op("order.update", oid, actor,
                   {"fields": {k: {"base": b, "value": v} for k, (b, v) in fields.items()}})


def test_different_fields_merge_same_field_conflicts(tenant: Tenant) -> None:
    a = tenant.term
    b = tenant.enroll(name="Till B")
    manager, owner = tenant.staff[Role.MANAGER], tenant.staff[Role.OWNER]
    create = a.order_create(tenant.staff[Role.CASHIER])
    oid = create["entity_id"]
    a.push([create])
    customer = {"id": new_id(), "name": "Ada", "phone": None, "email": None}
    r1 = a.push([_edit(a, oid, manager, note=(None, "deliver Friday"))])
    r2 = b.push([_edit(b, oid, owner, customer=(None, customer))])
    assert r1["results"][0]["status"] == "applied"
    assert r2["results"][0]["status"] == "applied"  # another field: both apply
    same_again = b.push([_edit(b, oid, owner, note=(None, "deliver Friday"))])
    assert same_again["results"][0]["status"] == "applied"  # already that value: fine
    clash = b.push([_edit(b, oid, owner, note=(None, "deliver Monday"))])
    res = clash["results"][0]
    assert res["status"] == "conflict" and res["conflict_id"]
    with tenant.server.client() as c:
        order = c.get(f"/offline-orders/{oid}", headers=tenant.login(Role.MANAGER)).json()["order"]
        assert order["note"] == "deliver Friday"  # nothing overwritten
        assert order["customer"]["name"] == "Ada"
        conflicts = c.get("/conflicts", headers=tenant.login(Role.MANAGER)).json()
        assert [x["id"] for x in conflicts] == [res["conflict_id"]]
        sides = conflicts[0]["fields"]["note"]
        assert sides == {"base": None, "server": "deliver Friday", "terminal": "deliver Monday"}
        denied = c.post(f"/conflicts/{res['conflict_id']}/resolve", json={"choice": "terminal"},
                        headers=tenant.login(Role.CASHIER))
        assert denied.status_code == 403
        ok = c.post(f"/conflicts/{res['conflict_id']}/resolve", json={"choice": "terminal"},
                    headers=tenant.login(Role.MANAGER))
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "resolved"
    changes, _ = a.pull_all()
    orders = [ch for ch in changes if ch["entity_type"] == "order" and ch["entity_id"] == oid]
    assert orders[-1]["data"]["note"] == "deliver Monday"
    resolved = [ch for ch in changes if ch["entity_type"] == "conflict"]
    assert resolved[-1]["data"]["status"] == "resolved"


def test_edit_of_deleted_order_is_a_conflict(tenant: Tenant) -> None:
    a = tenant.term
    b = tenant.enroll(name="Till B")
    manager = tenant.staff[Role.MANAGER]
    create = a.order_create(tenant.staff[Role.CASHIER])
    oid = create["entity_id"]
    a.push([create, a.op("order.delete", oid, manager, {"reason": "duplicate sale"})])
    resp = b.push([_edit(b, oid, manager, note=(None, "gift wrap"))])
    res = resp["results"][0]
    assert res["status"] == "conflict" and "deleted" in res["reason"]
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    with tenant.server.client() as c:
        conflict = c.get("/conflicts", headers=tenant.login(Role.MANAGER)).json()[0]
        assert conflict["kind"] == "edit_of_deleted"
        r = c.post(f"/conflicts/{conflict['id']}/resolve", json={"choice": "terminal"},
                   headers=tenant.login(Role.MANAGER))
        assert r.status_code == 409


def test_edit_and_delete_of_completed_order_conflict(tenant: Tenant) -> None:
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    create = term.order_create(tenant.staff[Role.CASHIER], pay=True)
    oid = create["entity_id"]
    resp = term.push([create, _edit(term, oid, manager, note=(None, "x")),
                      term.op("order.delete", oid, manager, {"reason": "oops"})])
    assert [r["status"] for r in resp["results"]] == ["applied", "conflict", "conflict"]


def test_line_edit_recomputes_totals(tenant: Tenant) -> None:
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    create = term.order_create(tenant.staff[Role.CASHIER])
    oid = create["entity_id"]
    old_lines = create["payload"]["lines"]
    new_lines = [dict(old_lines[0], qty_milli=4000)]
    resp = term.push([create, _edit(term, oid, manager, lines=(old_lines, new_lines))])
    assert resp["results"][1]["status"] == "applied", resp
    changes, _ = term.pull_all()
    order = [c for c in changes if c["entity_id"] == oid][-1]["data"]
    assert order["total"] == 1000 and order["lines"][0]["qty_milli"] == 4000


def test_product_fields_merge_and_stock_deltas_commute(tenant: Tenant) -> None:
    a = tenant.term
    b = tenant.enroll(name="Till B")
    stock = tenant.staff[Role.STOCK]
    pid = new_id()
    a.push([a.op("product.create", pid, stock,
                 {"sku": "TEA", "name": "Tea", "price": 300, "tax_rate_ppm": 100_000})])

    def upd(t, **f):  # type: ignore[no-untyped-def]
        return t.op("product.update", pid, stock,
                    {"fields": {k: {"base": x, "value": y} for k, (x, y) in f.items()}})

    def adj(t, d):  # type: ignore[no-untyped-def]
        return t.op("stock.adjust", new_id(), stock, {
            "movement_id": new_id(), "product_id": pid, "kind": "receive",
            "qty_delta_milli": d, "created_at": "2026-01-01T10:00:00Z"})

    ra = a.push([upd(a, price=(300, 350)), adj(a, 5000)])
    rb = b.push([upd(b, name=("Tea", "Green tea")), adj(b, -2000), upd(b, price=(300, 320))])
    assert [r["status"] for r in ra["results"]] == ["applied", "applied"]
    assert [r["status"] for r in rb["results"]] == ["applied", "applied", "conflict"]
    changes, _ = b.pull_all()
    product = [c for c in changes if c["entity_type"] == "product"][-1]["data"]
    assert product["price"] == 350 and product["name"] == "Green tea"
    moves = [c for c in changes if c["entity_type"] == "stock_movement"]
    assert moves[-1]["data"]["qty_on_hand_milli"] == 3000


def test_order_resolved_by_a_pushed_resolution_stays_in_its_store(tenant: Tenant) -> None:
    """conflict.resolve is org-wide (products), but an order's state never reaches another store."""
    a = tenant.term
    b = tenant.enroll(name="Till B")
    other = tenant.enroll(store_id=tenant.add_store("Other store"), name="Elsewhere")
    manager, owner = tenant.staff[Role.MANAGER], tenant.staff[Role.OWNER]
    create = a.order_create(tenant.staff[Role.CASHIER])
    oid = create["entity_id"]
    a.push([create, _edit(a, oid, manager, note=(None, "deliver Friday"))])
    res = b.push([_edit(b, oid, owner, note=(None, "deliver Monday"))])["results"][0]
    assert res["status"] == "conflict"
    resolve = b.op("conflict.resolve", oid, manager,
                   {"conflict_id": res["conflict_id"], "choice": "terminal"})
    assert b.push([resolve])["results"][0]["status"] == "applied"
    mine, _ = a.pull_all()
    assert [ch["data"]["note"] for ch in mine
            if ch["entity_type"] == "order" and ch["entity_id"] == oid][-1] == "deliver Monday"
    theirs, _ = other.pull_all()
    assert not [ch for ch in theirs if ch["entity_id"] == oid or ch["entity_type"] in ("order", "conflict")]
