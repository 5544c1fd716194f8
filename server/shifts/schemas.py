"""Bodies of the shift endpoints (amounts in minor units)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ShiftOut(BaseModel):
    id: str
    store_id: str
    terminal_id: str
    status: str = Field(description="open or closed")
    opened_by: str
    opened_at: datetime
    opening_float: int
    closed_by: str | None
    closed_at: datetime | None
    z_number: int | None = Field(description="the till's Z number (None while open)")
    counted_cash: int | None
    expected_cash: int | None
    over_short: int | None
    close_reason: str | None
    approved_by: str | None
    card_batch_total: int | None
    version: int


class ShiftReportOut(ShiftOut):
    """A shift with its Z report as the till made it at the close (``report``: the Z's
    figures and count, app/domain/shift_report.py ``ZReport.as_dict``), or while it is
    open its ``live`` X figures, and its cash movements as the server holds them."""

    report: dict[str, Any] | None
    live: dict[str, Any] | None = Field(
        default=None, description="an open shift's X figures as far as the server can tell "
        "from what its till has synced (server/shifts/live.py); None once closed")
    cash_movements: list[dict[str, Any]]


class TerminalDay(BaseModel):
    terminal_id: str
    shift_id: str
    z_number: int | None
    counted_cash: int | None
    expected_cash: int | None
    over_short: int | None
    closed_at: datetime | None


class StoreDayOut(BaseModel):
    """The store's day: the sum of the Z reports of the shifts closed that day (the
    store's day, in its time zone), with each till's over/short."""

    store_id: str
    date: str
    shifts: int
    totals: dict[str, Any] = Field(description="the sum of the Zs' figures "
                                   "(app/domain/shift_report.py day_totals)")
    counted_cash: int
    over_short: int
    terminals: list[TerminalDay]
