"""Back-office catalog: /products edits go through product.create / product.update, so they
merge like a pushed edit and reach every store's feed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.backoffice import ops
from server.context import StaffPrincipal
from server.db.models import AuditEntry, Event
from server.errors import ApiError
from server.sync import catalog
from sync.protocol import OpType
from tests.server.support import Tenant, make_tenant


def _product(**over: Any) -> dict[str, Any]:
    return {"id": new_id(), "sku": "BISC-1", "name": "Shelf Biscuits", "category": "Bakery",
            "price": 299, "tax_rate_ppm": 230_000, "barcodes": ["5012345678900"]} | over


def _changes(tenant: Tenant, pid: str, term: Any = None) -> list[dict[str, Any]]:
    changes, _ = (term or tenant.term).pull_all()
    return [c for c in changes if c["entity_type"] == "product" and c["entity_id"] == pid]


def test_manager_creates_and_edits_a_price_for_every_store(tenant: Tenant) -> None:
    second = tenant.enroll(tenant.add_store(), name="Till 2")
    body = _product()
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.post("/products", json=body, headers=h)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert pid == body["id"] and r.json()["version"] == 1
        assert c.post("/products", json=body, headers=h).status_code == 409

        r = c.patch(f"/products/{pid}", headers=h, json={
            "fields": {"price": {"base": 299, "value": 349}}, "reason": "new supplier price"})
        assert r.status_code == 200, r.text
        assert (r.json()["price"], r.json()["version"]) == (349, 2)

        got = c.get(f"/products/{pid}", headers=h).json()
        assert (got["price"], got["version"]) == (349, 2)
        page = c.get("/products", headers=h, params={"query": "bisc", "limit": 10}).json()
        assert page["total"] == 1 and page["items"][0]["id"] == pid
        assert c.get("/products", headers=h, params={"query": "nothing"}).json()["total"] == 0
        assert c.get(f"/products/{new_id()}", headers=h).status_code == 404

    for term in (tenant.term, second):  # org-wide: every store's feed has the new price
        last = _changes(tenant, pid, term)[-1]
        assert (last["version"], last["data"]["price"]) == (2, 349)
    with tenant.server.ctx.reader() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == pid)
                                 .order_by(AuditEntry.id)))
    assert actions == ["product.create", "product.update"]


def test_cashier_may_not_edit_the_catalog(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        pid = c.post("/products", json=_product(), headers=tenant.login(Role.MANAGER)).json()["id"]
        h = tenant.login(Role.CASHIER)
        assert c.get(f"/products/{pid}", headers=h).status_code == 200
        r = c.patch(f"/products/{pid}", headers=h,
                    json={"fields": {"price": {"base": 299, "value": 1}}})
        assert r.status_code == 403
        assert c.post("/products", json=_product(), headers=h).status_code == 403
        assert c.get(f"/products/{pid}", headers=h).json()["price"] == 299
        assert c.patch(f"/products/{pid}", json={"fields": {}}).status_code == 401


def test_stale_base_is_a_conflict_and_nothing_is_overwritten(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(), headers=h).json()["id"]
        # a terminal changed the price meanwhile (pushed op)
        op = tenant.term.op("product.update", pid, tenant.staff[Role.STOCK],
                            {"fields": {"price": {"base": 299, "value": 319}}})
        assert tenant.term.push([op])["results"][0]["status"] == "applied"

        r = c.patch(f"/products/{pid}", headers=h, json={
            "fields": {"price": {"base": 299, "value": 349},
                       "name": {"base": "Shelf Biscuits", "value": "Shelf Biscuits 500 g"}}})
        assert r.status_code == 409, r.text
        conflict_id = r.json()["error"]["details"]["conflict_id"]
        assert conflict_id
        got = c.get(f"/products/{pid}", headers=h).json()
        assert (got["price"], got["name"]) == (319, "Shelf Biscuits 500 g")  # the rest merged
        conflicts = c.get("/conflicts", headers=h, params={"status": "open"}).json()
        mine = [x for x in conflicts if x["id"] == conflict_id]
        assert mine and mine[0]["entity_id"] == pid
        assert mine[0]["fields"]["price"] == {"base": 299, "server": 319, "terminal": 349}

        r = c.patch(f"/products/{pid}", headers=h,
                    json={"fields": {"colour": {"base": None, "value": "red"}}})
        assert r.status_code == 422


def _events(tenant: Tenant, pid: str) -> list[tuple[str, dict[str, Any]]]:
    """The org's product events about ``pid``, oldest first (type, data)."""
    with tenant.server.ctx.reader() as s:
        rows = s.scalars(select(Event).where(Event.org_id == tenant.org_id)
                         .order_by(Event.created_at, Event.id)).all()
        return [(e.type, e.payload["data"]) for e in rows
                if e.type.startswith("product.") and e.payload["data"]["product"]["id"] == pid]


def test_product_events_from_the_api_and_from_a_push(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(), headers=h).json()["id"]
        r = c.patch(f"/products/{pid}", headers=h, json={
            "fields": {"price": {"base": 299, "value": 349}}, "reason": "new supplier price"})
        assert r.status_code == 200, r.text
        # the same value again: no change, no event
        r = c.patch(f"/products/{pid}", headers=h,
                    json={"fields": {"price": {"base": 299, "value": 349}}})
        assert r.status_code == 200, r.text
    events = _events(tenant, pid)
    assert [t for t, _ in events] == ["product.created", "product.updated"]
    created, updated = events[0][1], events[1][1]
    assert (created["product"]["sku"], created["product"]["version"]) == ("BISC-1", 1)
    assert updated["changes"] == {"price": {"before": 299, "after": 349}}
    assert updated["reason"] == "new supplier price"
    assert (updated["product"]["price"], updated["product"]["version"]) == (349, 2)

    # pushed by a terminal: the same events
    stock = tenant.staff[Role.STOCK]
    pushed = new_id()
    body = {k: v for k, v in _product(sku="TEA-1", name="Green tea",  # a barcode of its own
                                      barcodes=["4006381333931"]).items() if k != "id"}
    create = tenant.term.op("product.create", pushed, stock, body)
    edit = tenant.term.op("product.update", pushed, stock, {"fields": {
        "name": {"base": "Green tea", "value": "Green tea 20 bags"},
        "barcodes": {"base": body["barcodes"], "value": ["5901234123457"]}}})
    res = tenant.term.push([create, edit])["results"]
    assert [x["status"] for x in res] == ["applied", "applied"], res
    events = _events(tenant, pushed)
    assert [t for t, _ in events] == ["product.created", "product.updated"]
    assert events[1][1]["changes"] == {
        "name": {"before": "Green tea", "after": "Green tea 20 bags"},
        "barcodes": {"before": ["4006381333931"], "after": ["5901234123457"]}}
    # a push that conflicts on every field changes nothing: no product.updated
    stale = tenant.term.op("product.update", pushed, stock,
                           {"fields": {"price": {"base": 1, "value": 2}}})
    assert tenant.term.push([stale])["results"][0]["status"] == "conflict"
    assert [t for t, _ in _events(tenant, pushed)] == ["product.created", "product.updated"]


def test_delete_is_soft_audited_org_scoped_idempotent_and_in_every_feed(tenant: Tenant) -> None:
    second = tenant.enroll(tenant.add_store(), name="Till 2")
    with tenant.server.client() as c:
        manager = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(), headers=manager).json()["id"]
        assert c.delete(f"/products/{pid}", headers=tenant.login(Role.CASHIER)).status_code == 403
        assert c.delete(f"/products/{pid}").status_code == 401
        assert c.delete(f"/products/{new_id()}", headers=manager).status_code == 404

        r = c.request("DELETE", f"/products/{pid}", headers=manager,
                      json={"reason": "discontinued"})
        assert r.status_code == 200, r.text
        gone = r.json()
        assert (gone["deleted"], gone["active"], gone["barcodes"], gone["version"]) == (
            True, False, [], 2)
        again = c.delete(f"/products/{pid}", headers=manager)  # harmless: nothing changes
        assert again.status_code == 200 and again.json() == gone
        assert c.get(f"/products/{pid}", headers=manager).json() == gone
        page = c.get("/products", headers=manager, params={"query": "bisc"}).json()
        assert page["total"] == 0
        page = c.get("/products", headers=manager,
                     params={"query": "bisc", "include_deleted": True}).json()
        assert [p["id"] for p in page["items"]] == [pid]
        # an edit of the deleted product is a conflict, nothing is changed
        r = c.patch(f"/products/{pid}", headers=manager,
                    json={"fields": {"price": {"base": 299, "value": 1}}})
        assert r.status_code == 409, r.text

    for term in (tenant.term, second):  # org-wide: every store's feed has the deletion
        entries = _changes(tenant, pid, term)
        assert [e["version"] for e in entries] == [1, 2]
        assert entries[-1]["deleted"] is True and entries[-1]["data"]["deleted"] is True
        assert entries[-1]["data"]["barcodes"] == []
    with tenant.server.ctx.reader() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == pid,
                                                   AuditEntry.action.like("product.%"))
                          .order_by(AuditEntry.id)).all()
        assert [a.action for a in audit] == ["product.create", "product.delete"]
        assert audit[-1].reason == "discontinued"
        assert audit[-1].actor_id == tenant.staff[Role.MANAGER]
        assert audit[-1].changes["barcodes"] == {"before": ["5012345678900"], "after": []}
    events = _events(tenant, pid)
    assert [t for t, _ in events] == ["product.created", "product.deleted"]
    assert events[-1][1]["reason"] == "discontinued"
    assert events[-1][1]["product"]["deleted"] is True


def test_another_organizations_product_cannot_be_deleted(tenant: Tenant) -> None:
    with make_tenant(tenant.server) as other, tenant.server.client() as c:
        pid = c.post("/products", json=_product(), headers=tenant.login(Role.MANAGER)).json()["id"]
        r = c.delete(f"/products/{pid}", headers=other.login(Role.OWNER))
        assert r.status_code == 404, r.text
        assert c.get(f"/products/{pid}", headers=tenant.login(Role.MANAGER)).json()["deleted"] is False
    assert _events(tenant, pid)[-1][0] == "product.created"


@pytest.mark.parametrize("role", [Role.STOCK, Role.CASHIER])
def test_a_refused_delete_answers_in_the_envelope_and_changes_nothing(tenant: Tenant,
                                                                      role: Role) -> None:
    """Stock staff edit the catalog (catalog.edit) but may not delete from it (product.delete)."""
    with tenant.server.client() as c:
        pid = c.post("/products", json=_product(), headers=tenant.login(Role.MANAGER)).json()["id"]
        if role is Role.STOCK:  # the clerk may edit the product...
            r = c.patch(f"/products/{pid}", headers=tenant.login(role),
                        json={"fields": {"name": {"base": "Shelf Biscuits", "value": "Biscuits"}}})
            assert r.status_code == 200, r.text
        r = c.request("DELETE", f"/products/{pid}", headers=tenant.login(role),  # ...not delete it
                      json={"reason": "never sells"})
        assert r.status_code == 403, r.text
        err = r.json()["error"]
        assert set(err) == {"code", "message", "request_id", "details"}
        assert err["code"] == "permission_denied"
        assert err["message"] == f"A {role.value} may not do product.delete"
        assert err["details"] == {"role": role.value, "action": "product.delete"}
        assert err["request_id"] == r.headers["X-Request-ID"]
        assert c.get(f"/products/{pid}", headers=tenant.login(role)).json()["deleted"] is False
        missing = c.delete(f"/products/{new_id()}", headers=tenant.login(Role.ADMIN))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

        spec = c.get("/openapi.json").json()["paths"]["/products/{product_id}"]["delete"]
        assert {"200", "403", "404"} <= set(spec["responses"])
        assert spec["responses"]["403"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}
        assert "again answers the same 200" in spec["description"]
        assert "product.delete" in spec["description"]
        assert "product.delete" in spec["responses"]["403"]["description"]

    edits = 1 if role is Role.STOCK else 0
    assert [e["version"] for e in _changes(tenant, pid)] == [1, 2][:1 + edits]  # no deletion
    assert [t for t, _ in _events(tenant, pid)] == ["product.created", "product.updated"][:1 + edits]
    with tenant.server.ctx.reader() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == pid)
                                 .order_by(AuditEntry.id)))
    assert actions == ["product.create", "product.update"][:1 + edits]


def test_the_deletion_itself_refuses_stock_staff_whoever_calls_it(tenant: Tenant) -> None:
    """The permission is checked inside catalog.product_delete_in too, not only by the
    endpoint: any path that reaches the deletion with a stock clerk as actor is refused,
    with the reason a push result or the quarantine would show, and writes nothing."""
    with tenant.server.client() as c:
        pid = c.post("/products", json=_product(), headers=tenant.login(Role.MANAGER)).json()["id"]
    ctx = tenant.server.ctx

    def delete_as(role: Role) -> None:
        staff = StaffPrincipal(tenant.staff[role], tenant.org_id, role.value, role.value)
        ops.run(ctx, staff, tenant.store_id, OpType.PRODUCT_UPDATE, pid,
                {"deleted": True, "reason": "shelf cleared"},
                lambda oc: catalog.product_delete_in(oc, "shelf cleared"), org_wide=True)

    with pytest.raises(ApiError) as refused:
        delete_as(Role.STOCK)
    assert (refused.value.status, refused.value.code) == (403, "permission_denied")
    assert refused.value.message.endswith("a stock may not do product.delete")
    assert [e["version"] for e in _changes(tenant, pid)] == [1]
    assert [t for t, _ in _events(tenant, pid)] == ["product.created"]

    delete_as(Role.MANAGER)  # the same call by a manager deletes it
    last = _changes(tenant, pid)[-1]
    assert (last["version"], last["deleted"]) == (2, True)
    assert [t for t, _ in _events(tenant, pid)] == ["product.created", "product.deleted"]
