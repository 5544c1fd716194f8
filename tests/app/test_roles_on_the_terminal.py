"""Every role x every guarded terminal action: the services allow exactly what the table says.

The permission table (app.domain.permissions) is the spec; this drives the real
services, so a service that forgot its check, or checks the wrong action, fails here.
"""

import itertools
from collections.abc import Callable

import pytest

from app import demo
from app.domain.cart import Cart
from app.domain.ids import new_id
from app.domain.permissions import Action, PermissionDenied, Role, allowed
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import (
    approvals,
    catalog,
    catalog_csv,
    catalog_edit,
    inventory,
    order_edits,
    sales,
)
from app.store.local import open_store
from app.store.unit_of_work import Actor


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("roles"), passphrase="test-passphrase")
    demo.seed(s, 60)
    yield s
    s.close()


def _product(store) -> str:
    return catalog.search(store, "Harbour")[0].id


def _pending_order(store) -> str:
    owner = Actor("owner-fixture", "Owner", Role.OWNER)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, _product(store)))
    return sales.record_sale(store, owner, cart, []).order_id


def _paid_order(store) -> tuple[str, str]:
    owner = Actor("owner-fixture", "Owner", Role.OWNER)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, _product(store)))
    sale = sales.record_sale(store, owner, cart, [Tender(Method.CARD, cart.totals().total)])
    from app.services.order_detail import order_detail

    return sale.order_id, order_detail(store, sale.order_id).lines[0].id


def _sale(store, actor, discount: str | None = None):
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, _product(store)))
    if discount == "line":
        cart.set_line_discount(0, Discount(percent_ppm=100_000))
    approver = None
    if discount == "order":  # past a cashier's 0 % order limit: a manager approves, as at the till
        cart.set_order_discount(Discount(percent_ppm=100_000))
        approver = Actor(new_id(), "Manager", Role.MANAGER)
    return sales.record_sale(store, actor, cart, [Tender(Method.CASH, 100_000)], approver=approver)


_levels = itertools.count(1000, 1000)  # a new value each time, so every edit changes something

ACTIONS: dict[Action, Callable] = {
    Action.SALE_CREATE: lambda st, a: _sale(st, a),
    Action.SALE_LINE_DISCOUNT: lambda st, a: _sale(st, a, "line"),
    Action.SALE_ORDER_DISCOUNT: lambda st, a: _sale(st, a, "order"),
    Action.PAYMENT_RECORD: lambda st, a: sales.record_payment(st, a, _pending_order(st), Tender(Method.CARD, 1)),
    Action.ORDER_EDIT: lambda st, a: order_edits.edit_order(st, a, _pending_order(st), note="edited"),
    Action.ORDER_DELETE_REQUEST: lambda st, a: approvals.request_deletion(st, a, _pending_order(st), "why"),
    Action.REFUND_REQUEST: lambda st, a: approvals.request_refund(
        st, a, *(lambda o: (o[0], [approvals.RefundItem(o[1], 1000)]))(_paid_order(st)), "broken"),
    Action.APPROVAL_DECIDE: lambda st, a: approvals.decide(
        st, a, approvals.request_deletion(st, Actor("c", "C", Role.CASHIER), _pending_order(st), "x"), False),
    Action.STOCK_COUNT: lambda st, a: inventory.commit_count(
        st, a, (lambda c: (c.set_count(_product(st), 123_000), c)[1])(inventory.CountSession(st))),
    Action.STOCK_RECEIVE: lambda st, a: inventory.receive(st, a, _product(st), 1000),
    Action.STOCK_ADJUST: lambda st, a: inventory.adjust(st, a, _product(st), -1000, "damage"),
    Action.CATALOG_EDIT: lambda st, a: catalog_edit.update_product(
        st, a, _product(st), {"reorder_level_milli": next(_levels)}),
    Action.CATALOG_IMPORT: lambda st, a: catalog_csv.import_csv(st, a, "sku,name,price,tax_rate\n"),
    Action.PRODUCT_QUICK_ADD: lambda st, a: catalog_edit.quick_add(
        st, a, catalog_edit.NewProduct(f"QA-{a.role.value}", "Quick", 100, 0)),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_service_allows_exactly_what_the_table_says(store, role, action):
    actor = Actor(f"{role.value}-id", role.value.title(), role)
    if allowed(role, action):
        ACTIONS[action](store, actor)  # must not raise PermissionDenied
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](store, actor)
