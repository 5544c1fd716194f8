"""Selling needs an open shift (issue 14 item 1), decided in the services that record a
sale, so every path obeys it: the register, the exchange, anything calling
sales.record_sale. With none open, a store that opens shifts by themselves
(``auto_open_shift``, on by default) opens one with a zero float in the seller's name
before the sale; a store that does not refuses the sale in words, writing nothing. The
one refusal is shifts.NoOpenShift, whichever service meets it (shifts.require_open)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.domain.cart import Cart, CartLine
from app.domain.operations import OpType
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import exchanges, shift_reports, shifts
from app.services.approvals import RefundItem
from app.services.order_detail import order_detail
from app.services.sales import SaleError, record_sale
from app.store.models import AuditEntry, Order, OutboxOperation, Refund, StoreSettings


def _cart(price: int = 1200) -> Cart:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Lamp", unit_price=price,
                      qty_milli=1000, tax_rate_ppm=0))
    return cart


def _ops(store) -> list[str]:  # noqa: ANN001
    with store.db.read() as s:
        return list(s.scalars(select(OutboxOperation.type).order_by(OutboxOperation.op_seq)))


def _no_auto_open(store) -> None:  # noqa: ANN001
    with store.db.write() as s:
        s.execute(update(StoreSettings).values(till_limits={"auto_open_shift": False}))


def test_by_default_a_sale_opens_a_shift_with_a_zero_float(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    assert shifts.current_shift(store) is None
    record_sale(store, cashier, _cart(), [Tender(Method.CASH, 2000)])
    opened = shifts.current_shift(store)
    assert opened is not None and (opened.opening_float, opened.opened_by) == (0, cashier.staff_id)
    assert _ops(store) == [OpType.SHIFT_OPEN, OpType.ORDER_CREATE]
    assert shift_reports.x_report(store).sales_count == 1
    record_sale(store, cashier, _cart(), [Tender(Method.CASH, 1200)])  # the same shift
    assert shifts.current_shift(store) == opened
    assert _ops(store) == [OpType.SHIFT_OPEN, OpType.ORDER_CREATE, OpType.ORDER_CREATE]


def test_a_store_that_does_not_open_shifts_refuses_the_sale(store, actors) -> None:
    _no_auto_open(store)
    cashier = actors[Role.CASHIER]
    with pytest.raises(shifts.NoOpenShift, match="Open a shift"):
        record_sale(store, cashier, _cart(), [Tender(Method.CASH, 2000)])
    assert _ops(store) == [] and shifts.current_shift(store) is None
    with store.db.read() as s:
        assert s.scalars(select(Order)).all() == [] and s.scalars(select(AuditEntry)).all() == []
    shifts.open_shift(store, cashier, 5000)
    record_sale(store, cashier, _cart(), [Tender(Method.CASH, 2000)])
    assert shifts.expected_cash(store) == 6200


def test_a_refused_sale_opens_no_shift(store, actors) -> None:
    cart = _cart()
    cart.set_line_discount(0, Discount(percent_ppm=600_000))  # past a cashier's limit, alone
    with pytest.raises(SaleError, match="manager's approval"):
        record_sale(store, actors[Role.CASHIER], cart, [Tender(Method.CASH, 2000)])
    assert _ops(store) == [] and shifts.current_shift(store) is None


def test_an_exchange_needs_an_open_shift_before_anything_is_refunded(store, actors) -> None:
    cashier, manager = actors[Role.CASHIER], actors[Role.MANAGER]
    shifts.open_shift(store, cashier, 0)
    sold = record_sale(store, cashier, _cart(), [Tender(Method.CASH, 1200)])
    shifts.close_shift(store, cashier, 1200)
    _no_auto_open(store)
    line = order_detail(store, sold.order_id).lines[0]
    before = _ops(store)
    with pytest.raises(shifts.NoOpenShift, match="Open a shift"):
        exchanges.record_exchange(store, cashier, manager, sold.order_id,
                                  [RefundItem(line.id, 1000)], _cart(1500), Method.CASH,
                                  "wrong size")
    assert _ops(store) == before and shifts.current_shift(store) is None
    with store.db.read() as s:
        assert s.scalars(select(Refund)).all() == []


def test_a_later_payment_goes_into_a_shift_too(store, actors) -> None:
    """An installment taken after the shift of its sale closed belongs to a shift (the
    next Z counts it), never to the time between two shifts."""
    from app.services.sales import record_payment

    cashier = actors[Role.CASHIER]
    shifts.open_shift(store, cashier, 0)
    sold = record_sale(store, cashier, _cart(), [Tender(Method.CASH, 500)])  # 700 owed
    shifts.close_shift(store, cashier, 500)
    _no_auto_open(store)
    before = _ops(store)
    with pytest.raises(shifts.NoOpenShift, match="Open a shift"):
        record_payment(store, cashier, sold.order_id, Tender(Method.CASH, 300))
    assert _ops(store) == before and shifts.current_shift(store) is None
    with store.db.write() as s:
        s.execute(update(StoreSettings).values(till_limits={"auto_open_shift": True}))
    record_payment(store, cashier, sold.order_id, Tender(Method.CASH, 300))
    assert _ops(store) == [*before, OpType.SHIFT_OPEN, OpType.PAYMENT_RECORD]
    assert shifts.expected_cash(store) == 300  # in the new shift's drawer, counted at its Z


def test_a_refund_pays_back_within_a_shift(store, actors) -> None:
    """A refund's money leaves this till's drawer: with no shift open it opens one by the
    store's setting (else it is refused, nothing written), so the next Z counts it."""
    from app.services.approvals import refund_with_override

    cashier, manager = actors[Role.CASHIER], actors[Role.MANAGER]
    shifts.open_shift(store, cashier, 0)
    sold = record_sale(store, cashier, _cart(), [Tender(Method.CASH, 1200)])
    shifts.close_shift(store, cashier, 1200)
    line = order_detail(store, sold.order_id).lines[0]
    _no_auto_open(store)
    with pytest.raises(shifts.NoOpenShift, match="Open a shift"):
        refund_with_override(store, cashier, manager, sold.order_id, [RefundItem(line.id, 1000)],
                             "broken", method="cash")
    with store.db.read() as s:
        assert s.scalars(select(Refund)).all() == []
    assert shifts.current_shift(store) is None
    with store.db.write() as s:
        s.execute(update(StoreSettings).values(till_limits={"auto_open_shift": True}))
    refund_with_override(store, cashier, manager, sold.order_id, [RefundItem(line.id, 1000)],
                         "broken", method="cash")
    assert shifts.current_shift(store) is not None
    assert shifts.expected_cash(store) == -1200  # paid out of the new shift's drawer
