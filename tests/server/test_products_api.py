"""Back-office catalog: /products edits go through product.create / product.update, so they
merge like a pushed edit and reach every store's feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry
from tests.server.support import Tenant


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
