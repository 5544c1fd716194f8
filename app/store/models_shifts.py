"""The till's trading shifts: opened with a float, closed with the drawer counted.

This till's own shifts are written by app/services/shifts.py and shift_reports.py (the
close with its Z report), its cash movements by app/services/cash_movements.py; the
store's other tills' shifts arrive from the change feed (sync/apply_shifts.py).
Amounts in minor units.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class Shift(Base):
    __tablename__ = "shifts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), index=True)  # the till's id
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    opened_by: Mapped[str] = mapped_column(String(36))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opening_float: Mapped[int] = mapped_column(Integer)
    float_counted: Mapped[dict | None] = mapped_column(JSON)  # {"denomination": count}
    closed_by: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counted_cash: Mapped[int | None] = mapped_column(Integer)
    expected_cash: Mapped[int | None] = mapped_column(Integer)
    over_short: Mapped[int | None] = mapped_column(Integer)
    close_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # the Z report, written in the close's transaction (issue 14)
    z_number: Mapped[int | None] = mapped_column(Integer)  # per till: 1, 2, 3... never reused
    counted_by_denomination: Mapped[dict | None] = mapped_column(JSON)  # {"denomination": count}
    card_batch_total: Mapped[int | None] = mapped_column(Integer)
    approved_by: Mapped[str | None] = mapped_column(String(36))  # the over/short's approver
    report: Mapped[dict | None] = mapped_column(JSON)  # ZReport.as_dict() at the close

    __table_args__ = (
        # a Z number is used once per till (None until the close)
        Index("ux_shifts_device_z", "device_id", "z_number", unique=True),
    )


class CashMovement(Base):
    """Cash into or out of a shift's drawer without a sale: paid in, paid out, a drop to
    the safe, or a "no sale" (the drawer opened, amount 0). Kept for the X/Z reports."""

    __tablename__ = "cash_movements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))  # pay_in, pay_out, drop, no_sale
    amount: Mapped[int] = mapped_column(Integer)  # >= 0; the kind says which way
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=0)
