"""An open shift's X report as far as the server can tell, from what its till synced.

The same definitions as the till's (app/domain/shift_report.py ``compute``), over the
server's rows: the till's orders created since the shift opened, its payments in that
time, its refunds (the server keeps them as refund rows, not negative payments) and the
shift's cash movements. A sale counts as recorded offline when the server received it
more than ``OFFLINE_AFTER`` after it was made. It lags the till by whatever has not
synced yet; the Z the till sends at the close is the record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import shift_report
from server.db.base import utcnow
from server.db.models import Order, OrderLine, Payment, Refund, Shift
from server.db.trading_day import CashMovement
from server.sync.orders import returned_of


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def live_report(session: Session, shift: Shift) -> shift_report.ShiftReport:
    """The X figures of ``shift`` now, from the server's rows."""
    start, now = shift.opened_at, utcnow()
    till = shift.terminal_id
    orders = list(session.scalars(select(Order).where(
        Order.device_id == till, Order.store_id == shift.store_id, Order.created_at >= start)))
    ids = [o.id for o in orders]
    lines = session.execute(select(OrderLine.order_id, OrderLine.tax_rate_ppm, OrderLine.tax)
                            .where(OrderLine.order_id.in_(ids))).all() if ids else []
    pays = session.execute(select(Payment.order_id, Payment.method, Payment.amount,
                                  Payment.installment_id).where(
        Payment.device_id == till, Payment.created_at >= start)).all()
    refunds = session.execute(select(Refund.order_id, Refund.method, Refund.amount).where(
        Refund.device_id == till, Refund.created_at >= start)).all()
    moves = session.execute(select(CashMovement.kind, CashMovement.amount).where(
        CashMovement.shift_id == shift.id)).all()
    return shift_report.compute(
        shift_id=shift.id, device_id=till, opened_at=_aware(start), opened_by=shift.opened_by,
        opening_float=shift.opening_float, as_of=now,
        orders=[shift_report.OrderRow(
            o.id, o.status, o.total, o.discount, o.paid, o.refunded,
            _aware(o.received_at) - _aware(o.created_at) > shift_report.OFFLINE_AFTER,
            len(o.installments or []),
            returned_of(session, o) if o.installments else 0) for o in orders],
        lines=[shift_report.LineRow(*li) for li in lines],
        payments=[shift_report.PaymentRow(*p) for p in pays]
        + [shift_report.PaymentRow(r.order_id, r.method, -r.amount) for r in refunds],
        movements=[shift_report.MovementRow(*m) for m in moves])
