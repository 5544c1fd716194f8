"""The exchange is one transaction (issue 21, review mend): the refund request, its
approval and the new sale commit together or not at all, so a crash or a refusal after
the refund part can never leave the money paid back without the new items sold.

The failure is a real one, in the real store: a SQLite trigger refuses the new sale's
order row, after the refund's rows, audit entries and operations were written in the
same transaction."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, text

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import exchanges, shifts
from app.services.approvals import RefundItem
from app.services.order_detail import order_detail
from app.services.sales import record_sale
from app.store.models import AuditEntry, Order, OutboxOperation, Refund
from app.store.models_aftersale import Approval


def _cart(price: int, name: str = "Lamp") -> Cart:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name=name, unit_price=price, qty_milli=1000, tax_rate_ppm=0))
    return cart


def _counts(store) -> dict[str, int]:  # noqa: ANN001
    with store.db.read() as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (Order, Refund, Approval, AuditEntry, OutboxOperation)}


def _device(store) -> tuple[int, int]:  # noqa: ANN001
    with store.db.read() as s:
        return tuple(s.execute(text("SELECT op_seq, order_counter FROM device")).one())


def test_a_failure_after_the_refund_part_undoes_the_whole_exchange(store, actors) -> None:
    cashier, manager = actors[Role.CASHIER], actors[Role.MANAGER]
    shifts.open_shift(store, cashier, 0)
    sold = record_sale(store, cashier, _cart(1200), [Tender(Method.CASH, 1200)])
    line = order_detail(store, sold.order_id).lines[0]
    before, device = _counts(store), _device(store)
    cash = shifts.expected_cash(store)
    with store.db.write() as s:  # the new sale's order row is refused: a failure after the refund
        s.execute(text("CREATE TRIGGER refuse_exchange_sale BEFORE INSERT ON orders "
                       "WHEN NEW.note LIKE 'Exchange for%' BEGIN SELECT RAISE(ABORT, 'disk gone'); END"))

    with pytest.raises((sqlite3.Error, Exception), match="disk gone"):
        exchanges.record_exchange(store, cashier, manager, sold.order_id, [RefundItem(line.id, 1000)],
                                  _cart(1500, "Bigger lamp"), Method.CASH, "wrong size")

    assert _counts(store) == before  # no approval, refund, audit entry or operation stands
    assert _device(store) == device  # op_seq and the order counter are as they were: no gap
    detail = order_detail(store, sold.order_id)
    assert (detail.refunded, detail.status) == (0, "completed")
    assert shifts.expected_cash(store) == cash

    with store.db.write() as s:  # the same exchange, once nothing refuses it, is whole
        s.execute(text("DROP TRIGGER refuse_exchange_sale"))
    done = exchanges.record_exchange(store, cashier, manager, sold.order_id, [RefundItem(line.id, 1000)],
                                     _cart(1500, "Bigger lamp"), Method.CASH, "wrong size")
    after = _counts(store)
    assert after["Refund"] == before["Refund"] + 1 and after["Order"] == before["Order"] + 1
    with store.db.read() as s:
        seqs = list(s.scalars(select(OutboxOperation.op_seq).order_by(OutboxOperation.op_seq)))
    assert seqs == list(range(1, len(seqs) + 1))  # dense, in one transaction
    assert order_detail(store, done.new_order_id).total == 1500
    assert order_detail(store, sold.order_id).refunded == 1200
