"""The till's trading shifts: opened with a float, closed with the drawer counted.

This till's own shifts are written by app/services/shifts.py; the store's other tills'
shifts arrive from the change feed (sync/apply.py). Amounts in minor units.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
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
