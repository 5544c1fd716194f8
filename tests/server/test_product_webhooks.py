"""Product events reach a real webhook receiver: product.created, product.updated and
product.deleted, signed, whether the change came from /products, from a terminal's push or
from resolving a conflict; a change that was refused or changed nothing sends none."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Event
from tests.server.support import Receiver, Tenant

WAIT_S = 20


def _product(**over: Any) -> dict[str, Any]:
    return {"sku": "JAM-1", "name": "Strawberry jam", "category": "Pantry", "price": 425,
            "tax_rate_ppm": 100_000, "barcodes": ["4006381333931"]} | over


def _about(receiver: Receiver, tenant: Tenant, product_id: str) -> list[dict[str, Any]]:
    """Delivered product events about one product (request headers and parsed body)."""
    out = []
    for req in receiver.events_of(tenant.org_id):
        body = json.loads(req["body"])
        if body["type"].startswith("product.") and body["data"]["product"]["id"] == product_id:
            out.append({"headers": req["headers"], "raw": req["body"], "body": body})
    return out


def _wait_for(receiver: Receiver, tenant: Tenant, product_id: str,
              types: list[str]) -> dict[str, dict[str, Any]]:
    """Wait until the receiver holds each of ``types`` for the product; by type."""
    deadline = time.monotonic() + WAIT_S
    while True:
        got = {d["body"]["type"]: d for d in _about(receiver, tenant, product_id)}
        if set(types) <= set(got) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(got) == sorted(types), f"delivered {sorted(got)}, wanted {sorted(types)}"
    return got


def _assert_signed(delivery: dict[str, Any]) -> None:
    expected = "sha256=" + hmac.new(b"whsec-test", delivery["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery["headers"]["X-Tillsync-Signature"], expected)
    assert delivery["headers"]["X-Tillsync-Event"] == delivery["body"]["type"]


def test_back_office_create_edit_delete_reach_the_webhook(tenant: Tenant,
                                                          receiver: Receiver) -> None:
    with tenant.server.client() as c:
        manager = tenant.login(Role.MANAGER)
        r = c.post("/products", json=_product(), headers=manager)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        r = c.patch(f"/products/{pid}", headers=manager, json={
            "fields": {"price": {"base": 425, "value": 449}}, "reason": "new supplier price"})
        assert r.status_code == 200, r.text
        r = c.request("DELETE", f"/products/{pid}", headers=manager,
                      json={"reason": "discontinued"})
        assert r.status_code == 200, r.text

    got = _wait_for(receiver, tenant, pid,
                    ["product.created", "product.updated", "product.deleted"])
    for delivery in got.values():
        _assert_signed(delivery)
        assert delivery["body"]["org_id"] == tenant.org_id
    created = got["product.created"]["body"]["data"]["product"]
    assert (created["sku"], created["price"], created["version"]) == ("JAM-1", 425, 1)
    updated = got["product.updated"]["body"]["data"]
    assert updated["changes"] == {"price": {"before": 425, "after": 449}}
    assert updated["reason"] == "new supplier price"
    assert (updated["product"]["price"], updated["product"]["version"]) == (449, 2)
    deleted = got["product.deleted"]["body"]["data"]
    assert deleted["reason"] == "discontinued"
    assert (deleted["product"]["deleted"], deleted["product"]["active"],
            deleted["product"]["version"]) == (True, False, 3)
    assert deleted["changes"]["barcodes"] == {"before": ["4006381333931"], "after": []}


def test_pushed_product_ops_reach_the_webhook(tenant: Tenant, receiver: Receiver) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    pid = new_id()
    create = term.op("product.create", pid, stock, _product())
    edit = term.op("product.update", pid, stock, {
        "fields": {"name": {"base": "Strawberry jam", "value": "Strawberry jam 370 g"}}})
    res = term.push([create, edit])["results"]
    assert [x["status"] for x in res] == ["applied", "applied"], res

    got = _wait_for(receiver, tenant, pid, ["product.created", "product.updated"])
    for delivery in got.values():
        _assert_signed(delivery)
    assert got["product.created"]["body"]["data"]["product"]["name"] == "Strawberry jam"
    updated = got["product.updated"]["body"]["data"]
    assert updated["product"]["name"] == "Strawberry jam 370 g"
    assert updated["changes"] == {
        "name": {"before": "Strawberry jam", "after": "Strawberry jam 370 g"}}


def test_refused_or_idle_product_changes_send_no_event(tenant: Tenant,
                                                       receiver: Receiver) -> None:
    """An event is written in the change's own transaction: a rejected op, a conflict on
    every field and an edit to the value already there leave no event behind."""
    term = tenant.term
    refused = new_id()  # a cashier may not add products
    res = term.push([term.op("product.create", refused, tenant.staff[Role.CASHIER],
                             _product(sku="JAM-2"))])["results"]
    assert res[0]["status"] == "rejected", res

    with tenant.server.client() as c:
        manager = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(sku="JAM-3"), headers=manager).json()["id"]
        stale = c.patch(f"/products/{pid}", headers=manager,
                        json={"fields": {"price": {"base": 1, "value": 2}}})
        assert stale.status_code == 409, stale.text
        idle = c.patch(f"/products/{pid}", headers=manager,
                       json={"fields": {"price": {"base": 425, "value": 425}}})
        assert idle.status_code == 200, idle.text
        # the sign that the worker has caught up: a later change's event is delivered
        later = c.patch(f"/products/{pid}", headers=manager,
                        json={"fields": {"name": {"base": "Strawberry jam", "value": "Jam"}}})
        assert later.status_code == 200, later.text

    got = _wait_for(receiver, tenant, pid, ["product.created", "product.updated"])
    assert got["product.updated"]["body"]["data"]["changes"] == {
        "name": {"before": "Strawberry jam", "after": "Jam"}}
    assert [d["body"]["type"] for d in _about(receiver, tenant, pid)].count(
        "product.updated") == 1
    assert _about(receiver, tenant, refused) == []
    with tenant.server.ctx.reader() as s:
        types = [e.type for e in s.scalars(select(Event).where(Event.org_id == tenant.org_id))
                 if e.payload["data"].get("product", {}).get("id") in (pid, refused)]
    assert sorted(types) == ["product.created", "product.updated"]


def _resolution_update(receiver: Receiver, tenant: Tenant, product_id: str,
                       conflict_id: str) -> dict[str, Any]:
    """Wait for the product.updated that resolving ``conflict_id`` sent; its data."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for d in _about(receiver, tenant, product_id):
            data = d["body"]["data"]
            if d["body"]["type"] == "product.updated" and data.get("conflict_id") == conflict_id:
                _assert_signed(d)
                return data  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"no product.updated for the resolution of conflict {conflict_id}")


def _price_conflict(tenant: Tenant, c: Any, headers: dict[str, str], pid: str,
                    base: int, server: int, wanted: int) -> str:
    """A terminal moves the price from ``base`` to ``server``; then the back office,
    still starting from ``base``, asks for ``wanted``: a conflict (its id)."""
    stock = tenant.staff[Role.STOCK]
    pushed = tenant.term.op("product.update", pid, stock,
                            {"fields": {"price": {"base": base, "value": server}}})
    assert tenant.term.push([pushed])["results"][0]["status"] == "applied"
    r = c.patch(f"/products/{pid}", headers=headers,
                json={"fields": {"price": {"base": base, "value": wanted}}})
    assert r.status_code == 409, r.text
    return str(r.json()["error"]["details"]["conflict_id"])


def _updates(tenant: Tenant, pid: str) -> list[dict[str, Any]]:
    with tenant.server.ctx.reader() as s:
        rows = s.scalars(select(Event).where(Event.org_id == tenant.org_id,
                                             Event.type == "product.updated")).all()
        return [e.payload["data"] for e in rows if e.payload["data"]["product"]["id"] == pid]


def test_a_resolved_product_conflict_is_fed_and_sent_as_product_updated(
    tenant: Tenant, receiver: Receiver
) -> None:
    elsewhere = tenant.enroll(tenant.add_store(), name="Till elsewhere")
    with tenant.server.client() as c:
        manager = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(), headers=manager).json()["id"]
        conflict_id = _price_conflict(tenant, c, manager, pid, 425, 449, 475)
        before = len(_updates(tenant, pid))

        r = c.post(f"/conflicts/{conflict_id}/resolve", json={"choice": "terminal"},
                   headers=manager)
        assert r.status_code == 200, r.text
        product = c.get(f"/products/{pid}", headers=manager).json()
    assert (product["price"], product["version"]) == (475, 3)

    for term in (tenant.term, elsewhere):  # products are org-wide: every store's feed
        changes, _ = term.pull_all()
        last = [ch for ch in changes if ch["entity_type"] == "product"
                and ch["entity_id"] == pid][-1]
        assert (last["version"], last["data"]["price"]) == (3, 475)

    data = _resolution_update(receiver, tenant, pid, conflict_id)
    assert data["changes"] == {"price": {"before": 449, "after": 475}}
    assert (data["product"]["price"], data["product"]["version"]) == (475, 3)
    assert len(_updates(tenant, pid)) == before + 1  # one event, in the resolution's transaction


def test_a_pushed_resolution_sends_product_updated_and_keeping_the_server_sends_none(
    tenant: Tenant, receiver: Receiver
) -> None:
    manager = tenant.staff[Role.MANAGER]
    with tenant.server.client() as c:
        headers = tenant.login(Role.MANAGER)
        pid = c.post("/products", json=_product(), headers=headers).json()["id"]
        custom = _price_conflict(tenant, c, headers, pid, 425, 449, 475)
        resolve = tenant.term.op("conflict.resolve", pid, manager, {
            "conflict_id": custom, "choice": "custom", "value": {"price": 459}})
        res = tenant.term.push([resolve])["results"][0]
        assert res["status"] == "applied" and res["version"] == 3, res

        data = _resolution_update(receiver, tenant, pid, custom)
        assert data["changes"] == {"price": {"before": 449, "after": 459}}
        assert data["product"]["version"] == 3

        kept = _price_conflict(tenant, c, headers, pid, 459, 439, 499)
        sent = len(_updates(tenant, pid))
        r = c.post(f"/conflicts/{kept}/resolve", json={"choice": "server"}, headers=headers)
        assert r.status_code == 200, r.text
        assert c.get(f"/products/{pid}", headers=headers).json()["price"] == 439
    assert len(_updates(tenant, pid)) == sent  # nothing changed: no product.updated
