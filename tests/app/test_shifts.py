"""A till's shift: open with a float, close with the drawer counted, in one mutation each,
kept in SQLite across a restart (app/services/shifts.py, app/domain/shift_rules.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.operations import OpType
from app.domain.permissions import PermissionDenied, Role
from app.domain.tender import Method, Tender
from app.services import shifts
from app.services.sales import record_sale
from app.store.local import open_store
from app.store.models import AuditEntry, OutboxOperation, Shift
from tests.conftest import TEST_PASSPHRASE


def _ops(store, shift_id):  # noqa: ANN001, ANN202
    with store.db.read() as s:
        return [(o.type, o.payload) for o in s.scalars(
            select(OutboxOperation).where(OutboxOperation.entity_id == shift_id)
            .order_by(OutboxOperation.op_seq))]


def test_open_writes_row_audit_and_outbox_op(store, actors) -> None:
    opened = shifts.open_shift(store, actors[Role.CASHIER], float_counted={1000: 5, 200: 10})
    assert opened.opening_float == 7000 and opened.status == "open"
    assert shifts.current_shift(store) == opened
    [(op_type, payload)] = _ops(store, opened.id)
    assert op_type == OpType.SHIFT_OPEN
    assert payload["shift_id"] == opened.id and payload["opening_float"] == 7000
    assert {int(k): v for k, v in payload["float_counted"].items()} == {1000: 5, 200: 10}
    with store.db.read() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == opened.id)).all()
        assert [a.entity_type for a in audit] == ["shift"]


def test_one_open_shift_per_till_and_close_needs_one(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    with pytest.raises(shifts.ShiftError, match="no open shift"):
        shifts.close_shift(store, cashier, 0)
    shifts.open_shift(store, cashier, 0)
    with pytest.raises(shifts.ShiftError, match="already has an open shift"):
        shifts.open_shift(store, cashier, 500)
    with store.db.read() as s:
        assert len(s.scalars(select(Shift)).all()) == 1
        assert len(s.scalars(select(OutboxOperation)).all()) == 1


def test_amounts_in_range_and_counts_add_up(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    with pytest.raises(shifts.ShiftError, match="opening float must be between"):
        shifts.open_shift(store, cashier, -1)
    with pytest.raises(shifts.ShiftError, match="not the sum"):
        shifts.open_shift(store, cashier, 100, {50: 1})
    with pytest.raises(shifts.ShiftError, match="worth more than zero"):
        shifts.open_shift(store, cashier, float_counted={0: 3})
    shifts.open_shift(store, cashier, 0)
    with pytest.raises(shifts.ShiftError, match="counted cash must be between"):
        shifts.close_shift(store, cashier, 10**12)
    assert shifts.current_shift(store) is not None


def test_stock_person_may_not_open_a_shift(store, actors) -> None:
    with pytest.raises(PermissionDenied):
        shifts.open_shift(store, actors[Role.STOCK], 0)


def test_close_counts_cash_sales_and_survives_a_restart(tmp_path, actors) -> None:
    """(``actors`` are plain values: the till here is its own store, closed and reopened.)"""
    store = open_store(tmp_path / "till", passphrase=TEST_PASSPHRASE)
    try:
        cashier = actors[Role.CASHIER]
        opened = shifts.open_shift(store, cashier, 5000)
    finally:
        store.close()
    store = open_store(tmp_path / "till", passphrase=TEST_PASSPHRASE)
    try:
        assert shifts.current_shift(store) == opened
        cart = Cart(tax_inclusive=True)
        cart.add(CartLine(product_id=None, sku=None, name="Lamp", unit_price=1200,
                          qty_milli=1000, tax_rate_ppm=0))
        record_sale(store, cashier, cart, [Tender(Method.CASH, 2000)])
        assert shifts.expected_cash(store) == 6200
        closed = shifts.close_shift(store, cashier, 6150, reason="  coin dropped ")
        assert (closed.expected_cash, closed.counted_cash, closed.over_short) == (6200, 6150, -50)
        assert closed.close_reason == "coin dropped"
        assert shifts.current_shift(store) is None
        (_, _), (close_type, payload) = _ops(store, opened.id)
        assert close_type == OpType.SHIFT_CLOSE
        assert payload["expected_cash"] == 6200 and payload["over_short"] == -50
        reopened = shifts.open_shift(store, cashier, 0)
        assert reopened.id != opened.id
    finally:
        store.close()
