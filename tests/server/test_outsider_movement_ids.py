"""A stock.adjust whose movement id the server already holds for another movement (of
another organization, another store or another product) was answered ``applied`` with
the flag ``movement_already_recorded`` and nothing written: a delivery of 7 loaves
pushed by one organization's till vanished because another organization's till had
used that id (helper O, a client written from docs/ alone; docs/sync-protocol.md §4:
"a product of another organization or of none is rejected" came after the look-up, so
even an unknown product was "applied"). Only the same movement again (same store and
product) is a duplicate; any other is refused with the reason, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import StockLevel, StockMovement
from tests.server.support import RunningServer, Tenant, Terminal, make_tenant


def _product(term: Terminal, actor: str) -> str:
    pid = new_id()
    op = term.op("product.create", pid, actor, {
        "sku": "MV-" + pid[-8:], "name": "Bread", "price": 100, "tax_rate_ppm": 0})
    assert term.push([op])["results"][0]["status"] == "applied"
    return pid


def _receive(term: Terminal, actor: str, product_id: str, qty_milli: int,
             movement_id: str) -> dict[str, Any]:
    return term.op("stock.adjust", product_id, actor, {
        "movement_id": movement_id, "product_id": product_id, "kind": "receive",
        "qty_delta_milli": qty_milli, "created_at": datetime.now(UTC).isoformat()})


def _result(term: Terminal, op: dict[str, Any]) -> tuple[str, list[str], str]:
    r = term.push([op])["results"][0]
    return r["status"], r["flags"], r.get("reason") or ""


def _on_hand(tenant: Tenant, store_id: str, product_id: str) -> int | None:
    with tenant.server.ctx.reader() as s:
        return s.scalar(select(StockLevel.qty_milli).where(
            StockLevel.store_id == store_id, StockLevel.product_id == product_id))


def test_another_organizations_movement_id_is_refused_not_swallowed(
        tenant: Tenant, server: RunningServer) -> None:
    stock = tenant.staff[Role.STOCK]
    ours = _product(tenant.term, stock)
    first = _receive(tenant.term, stock, ours, 1000, new_id())
    assert _result(tenant.term, first)[0] == "applied"
    taken = first["payload"]["movement_id"]
    with make_tenant(server) as other:
        their_stock = other.staff[Role.STOCK]
        theirs = _product(other.term, their_stock)
        status, flags, reason = _result(
            other.term, _receive(other.term, their_stock, theirs, 7000, taken))
        assert status == "rejected", (status, flags)
        assert taken in reason and tenant.store_id not in reason, reason
        assert _on_hand(other, other.store_id, theirs) in (None, 0)
        # an unknown product is refused for that, whatever the movement id
        status, _, reason = _result(
            other.term, _receive(other.term, their_stock, new_id(), 7000, taken))
        assert status == "rejected" and "catalog" in reason, reason
    with tenant.server.ctx.reader() as s:
        movement = s.get(StockMovement, taken)
        assert movement is not None and movement.store_id == tenant.store_id
        assert movement.qty_delta_milli == 1000
    assert _on_hand(tenant, tenant.store_id, ours) == 1000


def test_a_movement_id_is_one_movement_of_one_store_and_product(tenant: Tenant) -> None:
    stock = tenant.staff[Role.STOCK]
    milk, jam = _product(tenant.term, stock), _product(tenant.term, stock)
    first = _receive(tenant.term, stock, milk, 1000, new_id())
    assert _result(tenant.term, first)[0] == "applied"
    taken = first["payload"]["movement_id"]
    # the same movement again under a new op_id (a till restored from a backup): a
    # duplicate, applied once
    status, flags, _ = _result(tenant.term, _receive(tenant.term, stock, milk, 1000, taken))
    assert (status, flags) == ("applied", ["movement_already_recorded"])
    # that id for another product, or from another store's till: refused
    status, _, reason = _result(tenant.term, _receive(tenant.term, stock, jam, 4000, taken))
    assert status == "rejected" and taken in reason, reason
    second_store = tenant.enroll(tenant.add_store())
    status, _, reason = _result(second_store, _receive(second_store, stock, milk, 4000, taken))
    assert status == "rejected" and taken in reason, reason
    assert _on_hand(tenant, tenant.store_id, milk) == 1000
    assert _on_hand(tenant, tenant.store_id, jam) in (None, 0)
    assert _on_hand(tenant, second_store.store_id, milk) in (None, 0)
