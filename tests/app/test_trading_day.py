"""The trading day at the till: cash movements, the X report, the close with its Z report
(app/services/cash_movements.py, shift_reports.py, app/domain/shift_report.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.operations import OpType
from app.domain.permissions import PermissionDenied, Role
from app.domain.tender import Method, Tender
from app.services import cash_movements, shift_reports, shifts
from app.services.sales import record_sale
from app.store.models import AuditEntry, OutboxOperation, Shift
from app.store.models_shifts import CashMovement


def _sale(store, actor, price: int, method: Method = Method.CASH) -> None:  # noqa: ANN001
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Lamp", unit_price=price, qty_milli=1000,
                      tax_rate_ppm=200_000))
    record_sale(store, actor, cart, [Tender(method, price)])


def test_cash_movements_are_row_audit_and_op_and_count_in_expected(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    shifts.open_shift(store, cashier, 10_000)
    _sale(store, cashier, 1200)
    cash_movements.pay_in(store, cashier, 2000, "change from the bank")
    cash_movements.pay_out(store, cashier, 500, "window cleaner")
    cash_movements.cash_drop(store, cashier, 5000)
    opened = cash_movements.no_sale(store, cashier, "customer wanted change")
    assert opened.amount == 0 and opened.kind == "no_sale"
    x = shift_reports.x_report(store)
    assert (x.paid_in, x.paid_out, x.drops, x.no_sales) == (2000, 500, 5000, 1)
    assert x.expected_cash == 10_000 + 1200 + 2000 - 500 - 5000
    assert shifts.expected_cash(store) == x.expected_cash
    with store.db.read() as s:
        moves = s.scalars(select(CashMovement)).all()
        ops = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.CASH_MOVE)).all()
        audits = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "cash_movement")).all()
    assert len(moves) == len(ops) == len(audits) == 4
    assert {o.payload["kind"] for o in ops} == {"pay_in", "pay_out", "drop", "no_sale"}


def test_cash_movements_refused_in_words(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    with pytest.raises(cash_movements.CashMovementError, match="Open a shift first"):
        cash_movements.pay_in(store, cashier, 100, "float")
    shifts.open_shift(store, cashier, 1000)
    with pytest.raises(cash_movements.CashMovementError, match="Say why"):
        cash_movements.pay_out(store, cashier, 100, "  ")
    with pytest.raises(cash_movements.CashMovementError, match="more than"):
        cash_movements.pay_in(store, cashier, 0, "nothing")
    with pytest.raises(cash_movements.CashMovementError, match="should hold only"):
        cash_movements.cash_drop(store, cashier, 1001)
    with pytest.raises(PermissionDenied):
        cash_movements.pay_in(store, actors[Role.STOCK], 100, "float")
    assert cash_movements.movements(store) == []


def test_x_report_changes_nothing(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    shifts.open_shift(store, cashier, 0)
    _sale(store, cashier, 1200)
    _sale(store, cashier, 800, Method.CARD)
    with store.db.read() as s:
        before = s.scalar(select(OutboxOperation.op_seq).order_by(OutboxOperation.op_seq.desc()))
    x = shift_reports.x_report(store)
    assert (x.sales_count, x.sales_total, x.average_sale) == (2, 2000, 1000)
    assert x.takings_by_tender == {"cash": 1200, "card": 800}
    assert x.tax_by_rate == {200_000: 200 + 133}
    with store.db.read() as s:
        after = s.scalar(select(OutboxOperation.op_seq).order_by(OutboxOperation.op_seq.desc()))
    assert before == after


def test_close_makes_z_numbers_in_order_and_the_shift_read_only(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    shifts.open_shift(store, cashier, 1000)
    _sale(store, cashier, 1200, Method.CARD)
    z1 = shift_reports.close_shift(store, cashier, counted_by_denomination={500: 2},
                                   card_batch_total=1150)
    assert (z1.z_number, z1.counted_cash, z1.over_short) == (1, 1000, 0)
    assert z1.card_difference == -50
    assert z1.pending_operations >= 2 and z1.oldest_pending_at is not None
    with pytest.raises(cash_movements.CashMovementError, match="Open a shift first"):
        cash_movements.pay_in(store, cashier, 100, "float")
    with pytest.raises(shift_reports.CloseError, match="no open shift"):
        shift_reports.close_shift(store, cashier, counted_cash=0)
    shifts.open_shift(store, cashier, 0)
    z2 = shift_reports.close_shift(store, cashier, counted_cash=0)
    assert z2.z_number == 2
    assert [z.z_number for z in shift_reports.z_reports(store)] == [2, 1]
    again = shift_reports.z_report(store, 1)
    assert again == z1
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.SHIFT_CLOSE)
                       .order_by(OutboxOperation.op_seq)).first()
        assert op is not None and op.payload["z_number"] == 1
        assert op.payload["report"]["figures"]["takings_by_tender"] == {"card": 1200}


def test_over_short_beyond_threshold_needs_reason_and_manager(store, actors) -> None:
    cashier, manager = actors[Role.CASHIER], actors[Role.MANAGER]
    shifts.open_shift(store, cashier, 10_000)
    with pytest.raises(shift_reports.CloseError, match="say why"):
        shift_reports.close_shift(store, cashier, counted_cash=8000)
    with pytest.raises(shift_reports.CloseError, match="manager must approve"):
        shift_reports.close_shift(store, cashier, counted_cash=8000, over_short_reason="till roll")
    with pytest.raises(PermissionDenied):
        shift_reports.close_shift(store, cashier, counted_cash=8000, over_short_reason="x",
                                  approver=cashier)
    with store.db.read() as s:
        assert s.scalar(select(Shift.status)) == "open"
        assert s.scalar(select(Shift.z_number)) is None
    z = shift_reports.close_shift(store, cashier, counted_cash=8000,
                                  over_short_reason="wrong change", approver=manager)
    assert (z.over_short, z.approved_by, z.closed_by) == (-2000, manager.staff_id, cashier.staff_id)
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.SHIFT_CLOSE)).one()
    assert op.actor_id == manager.staff_id and op.payload["approved_by"] == manager.staff_id


def test_no_sale_beyond_the_till_limits_needs_a_manager(store, actors) -> None:
    from app.store.models import StoreSettings

    cashier, manager = actors[Role.CASHIER], actors[Role.MANAGER]
    with store.db.write() as s:
        s.scalars(select(StoreSettings)).one().till_limits = {"no_sale": ["owner", "manager"]}
    shifts.open_shift(store, cashier, 0)
    with pytest.raises(cash_movements.CashMovementError, match="needs a manager's PIN"):
        cash_movements.no_sale(store, cashier)
    with pytest.raises(cash_movements.CashMovementError, match="may not allow it"):
        cash_movements.no_sale(store, cashier, approver=actors[Role.CASHIER])
    opened = cash_movements.no_sale(store, cashier, "customer wanted change", approver=manager)
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == OpType.CASH_MOVE)).one()
    assert (op.actor_id, op.payload["approved_by"], opened.kind) == (
        manager.staff_id, manager.staff_id, "no_sale")


def test_threshold_is_the_stores_till_limit(store, actors) -> None:
    from app.store.models import StoreSettings

    cashier = actors[Role.CASHIER]
    with store.db.write() as s:
        s.scalars(select(StoreSettings)).one().till_limits = {"over_short_threshold": 50}
    assert shift_reports.variance_threshold(store) == 50
    shifts.open_shift(store, cashier, 1000)
    with pytest.raises(shift_reports.CloseError, match="say why"):
        shift_reports.close_shift(store, cashier, counted_cash=1060)
    assert shift_reports.close_shift(store, cashier, counted_cash=1050).over_short == 50


def test_denominations_of_the_store_currency() -> None:
    from app.domain.denominations import denominations, total

    assert denominations("EUR")[:3] == (50000, 20000, 10000) and denominations("EUR")[-1] == 1
    assert 25 in denominations("usd") and denominations("JPY")[0] == 10000
    assert denominations("XTS")[-1] == 1  # not in the table: a 1-2-5 series
    assert total({5000: 2, 200: 3}) == 10600


def test_check_count_before_closing_writes_nothing(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    shifts.open_shift(store, cashier, 1000)
    _sale(store, cashier, 500, Method.CARD)
    check = shift_reports.check_count(store, counted_by_denomination={200: 3})
    assert (check.expected_cash, check.counted_cash, check.over_short) == (1000, 600, -400)
    assert (check.needs_approval, check.card_takings, check.threshold) == (False, 500, 500)
    assert shift_reports.check_count(store, counted_cash=0).needs_approval
    with pytest.raises(shift_reports.CloseError, match="not the sum"):
        shift_reports.check_count(store, counted_cash=5, counted_by_denomination={200: 3})
    assert shifts.current_shift(store) is not None
