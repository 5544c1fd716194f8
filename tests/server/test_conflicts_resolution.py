"""Resolving a conflict, in the back office and by a pushed conflict.resolve: the audit
entry's "before" is the value at resolution time, custom values pass the rules of a
normal edit, and a product deleted since the conflict is never brought back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry, Conflict, Product
from tests.server.support import Tenant


def _edit(term: Any, entity: str, eid: str, actor: str, **fields: tuple[Any, Any]) -> dict[str, Any]:
    return term.op(f"{entity}.update", eid, actor,
                   {"fields": {k: {"base": b, "value": v} for k, (b, v) in fields.items()}})


def _price_conflict(tenant: Tenant) -> tuple[str, str]:
    """A product whose price is 319 on the server and a terminal's 349 in conflict with it."""
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    pid = new_id()
    res = term.push([
        term.op("product.create", pid, stock, {"sku": "CAKE", "name": "Cake", "price": 299,
                                               "tax_rate_ppm": 200_000}),
        _edit(term, "product", pid, stock, price=(299, 319)),
        _edit(term, "product", pid, stock, price=(299, 349)),
    ])["results"]
    assert [r["status"] for r in res] == ["applied", "applied", "conflict"], res
    return pid, res[2]["conflict_id"]


def _patch_price(tenant: Tenant, pid: str, base: int, value: int) -> None:
    with tenant.server.client() as c:
        r = c.patch(f"/products/{pid}", headers=tenant.login(Role.MANAGER),
                    json={"fields": {"price": {"base": base, "value": value}}})
        assert r.status_code == 200, r.text


def _resolve(tenant: Tenant, cid: str, choice: str, value: dict[str, Any] | None = None,
             role: Role = Role.MANAGER) -> Any:
    with tenant.server.client() as c:
        return c.post(f"/conflicts/{cid}/resolve", headers=tenant.login(role),
                      json={"choice": choice, "value": value})


def _resolution_audit(tenant: Tenant, entity_id: str) -> list[AuditEntry]:
    with tenant.server.ctx.reader() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == entity_id,
                                                  AuditEntry.action == "conflict.resolve")).all()
        s.expunge_all()
        return list(rows)


def _state(tenant: Tenant, pid: str, cid: str) -> tuple[int, int, bool, bool, str]:
    with tenant.server.ctx.reader() as s:
        p, c = s.get(Product, pid), s.get(Conflict, cid)
        return p.price, p.version, p.deleted, p.active, c.status


def _product_changes(tenant: Tenant, pid: str) -> list[dict[str, Any]]:
    changes, _ = tenant.term.pull_all()
    return [c for c in changes if c["entity_type"] == "product" and c["entity_id"] == pid]


# ---------------------------------------------------------------- before = value now


def test_audit_before_is_the_products_value_when_resolved_not_when_raised(tenant: Tenant) -> None:
    pid, cid = _price_conflict(tenant)
    _patch_price(tenant, pid, 319, 329)  # changed again after the conflict was raised
    r = _resolve(tenant, cid, "custom", {"price": 339})
    assert r.status_code == 200, r.text
    (entry,) = _resolution_audit(tenant, pid)
    assert entry.changes == {"price": {"before": 329, "after": 339}}
    with tenant.server.ctx.reader() as s:  # the record itself still shows the raise-time sides
        assert s.get(Conflict, cid).fields["price"] == {"base": 299, "server": 319, "terminal": 349}


def test_audit_before_of_a_pushed_order_resolution_is_the_value_now(tenant: Tenant) -> None:
    a, b = tenant.term, tenant.enroll(name="Till B")
    manager, owner = tenant.staff[Role.MANAGER], tenant.staff[Role.OWNER]
    create = a.order_create(tenant.staff[Role.CASHIER])
    oid = create["entity_id"]
    a.push([create, _edit(a, "order", oid, manager, note=(None, "deliver Friday"))])
    res = b.push([_edit(b, "order", oid, owner, note=(None, "deliver Monday"))])["results"][0]
    assert res["status"] == "conflict"
    later = a.push([_edit(a, "order", oid, manager, note=("deliver Friday", "deliver Sunday"))])
    assert later["results"][0]["status"] == "applied"
    resolve = b.op("conflict.resolve", res["conflict_id"], manager,
                   {"conflict_id": res["conflict_id"], "choice": "terminal"})
    assert b.push([resolve])["results"][0]["status"] == "applied"
    (entry,) = _resolution_audit(tenant, oid)
    assert entry.changes == {"note": {"before": "deliver Sunday", "after": "deliver Monday"}}


# ---------------------------------------------------------------- custom values


@pytest.mark.parametrize(("value", "message"), [
    ({"price": -5}, "Price cannot be negative"),
    ({"price": "free"}, "Price must be a whole number of cents"),
    ({"name": "  "}, "Name is required"),
    ({"tax_rate_ppm": 1_500_000}, "Tax rate must be between 0% and 100%"),
])
def test_an_invalid_custom_value_is_refused_and_nothing_changes(tenant: Tenant, value: dict[str, Any],
                                                                message: str) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    pid = new_id()
    res = term.push([
        term.op("product.create", pid, stock, {"sku": "CAKE", "name": "Cake", "price": 299,
                                               "tax_rate_ppm": 200_000}),
        _edit(term, "product", pid, stock, price=(299, 319), name=("Cake", "Lemon cake"),
              tax_rate_ppm=(200_000, 100_000)),
        _edit(term, "product", pid, stock, price=(299, 349), name=("Cake", "Carrot cake"),
              tax_rate_ppm=(200_000, 50_000)),
    ])["results"]
    assert res[2]["status"] == "conflict"
    cid = res[2]["conflict_id"]
    before = _state(tenant, pid, cid)
    r = _resolve(tenant, cid, "custom", value)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert (err["code"], err["message"]) == ("invalid_value", message)
    assert _state(tenant, pid, cid) == before and before[-1] == "open"
    assert _resolution_audit(tenant, pid) == []
    assert [c["version"] for c in _product_changes(tenant, pid)] == [1, 2]


def test_a_pushed_invalid_resolution_is_rejected_and_the_queue_keeps_flowing(tenant: Tenant) -> None:
    pid, cid = _price_conflict(tenant)
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    bad = term.op("conflict.resolve", cid, manager,
                  {"conflict_id": cid, "choice": "custom", "value": {"price": -1}})
    after = _edit(term, "product", pid, manager, name=("Cake", "Lemon cake"))
    res = term.push([bad, after])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied"], res
    assert res[0]["reason"] == "Price cannot be negative"
    price, *_, status = _state(tenant, pid, cid)
    assert (price, status) == (319, "open")
    good = term.op("conflict.resolve", cid, manager,
                   {"conflict_id": cid, "choice": "custom", "value": {"price": 575}})
    assert term.push([good])["results"][0]["status"] == "applied"
    price, *_, status = _state(tenant, pid, cid)
    assert (price, status) == (575, "resolved")


def test_a_custom_barcode_is_stored_as_a_normal_edit_stores_it(tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    pid = new_id()
    res = term.push([
        term.op("product.create", pid, stock, {"sku": "TEA", "name": "Tea", "price": 300,
                                               "tax_rate_ppm": 0, "barcodes": []}),
        _edit(term, "product", pid, stock, barcodes=([], ["4006381333931"])),
        _edit(term, "product", pid, stock, barcodes=([], ["5000112637922"])),
    ])["results"]
    cid = res[2]["conflict_id"]
    bad = _resolve(tenant, cid, "custom", {"barcodes": ["4006381333932"]})
    assert bad.status_code == 422 and "wrong check digit" in bad.json()["error"]["message"]
    ok = _resolve(tenant, cid, "custom", {"barcodes": ["036000291452"]})  # UPC-A
    assert ok.status_code == 200, ok.text
    assert ok.json()["resolution"] == {"choice": "custom", "values": {"barcodes": ["0036000291452"]}}
    with tenant.server.ctx.reader() as s:
        assert s.get(Product, pid).barcodes == ["0036000291452"]


# ---------------------------------------------------------------- deleted since


def test_a_product_deleted_since_is_not_brought_back_and_keeping_the_server_closes(
        tenant: Tenant) -> None:
    pid, cid = _price_conflict(tenant)
    with tenant.server.client() as c:
        r = c.request("DELETE", f"/products/{pid}", headers=tenant.login(Role.MANAGER),
                      json={"reason": "discontinued"})
        assert r.status_code == 200, r.text
    deleted = _state(tenant, pid, cid)
    assert deleted[2:] == (True, False, "open")
    for choice, value in (("terminal", None), ("custom", {"price": 400})):
        r = _resolve(tenant, cid, choice, value)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "cannot_resolve" and "deleted after this conflict" in err["message"]
        assert "keep the server's state" in err["message"]
        assert _state(tenant, pid, cid) == deleted

    # a terminal's push of the same choice is rejected with the same reason
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    pushed = term.op("conflict.resolve", cid, manager, {"conflict_id": cid, "choice": "terminal"})
    res = term.push([pushed])["results"][0]
    assert res["status"] == "rejected" and "deleted after this conflict" in res["reason"]
    assert _state(tenant, pid, cid) == deleted

    r = _resolve(tenant, cid, "server")  # keep the deletion: closed, the product stays deleted
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved"
    assert r.json()["resolution"] == {"choice": "server", "values": {}}
    assert _state(tenant, pid, cid) == deleted[:-1] + ("resolved",)
    assert [c["deleted"] for c in _product_changes(tenant, pid)] == [False, False, True]
    (entry,) = _resolution_audit(tenant, pid)
    assert entry.changes == {} and entry.reason == "server"


def test_resolve_errors_are_declared_in_the_openapi_schema(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        spec = c.get("/openapi.json").json()["paths"]["/conflicts/{conflict_id}/resolve"]["post"]
    for status in ("403", "404", "409", "422"):
        assert spec["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}
    assert "deleted" in spec["responses"]["409"]["description"]
