"""Name/SKU search: the order of results, and names that start with what was typed are
never cut off by the bound on candidates read from the FTS index (no global rank)."""

from __future__ import annotations

import itertools

from sqlalchemy import insert

from app.domain.ids import new_id
from app.services import catalog
from app.services.catalog import SEARCH_CANDIDATES, search_order_key
from app.store.local import LocalStore
from app.store.models import Product

_sku = itertools.count(1)


def add_products(store: LocalStore, names: list[str], active: bool = True) -> None:
    with store.db.write() as s:
        s.execute(insert(Product), [
            {"id": new_id(), "sku": f"T{next(_sku):06d}", "name": n, "price": 100,
             "tax_rate_ppm": 0, "active": active, "stock_tracked": True, "sold_by_weight": False,
             "reorder_level_milli": 0, "version": 1}
            for n in names
        ])


def names(store: LocalStore, query: str, limit: int = 50) -> list[str]:
    return [r.name for r in catalog.search(store, query, limit=limit)]


def test_order_exact_then_starts_with_then_first_word_then_elsewhere(store: LocalStore) -> None:
    add_products(store, ["Apple Kiwi Smoothie", "Kiwifruit Gold", "Kiwi", "Kiwi Juice 1l",
                         "Sliced Kiwi", "Kiwi Jam", "Frozen Kiwi Juice"])
    assert names(store, "kiwi") == [
        "Kiwi",                                   # the name is what was typed
        "Kiwi Jam", "Kiwi Juice 1l", "Kiwifruit Gold",  # starts with it, shorter first
        "Sliced Kiwi", "Frozen Kiwi Juice", "Apple Kiwi Smoothie",  # elsewhere, shorter first
    ]
    # two words: the name must start with both, in order, each as a prefix
    assert names(store, "kiwi ju") == ["Kiwi Juice 1l", "Frozen Kiwi Juice"]
    assert names(store, "kiwi ju", limit=1) == ["Kiwi Juice 1l"]


def test_first_word_prefix_beats_later_words(store: LocalStore) -> None:
    add_products(store, ["Gold Kiwifruit", "Kiwifruit Gold Large", "Golden Syrup Tin"])
    # "gold kiwi": only "Gold Kiwifruit" starts with both words; "Kiwifruit Gold Large"
    # has both, but not at the start; "Golden Syrup Tin" has no word starting "kiwi".
    assert names(store, "gold kiwi") == ["Gold Kiwifruit", "Kiwifruit Gold Large"]
    assert names(store, "gol") == ["Gold Kiwifruit", "Golden Syrup Tin", "Kiwifruit Gold Large"]


def test_sku_typed_in_full_comes_first(store: LocalStore) -> None:
    add_products(store, ["Tea Bags"])
    sku = catalog.search(store, "tea")[0].sku
    add_products(store, [f"Mug for {sku} fans"])
    assert [r.sku for r in catalog.search(store, sku)][0] == sku


def test_diacritics_and_case_are_folded(store: LocalStore) -> None:
    add_products(store, ["Tarte Crème Brûlée", "Crème Brûlée", "CREME fraiche"])
    assert names(store, "creme") == ["Crème Brûlée", "CREME fraiche", "Tarte Crème Brûlée"]
    assert search_order_key(["creme", "b"], "Crème Brûlée", "X")[0] == 1


def test_names_starting_with_the_words_survive_the_candidate_bound(store: LocalStore) -> None:
    # Far more matches than the candidates read, all earlier in the index than the
    # products whose names start with the typed word: these must still come first.
    add_products(store, [f"Fresh Basil Pot {i}" for i in range(SEARCH_CANDIDATES * 2)])
    add_products(store, ["Basil Pesto Jar", "Basil", "Basilico Sauce"])
    add_products(store, ["Basil Oil (discontinued)"], active=False)
    got = names(store, "basil", limit=5)
    assert got[:3] == ["Basil", "Basilico Sauce", "Basil Pesto Jar"]
    assert got[3:] == ["Fresh Basil Pot 0", "Fresh Basil Pot 1"]  # then the shorter others
    assert "Basil Oil (discontinued)" not in names(store, "basil oil")
    assert names(store, "bas pes") == ["Basil Pesto Jar"]
    # the limit is filled with active products, and never exceeded
    assert len(names(store, "bas", limit=SEARCH_CANDIDATES + 10)) == SEARCH_CANDIDATES + 10
