"""The terminal's catalog editor and quick-add check every product value with the shared
product rules (app/domain/product_rules.py, the server's too), and refuse a barcode or
an SKU of another local product with the server's wording: a clear message, nothing
written, no audit entry, no outbox operation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.permissions import Role
from app.services import catalog, catalog_edit
from app.services.catalog_edit import CatalogError, NewProduct
from app.store.local import LocalStore
from app.store.models import AuditEntry, Barcode, OutboxOperation, PriceChange, Product
from app.store.unit_of_work import Actor

TEA = "4006381333931"
JAM = "5901234123457"
UPC = "036000291452"  # UPC-A; stored as its EAN-13 0036000291452
BAD_CHECK_DIGIT = "4006381333932"


def _counts(store: LocalStore) -> dict[str, int]:
    with store.db.read() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Product, Barcode, PriceChange, AuditEntry, OutboxOperation)}


def _add(store: LocalStore, actors: dict[Role, Actor], **over: Any) -> str:
    values = {"sku": "TEA-1", "name": "Green tea", "price": 350, "tax_rate_ppm": 200_000,
              "barcodes": (TEA,)} | over
    return catalog_edit.quick_add(store, actors[Role.STOCK], NewProduct(**values))


@pytest.fixture
def jam(store: LocalStore, actors: dict[Role, Actor]) -> str:
    """Strawberry jam (SKU JAM-1), holding JAM and the UPC-A code."""
    return _add(store, actors, sku="JAM-1", name="Strawberry jam", barcodes=(JAM, UPC))


TAKEN = "already belongs to another product: Strawberry jam (SKU JAM-1)"

BAD_NEW = [
    ({"barcodes": (TEA, TEA)}, "barcodes", f"Barcode {TEA} is listed twice"),
    ({"barcodes": ("0" + UPC, UPC)}, "barcodes", "Barcode 0036000291452 is listed twice"),
    ({"barcodes": (BAD_CHECK_DIGIT,)}, "barcodes",
     f"Barcode {BAD_CHECK_DIGIT} has a wrong check digit (a misread scan?)"),
    ({"barcodes": (" ",)}, "barcodes", "A barcode cannot be empty"),
    ({"barcodes": (JAM,)}, "barcodes", f"Barcode {JAM} {TAKEN}"),
    ({"barcodes": ("0" + UPC,)}, "barcodes", f"Barcode 0036000291452 {TAKEN}"),
    ({"sku": "JAM-1"}, "sku", "SKU JAM-1 already exists on another product: Strawberry jam"),
    ({"price": -1}, "price", "Price cannot be negative"),
    ({"name": "  "}, "name", "Name is required"),
    ({"reorder_level_milli": 1.5}, "reorder_level_milli", "Reorder level must be a whole number"),
    ({"category": 7}, "category", "Category must be text"),
]


@pytest.mark.parametrize(("over", "field", "message"), BAD_NEW)
def test_quick_add_refuses_with_a_clear_message_and_writes_nothing(
        store: LocalStore, actors: dict[Role, Actor], jam: str,
        over: dict[str, Any], field: str, message: str) -> None:
    before = _counts(store)
    with pytest.raises(CatalogError) as exc:
        _add(store, actors, **over)
    assert (str(exc.value), exc.value.field) == (message, field)
    assert _counts(store) == before


BAD_EDITS = [
    ({"barcodes": [TEA, TEA]}, "barcodes", f"Barcode {TEA} is listed twice"),
    ({"barcodes": [TEA, BAD_CHECK_DIGIT]}, "barcodes",
     f"Barcode {BAD_CHECK_DIGIT} has a wrong check digit (a misread scan?)"),
    ({"barcodes": [TEA, JAM]}, "barcodes", f"Barcode {JAM} {TAKEN}"),
    ({"barcodes": ["0" + UPC]}, "barcodes", f"Barcode 0036000291452 {TAKEN}"),
    ({"price": 2.5}, "price", "Price must be a whole number of cents"),
    ({"tax_rate_ppm": 1_000_001}, "tax_rate_ppm", "Tax rate must be between 0% and 100%"),
    ({"active": "no"}, "active", "Active must be yes or no"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_EDITS)
def test_an_edit_is_refused_with_a_clear_message_and_changes_nothing(
        store: LocalStore, actors: dict[Role, Actor], jam: str,
        changes: dict[str, Any], field: str, message: str) -> None:
    pid = _add(store, actors)
    before, details = _counts(store), catalog_edit.details(store, pid)
    with pytest.raises(CatalogError) as exc:  # the valid name in the same edit is not saved
        catalog_edit.update_product(store, actors[Role.STOCK], pid, {**changes, "name": "Tea"})
    assert (str(exc.value), exc.value.field) == (message, field)
    assert _counts(store) == before
    assert catalog_edit.details(store, pid) == details


def test_good_values_are_stored_in_their_stored_form(store: LocalStore,
                                                     actors: dict[Role, Actor]) -> None:
    pid = _add(store, actors, barcodes=(UPC,), category="Drinks")
    assert catalog_edit.details(store, pid)["barcodes"] == ["0" + UPC]
    assert catalog.line_for_scan(store, UPC).product_id == pid
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "product.create")).one()
        assert op.payload["barcodes"] == ["0" + UPC]
    # its own codes again, in another spelling and order: no clash with itself
    edits = catalog_edit.update_product(store, actors[Role.STOCK], pid, {"barcodes": [TEA, UPC]})
    assert edits["barcodes"]["value"] == ["0" + UPC, TEA]


def test_a_code_released_by_another_product_can_be_taken(store: LocalStore,
                                                        actors: dict[Role, Actor], jam: str) -> None:
    catalog_edit.update_product(store, actors[Role.STOCK], jam, {"barcodes": [UPC]})
    pid = _add(store, actors, barcodes=(TEA, JAM))
    assert catalog.line_for_scan(store, JAM).product_id == pid


def test_a_product_left_invalid_by_an_edit_is_refused_naming_its_current_value(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    """A product that came in with a bad value (stored before the rules): an edit that
    leaves it so is refused, with the server's wording; one that corrects it is saved."""
    pid = _add(store, actors)
    with store.db.write() as s:
        s.get(Product, pid).tax_rate_ppm = 2_000_000
    with pytest.raises(CatalogError) as exc:
        catalog_edit.update_product(store, actors[Role.STOCK], pid, {"price": 400})
    assert str(exc.value) == ("Tax rate must be between 0% and 100% (the product's current "
                              "tax rate; correct it in the same edit)")
    edits = catalog_edit.update_product(store, actors[Role.STOCK], pid,
                                        {"price": 400, "tax_rate_ppm": 200_000})
    assert set(edits) == {"price", "tax_rate_ppm"}
