"""A back-office edit whose body carries "\\ud800" (a lone UTF-16 surrogate: JSON
syntax, no Unicode text) in a field edit's free value or base: PATCH /offline-orders/{id}
and PATCH /products/{id} answered 500 on PostgreSQL; on SQLite the clash was kept as a
conflict and then GET /conflicts and every snapshot of the store answered 500 (helper O,
a client written from docs/ alone). A push's op holding one is rejected (sync-protocol
§5); a REST body holding one should be refused as one holding a NUL character is:
422 validation_error, nothing written."""

from __future__ import annotations

import json
from typing import Any

from app.domain.permissions import Role
from tests.server.support import Tenant

LONE = "LONE\ud800"


def _patch(tenant: Tenant, path: str, body: dict[str, Any]) -> Any:
    with tenant.server.client() as c:
        return c.patch(path, content=json.dumps(body), headers={
            **tenant.login(Role.OWNER), "Content-Type": "application/json"})


def _still_readable(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.get("/sync/snapshot", params={"limit": 1000}, headers=tenant.term.headers)
        assert r.status_code == 200, r.text
        r = c.get("/conflicts", headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text


def test_a_lone_surrogate_in_a_back_office_edit_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    sale = term.order_create(cashier, pay=True)  # completed: an edit of it is a conflict
    assert term.push([sale])["results"][0]["status"] == "applied"
    r = _patch(tenant, f"/offline-orders/{sale['entity_id']}",
               {"fields": {"note": {"base": None, "value": LONE}}})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    with tenant.server.client() as c:
        r = c.post("/products", headers=tenant.login(Role.OWNER), json={
            "sku": "SUR-1", "name": "Tea", "price": 100, "tax_rate_ppm": 0})
        assert r.status_code == 201, r.text
        product = r.json()["id"]
    r = _patch(tenant, f"/products/{product}", {"fields": {"price": {"base": LONE, "value": 5}}})
    assert r.status_code == 422, r.text
    _still_readable(tenant)
