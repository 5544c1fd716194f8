"""Till limits at the till (app/domain/till_limits.py, app/services/till_limits.py): a sale
past the cashier's limits is refused in words without a manager; with one it is recorded,
names them as approved_by and carries their proof; a price override is sent with the
catalogue's price; the store's limits from the server replace the defaults."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select, update

from app.domain import approval_proof
from app.domain import till_limits as rules
from app.domain.cart import Cart, CartLine
from app.domain.operations import OpType
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import till_limits
from app.services.sales import SaleError, record_sale
from app.store.models import OutboxOperation, StoreSettings
from app.store.outbox_crypto import open_payload

KEY = b"k" * 32


def _cart(percent_ppm: int = 0, price: int | None = None) -> Cart:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Wool scarf", unit_price=2000,
                      qty_milli=1000, tax_rate_ppm=200_000))
    if percent_ppm:
        cart.set_line_discount(0, Discount(percent_ppm=percent_ppm))
    if price is not None:
        cart.set_price(0, price)
    return cart


def _pay(cart: Cart) -> list[Tender]:
    return [Tender(Method.CARD, cart.totals().total)]


def _last_op(store):  # noqa: ANN001, ANN202
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.ORDER_CREATE)
                       .order_by(OutboxOperation.op_seq.desc())).first()
        return op, open_payload(s.info.get("cipher"), op.payload) or op.payload


def test_the_rule_in_words() -> None:
    lines = [rules.SaleLine("Tea", 1000, 1000, 0, Discount(percent_ppm=600_000))]
    assert rules.sale_breaches(rules.DEFAULT, Role.CASHIER, lines, Discount(), inclusive=True) == [
        "a 60 % discount on Tea is over a cashier's 10 % line limit"]
    assert rules.sale_breaches(rules.DEFAULT, Role.MANAGER, lines, Discount(), inclusive=True) == []
    assert rules.from_dict({"line_discount_ppm": {"cashier": "lots"}, "no_sale": ["nobody"]}) \
        == replace(rules.DEFAULT, no_sale=frozenset())
    assert rules.from_dict(rules.to_dict(rules.DEFAULT)) == rules.DEFAULT


def test_a_cashiers_60_percent_discount_needs_a_manager(store, actors) -> None:  # noqa: ANN001
    cashier = actors[Role.CASHIER]
    manager = replace(actors[Role.MANAGER], approval_key=KEY)
    cart = _cart(600_000)
    assert till_limits.sale_breaches(store, cashier, cart) == [
        "a 60 % discount on Wool scarf is over a cashier's 10 % line limit"]
    with pytest.raises(SaleError, match="needs a manager's approval: a 60 % discount"):
        record_sale(store, cashier, cart, _pay(cart))
    with pytest.raises(SaleError, match="may not approve this"):
        record_sale(store, cashier, cart, _pay(cart), approver=cashier)
    record_sale(store, cashier, cart, _pay(cart), approver=manager)
    op, payload = _last_op(store)
    assert op.actor_id == cashier.staff_id and payload["approved_by"] == manager.staff_id
    assert op.approval_proof["by"] == manager.staff_id
    message = approval_proof.canonical_bytes(
        op_type=op.type, entity_id=op.entity_id, device_id=op.device_id, op_id=op.op_id,
        actor_id=op.actor_id, payload=payload)
    assert approval_proof.check_mac(KEY, message, op.approval_proof["mac"])


def test_within_the_limit_no_approver_is_named(store, actors) -> None:  # noqa: ANN001
    cashier = actors[Role.CASHIER]
    manager = replace(actors[Role.MANAGER], approval_key=KEY)
    cart = _cart(100_000)
    record_sale(store, cashier, cart, _pay(cart), approver=manager)  # not needed: not named
    op, payload = _last_op(store)
    assert payload["approved_by"] is None and op.approval_proof is None


def test_a_price_override_carries_the_catalogue_price(store, actors) -> None:  # noqa: ANN001
    cashier = actors[Role.CASHIER]
    manager = replace(actors[Role.MANAGER], approval_key=KEY)
    cart = _cart(price=1500)
    assert cart.lines[0].list_price == 2000
    with pytest.raises(SaleError, match="the price of Wool scarf was changed"):
        record_sale(store, cashier, cart, _pay(cart))
    record_sale(store, cashier, cart, _pay(cart), approver=manager)
    _, payload = _last_op(store)
    assert payload["price_overrides"] == [{"line_id": cart.lines[0].id, "list_price": 2000}]
    cart.set_price(0, 2000)  # back to the catalogue's price: no override
    assert cart.lines[0].list_price is None


def test_the_stores_limits_replace_the_defaults(store, actors) -> None:  # noqa: ANN001
    with store.db.write() as s:
        s.execute(update(StoreSettings).values(till_limits={"line_discount_ppm": {"cashier": 700_000},
                                                            "auto_open_shift": False}))
    assert till_limits.sale_breaches(store, actors[Role.CASHIER], _cart(600_000)) == []
    assert not till_limits.auto_open_shift(store)


def _paid_sale(store, actor):  # noqa: ANN001, ANN202
    cart = _cart()
    return record_sale(store, actor, cart, _pay(cart)), cart.lines[0].id


def test_a_refund_without_a_receipt_follows_the_stores_limits(store, actors) -> None:  # noqa: ANN001
    from app.services import approvals

    cashier, manager, owner = actors[Role.CASHIER], actors[Role.MANAGER], actors[Role.OWNER]
    sale, line_id = _paid_sale(store, cashier)
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [approvals.RefundItem(line_id, 500)], "no receipt, regular",
                                   without_receipt=True)  # a manager may by default
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.REFUND_CREATE)).one()
        assert op.payload["without_receipt"] is True
    with store.db.write() as s:
        s.execute(update(StoreSettings).values(till_limits={"refund_without_receipt": ["owner"]}))
    with pytest.raises(approvals.ApprovalError, match="refund without a receipt is beyond a "
                                                      "manager's till limits"):
        approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                       [approvals.RefundItem(line_id, 500)], "no receipt",
                                       without_receipt=True)
    approvals.refund_with_override(store, cashier, owner, sale.order_id,
                                   [approvals.RefundItem(line_id, 500)], "no receipt", without_receipt=True)
