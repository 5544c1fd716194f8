"""A text longer than its payload field allows is refused at the till in words, before
anything is written (issue 13: the services build payloads through the models, which
bound every text; a too-long reason must not reach them as a crash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app import demo
from app.domain.cart import Cart
from app.services import approvals, catalog, catalog_edit, inventory, order_edits, sales, staff
from app.services.approvals import ApprovalError
from app.services.catalog_edit import CatalogError
from app.services.customers import CustomerDetails
from app.services.inventory import StockError
from app.services.order_edits import EditError
from app.services.sales import SaleError
from app.store.local import LocalStore, open_store
from app.store.models import OutboxOperation


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = open_store(tmp_path_factory.mktemp("long"), passphrase="test-passphrase")
    demo.seed(s, 40)
    yield s
    s.close()


def _cart(store: LocalStore) -> Cart:
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, catalog.search(store, "Harbour")[0].id, 1000))
    return cart


def _ops(store: LocalStore) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(OutboxOperation)) or 0


def _cases(store: LocalStore) -> list[tuple[str, type[Exception], Callable[[], Any]]]:
    who = {code: staff.sign_in(store, code, pin) for _, code, _, pin in demo.DEMO_STAFF}
    cashier, manager, stock = who["1003"], who["1002"], who["1004"]
    unpaid = sales.record_sale(store, cashier, _cart(store), [])
    asked = approvals.request_deletion(store, cashier, unpaid.order_id, "walked out")
    product = catalog.search(store, "Harbour")[0].id
    return [
        ("The note is too long", SaleError,
         lambda: sales.record_sale(store, cashier, _cart(store), [], note="n" * 5001)),
        ("The customer's name is too long", SaleError,
         lambda: sales.record_sale(store, cashier, _cart(store), [],
                                   customer=CustomerDetails(None, "A" * 201, "+48 600 100 200"))),
        ("The customer's email is too long", SaleError,
         lambda: sales.record_sale(store, cashier, _cart(store), [],
                                   customer=CustomerDetails(None, "Ann", None, "a" * 250 + "@x.pl"))),
        ("The reason is too long", ApprovalError,
         lambda: approvals.request_deletion(store, cashier, unpaid.order_id, "r" * 501)),
        ("The note is too long", ApprovalError,
         lambda: approvals.decide(store, manager, asked, False, note="n" * 1001)),
        ("The reason is too long", StockError,
         lambda: inventory.adjust(store, stock, product, -1000, "damage", "d" * 500)),
        ("The delivery reference is too long", StockError,
         lambda: inventory.receive(store, stock, product, 1000, "P" * 101)),
        ("The reason is too long", EditError,
         lambda: order_edits.edit_order(store, manager, unpaid.order_id, note="x", reason="r" * 501)),
        ("The note is too long", EditError,
         lambda: order_edits.edit_order(store, manager, unpaid.order_id, note="n" * 5001)),
        ("The customer's phone is too long", EditError,
         lambda: order_edits.edit_order(store, manager, unpaid.order_id,
                                        customer=CustomerDetails(None, "Bo", "1" * 41))),
        ("The reason is too long", CatalogError,
         lambda: catalog_edit.update_product(store, manager, product, {"price": 777}, "r" * 501)),
    ]


def test_too_long_texts_are_refused_in_words_and_nothing_is_written(store: LocalStore) -> None:
    for words, error, call in _cases(store):
        before = _ops(store)
        with pytest.raises(error, match=words):
            call()
        assert _ops(store) == before, words
