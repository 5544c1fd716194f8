"""Shifts for managers, read from the server's copy of what the tills synced.

The store's day is the sum of the Z reports of the shifts closed that day
(app/domain/shift_report.py ``day_totals``), so it equals its tills' Zs by construction;
each till's over/short is listed beside it. Reads only; the caller's organization is
the scope (a store or shift of another organization is "not found").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import shift_report, till_limits
from server.context import AppContext
from server.db.models import Shift, Store
from server.db.trading_day import CashMovement
from server.errors import not_found
from server.shifts.live import live_report
from server.shifts.schemas import ShiftOut, ShiftReportOut, StoreDayOut, TerminalDay


def variance_threshold(session: Session, store_id: str) -> int:
    """The over/short a close may have without an approver: the store's till limits'
    ``over_short_threshold`` (app/domain/till_limits.py)."""
    store = session.get(Store, store_id)
    raw = store.till_limits if store is not None else None
    return till_limits.from_dict(raw if isinstance(raw, dict) else None).over_short_threshold


def shift_out(sh: Shift) -> ShiftOut:
    return ShiftOut.model_validate(sh, from_attributes=True)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def list_shifts(ctx: AppContext, org_id: str, store_id: str | None, terminal_id: str | None,
                day_from: date | None, day_to: date | None, status: str | None,
                limit: int, offset: int) -> list[ShiftOut]:
    """The organization's shifts, newest first, opened within [day_from, day_to] (UTC)."""
    with ctx.reader() as session:
        stmt = select(Shift).where(Shift.org_id == org_id)
        if store_id:
            stmt = stmt.where(Shift.store_id == store_id)
        if terminal_id:
            stmt = stmt.where(Shift.terminal_id == terminal_id)
        if status:
            stmt = stmt.where(Shift.status == status)
        if day_from:
            stmt = stmt.where(Shift.opened_at >= _day_bounds(day_from)[0])
        if day_to:
            stmt = stmt.where(Shift.opened_at < _day_bounds(day_to)[1])
        stmt = stmt.order_by(Shift.opened_at.desc(), Shift.id).limit(limit).offset(offset)
        return [shift_out(sh) for sh in session.scalars(stmt)]


def _movement(mv: CashMovement) -> dict[str, Any]:
    return {"id": mv.id, "kind": mv.kind, "amount": mv.amount, "reason": mv.reason,
            "actor_id": mv.actor_id, "created_at": mv.created_at.isoformat()}


def shift_report_of(ctx: AppContext, org_id: str, shift_id: str) -> ShiftReportOut:
    """A shift of the organization with its Z report and cash movements (404 otherwise)."""
    with ctx.reader() as session:
        sh = session.get(Shift, shift_id)
        if sh is None or sh.org_id != org_id:
            raise not_found("Shift")
        moves = session.scalars(select(CashMovement).where(CashMovement.shift_id == sh.id)
                                .order_by(CashMovement.created_at, CashMovement.id))
        live = live_report(session, sh).as_dict() if sh.status == "open" else None
        return ShiftReportOut.model_validate(
            shift_out(sh).model_dump() | {"report": sh.report, "live": live,
                                          "cash_movements": [_movement(m) for m in moves]})


def store_day(ctx: AppContext, org_id: str, store_id: str, day: date) -> StoreDayOut:
    """The sum of the store's Zs closed on ``day`` (UTC), with each till's over/short."""
    start, end = _day_bounds(day)
    with ctx.reader() as session:
        store = session.get(Store, store_id)
        if store is None or store.org_id != org_id:
            raise not_found("Store")
        shifts = list(session.scalars(select(Shift).where(
            Shift.store_id == store_id, Shift.status == "closed", Shift.closed_at >= start,
            Shift.closed_at < end).order_by(Shift.terminal_id, Shift.z_number)))
    figures = [(sh.report or {}).get("figures") or {} for sh in shifts]
    return StoreDayOut(
        store_id=store_id, date=day.isoformat(), shifts=len(shifts),
        totals=shift_report.day_totals(figures),
        counted_cash=sum(sh.counted_cash or 0 for sh in shifts),
        over_short=sum(sh.over_short or 0 for sh in shifts),
        terminals=[TerminalDay(terminal_id=sh.terminal_id, shift_id=sh.id, z_number=sh.z_number,
                               counted_cash=sh.counted_cash, expected_cash=sh.expected_cash,
                               over_short=sh.over_short, closed_at=sh.closed_at)
                   for sh in shifts])
