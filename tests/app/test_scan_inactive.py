"""Inactive products: known to the terminal, but not for sale at the register.

A manager makes a product inactive (``active`` false) to stop selling it while keeping
it in the catalog; the register must refuse it by name, while the stock and catalog
screens, which manage products, still find it. A product deleted centrally arrives
inactive and without barcodes: its codes stay unknown.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.domain.barcode import BarcodeError, make_variable, with_check_digit
from app.domain.permissions import Role
from app.services import catalog, catalog_edit
from app.services.catalog import ProductNotForSale, UnknownBarcode
from app.store.local import LocalStore
from app.store.unit_of_work import Actor

CODE = with_check_digit("590000000001")


def add_product(store: LocalStore, actors: dict[Role, Actor], name: str = "Winter Tea",
                sku: str = "TEA-W", codes: tuple[str, ...] = (CODE,)) -> str:
    new = catalog_edit.NewProduct(sku=sku, name=name, price=450, tax_rate_ppm=230_000,
                                  barcodes=codes)
    return catalog_edit.quick_add(store, actors[Role.MANAGER], new)


def set_active(store: LocalStore, actors: dict[Role, Actor], pid: str, active: bool) -> None:
    catalog_edit.update_product(store, actors[Role.MANAGER], pid, {"active": active})


def test_scanning_an_inactive_product_names_it_and_is_not_for_sale(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    pid = add_product(store, actors)
    assert catalog.line_for_scan(store, CODE).product_id == pid
    set_active(store, actors, pid, False)
    with pytest.raises(ProductNotForSale) as exc:
        catalog.line_for_scan(store, CODE)
    assert exc.value.name == "Winter Tea" and exc.value.code == CODE
    assert str(exc.value) == "Winter Tea is not for sale (inactive)"
    assert not isinstance(exc.value, UnknownBarcode)  # no quick-add: the code is taken
    # the stock and catalog screens still find it
    assert catalog.line_for_scan(store, CODE, include_inactive=True).product_id == pid
    set_active(store, actors, pid, True)
    assert catalog.line_for_scan(store, CODE).product_id == pid


def test_an_inactive_products_upc_and_weight_codes_are_refused_too(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    upc = "036000291452"
    pid = add_product(store, actors, "Loose Pears", "PEAR-L", (upc,))
    with store.db.write() as s:  # the GS1 look-up code of its weight labels
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('2800077', :p)"), {"p": pid})
    weighed = make_variable("28", "00077", 640)
    assert catalog.line_for_scan(store, weighed).qty_milli == 640
    set_active(store, actors, pid, False)
    for code in (upc, weighed):
        with pytest.raises(ProductNotForSale, match="Loose Pears"):
            catalog.line_for_scan(store, code)
    assert catalog.line_for_scan(store, weighed, include_inactive=True).qty_milli == 640


def test_a_deleted_product_stays_unknown(store: LocalStore, actors: dict[Role, Actor]) -> None:
    pid = add_product(store, actors)
    # what a central deletion leaves on the terminal: inactive, its barcodes gone
    catalog_edit.update_product(store, actors[Role.MANAGER], pid, {"active": False, "barcodes": []})
    for include_inactive in (False, True):
        with pytest.raises(UnknownBarcode):
            catalog.line_for_scan(store, CODE, include_inactive=include_inactive)


def test_search_offers_only_products_for_sale_unless_asked(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    pid = add_product(store, actors)
    other = add_product(store, actors, "Winter Tea Large", "TEA-WL", ())
    set_active(store, actors, pid, False)
    assert [r.id for r in catalog.search(store, "winter tea")] == [other]
    assert catalog.search(store, "TEA-W") == [catalog.get(store, other)]
    managed = {r.id: r.active for r in catalog.search(store, "winter tea", include_inactive=True)}
    assert managed == {pid: False, other: True}


def test_picking_a_product_made_inactive_since_the_list_was_shown(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    pid = add_product(store, actors)
    set_active(store, actors, pid, False)
    with pytest.raises(ProductNotForSale, match="Winter Tea is not for sale"):
        catalog.line_for_product(store, pid)
    assert catalog.line_for_product(store, pid, include_inactive=True).product_id == pid


@pytest.mark.parametrize("raw", ["\ud800", "5900000000017\x1b", "\x00"])
def test_a_scan_holding_a_control_character_or_lone_surrogate_is_refused_in_words(
        store: LocalStore, raw: str) -> None:
    """A lone surrogate once reached SQLite and crashed the register (UnicodeEncodeError)."""
    with pytest.raises(BarcodeError, match="check the scanner's settings"):
        catalog.line_for_scan(store, raw)
