"""Resolving a product conflict at a terminal with a barcode or SKU another local product
already has is refused before anything is written, with the catalog editor's wording
(app/domain/product_rules.py ``barcode_taken`` / ``sku_taken``); a free code resolves.

The first tests build the conflict in one local store (as a pulled record); the last one
runs two real tills against the real server, through to the server and back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.permissions import Role
from app.services.catalog_edit import NewProduct, quick_add, update_product
from app.store.local import LocalStore
from app.store.models import AuditEntry, OutboxOperation, Product
from app.store.unit_of_work import Actor
from server.db.models import Product as ServerProduct
from sync import conflicts
from sync.conflicts import ConflictError, open_conflicts, resolve
from tests.sync.conftest import BACKENDS

CAKE_CODE, JAM_CODE, FREE_CODE = "5901234123457", "0036000291452", "4006381333931"
CID = "00000000-0000-7000-8000-0000000000c1"


def _written(store: LocalStore) -> tuple[int, int]:
    """(audit entries, outbox operations) in ``store``."""
    with store.db.read() as s:
        return (s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                s.scalar(select(func.count()).select_from(OutboxOperation)) or 0)


def _codes(store: LocalStore, pid: str) -> list[str]:
    with store.db.read() as s:
        product = s.get(Product, pid)
        assert product is not None
        return sorted(b.code for b in product.barcodes)


def _pulled_conflict(store: LocalStore, pid: str, fields: dict[str, dict[str, Any]]) -> str:
    """A field conflict on product ``pid`` as the server's record brings it."""
    with store.db.write() as s:
        conflicts.record_pulled(s, store.cipher, CID, {
            "entity_type": "product", "entity_id": pid, "kind": "field_conflict",
            "status": "open", "fields": fields})
    return CID


@pytest.fixture
def cake_and_jam(store: LocalStore, actors: dict[Role, Actor]) -> tuple[str, str]:
    """Two local products: the cake (A, whose barcodes are in conflict) and the jam (B)."""
    manager = actors[Role.MANAGER]
    cake = quick_add(store, manager, NewProduct("SKU-C", "Cake", 500, 200_000, (CAKE_CODE,)))
    jam = quick_add(store, manager, NewProduct("SKU-J", "Strawberry jam", 350, 200_000, (JAM_CODE,)))
    return cake, jam


JAM_TAKEN = f"Barcode {JAM_CODE} already belongs to another product: Strawberry jam (SKU SKU-J)"


@pytest.mark.parametrize("jam_code", [JAM_CODE, "036000291452"])  # also its UPC-A spelling
def test_a_custom_barcode_of_another_product_is_refused_and_nothing_is_written(
        store, actors, cake_and_jam, jam_code) -> None:
    cake, _ = cake_and_jam
    cid = _pulled_conflict(store, cake, {"barcodes": {
        "base": [CAKE_CODE], "server": ["9780201379624"], "terminal": ["4012345678901"]}})
    written = _written(store)
    with pytest.raises(ConflictError) as refused:
        resolve(store, actors[Role.MANAGER], cid, "custom", {"barcodes": [CAKE_CODE, jam_code]})
    assert str(refused.value) == JAM_TAKEN
    assert _written(store) == written  # no audit entry, no conflict.resolve operation
    assert [c.id for c in open_conflicts(store)] == [cid]
    assert _codes(store, cake) == [CAKE_CODE]

    resolve(store, actors[Role.MANAGER], cid, "custom", {"barcodes": [CAKE_CODE, FREE_CODE]})
    assert _written(store) == (written[0] + 1, written[1] + 1)
    assert open_conflicts(store) == []
    view = conflicts.get(store, cid)
    assert view is not None and view.resolution is not None
    assert view.resolution["values"] == {"barcodes": [CAKE_CODE, FREE_CODE]}
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "conflict.resolve")).one()
        assert op.payload["value"] == {"barcodes": [CAKE_CODE, FREE_CODE]}


def test_keeping_the_terminal_side_is_refused_when_another_product_took_its_barcode(
        store, actors, cake_and_jam) -> None:
    cake, _ = cake_and_jam
    cid = _pulled_conflict(store, cake, {"barcodes": {
        "base": [CAKE_CODE], "server": [CAKE_CODE, FREE_CODE], "terminal": [JAM_CODE]}})
    written = _written(store)
    with pytest.raises(ConflictError) as refused:
        resolve(store, actors[Role.MANAGER], cid, "terminal")
    assert str(refused.value) == JAM_TAKEN
    assert _written(store) == written and [c.id for c in open_conflicts(store)] == [cid]

    resolve(store, actors[Role.MANAGER], cid, "server")  # keeping the server's codes is no new code
    assert open_conflicts(store) == []


def test_the_product_keeping_its_own_barcode_or_sku_is_not_refused(store, actors, cake_and_jam) -> None:
    cake, _ = cake_and_jam
    cid = _pulled_conflict(store, cake, {"barcodes": {
        "base": [], "server": [FREE_CODE], "terminal": [CAKE_CODE]}, "sku": {
        "base": "SKU-C", "server": "SKU-C2", "terminal": "SKU-C"}})
    resolve(store, actors[Role.MANAGER], cid, "terminal")
    assert open_conflicts(store) == []


def test_an_sku_of_another_product_is_refused_and_nothing_is_written(store, actors, cake_and_jam) -> None:
    cake, _ = cake_and_jam
    cid = _pulled_conflict(store, cake, {"sku": {"base": "SKU-C", "server": "SKU-C2",
                                                 "terminal": "SKU-C3"}})
    written = _written(store)
    with pytest.raises(ConflictError) as refused:
        resolve(store, actors[Role.MANAGER], cid, "custom", {"sku": "SKU-J"})
    assert str(refused.value) == "SKU SKU-J already exists on another product: Strawberry jam"
    assert _written(store) == written and [c.id for c in open_conflicts(store)] == [cid]
    resolve(store, actors[Role.MANAGER], cid, "custom", {"sku": "SKU-C4"})
    assert open_conflicts(store) == []


@BACKENDS
def test_two_tills_a_taken_barcode_is_refused_at_the_till_and_a_free_one_reaches_everyone(
        till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    cake = quick_add(a.store, a.actor(Role.MANAGER), NewProduct("SKU-C", "Cake", 500, 200_000))
    jam = quick_add(a.store, a.actor(Role.MANAGER),
                    NewProduct("SKU-J", "Strawberry jam", 350, 200_000, (JAM_CODE,)))
    a.sync()
    b.sync()
    update_product(a.store, a.actor(Role.MANAGER), cake, {"barcodes": ["9780201379624"]})
    update_product(b.store, b.actor(Role.MANAGER), cake, {"barcodes": ["4012345678901"]})
    a.sync()
    (problem,) = b.sync().push.conflicts

    written = _written(b.store)
    with pytest.raises(ConflictError) as refused:
        resolve(b.store, b.actor(Role.MANAGER), problem.conflict_id, "custom", {"barcodes": [JAM_CODE]})
    assert str(refused.value) == JAM_TAKEN
    assert _written(b.store) == written
    assert b.sync().push.pushed == 0  # nothing queued for the server to reject

    resolve(b.store, b.actor(Role.MANAGER), problem.conflict_id, "custom", {"barcodes": [FREE_CODE]})
    report = b.sync()
    assert (report.push.applied, report.push.rejected) == (1, [])
    a.sync()
    for till in (a, b):
        assert open_conflicts(till.store) == []
        assert _codes(till.store, cake) == [FREE_CODE] and _codes(till.store, jam) == [JAM_CODE]
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerProduct, cake).barcodes == [FREE_CODE]
