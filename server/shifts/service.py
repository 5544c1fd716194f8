"""Shifts for managers, read from the server's copy of what the tills synced.

The store's day is the sum of the Z reports of the shifts closed that day
(app/domain/shift_report.py ``day_totals``), so it equals its tills' Zs by construction;
a day, here and in the ``/shifts`` date filters, is the store's own, from local midnight
to local midnight in its time zone (server/analytics: ``store_zones``, ``day_range``);
each till's over/short is listed beside it. Reads only, kept to the caller's store
scope (server/tenancy/scope.py): an owner or admin reads every store of the
organization, a manager the stores whose tills they work on. A shift of a store out of
scope is "not found", as another organization's; a store named out of scope is 403
``store_scope``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from app.domain import shift_report, till_limits
from server.analytics.service import day_range, store_zones
from server.context import AppContext, StaffPrincipal
from server.db.models import Shift, Store
from server.db.trading_day import CashMovement
from server.errors import not_found
from server.shifts.live import live_report
from server.shifts.schemas import ShiftOut, ShiftReportOut, StoreDayOut, TerminalDay
from server.tenancy import scope as store_scope

#: what a store out of scope may not be asked for (403 store_scope)
SHIFTS = "read the shifts"


def variance_threshold(session: Session, store_id: str) -> int:
    """The over/short a close may have without an approver: the store's till limits'
    ``over_short_threshold`` (app/domain/till_limits.py)."""
    store = session.get(Store, store_id)
    raw = store.till_limits if store is not None else None
    return till_limits.from_dict(raw if isinstance(raw, dict) else None).over_short_threshold


def shift_out(sh: Shift) -> ShiftOut:
    return ShiftOut.model_validate(sh, from_attributes=True)


def _opened_within(session: Session, org_id: str, stores: list[str] | None,
                   day_from: date | None, day_to: date | None) -> ColumnElement[bool]:
    """Shifts opened from ``day_from`` to ``day_to`` (inclusive), each store's days in
    its own time zone; ``stores`` None: every store of the organization."""
    if stores is None:
        stores = list(session.scalars(select(Store.id).where(Store.org_id == org_id)))
    within: list[ColumnElement[bool]] = []
    for sid, zone in store_zones(session, stores).items():
        bounds = [Shift.store_id == sid]
        if day_from:
            bounds.append(Shift.opened_at >= day_range(zone, day_from, day_from)[0])
        if day_to:
            bounds.append(Shift.opened_at < day_range(zone, day_to, day_to)[1])
        within.append(and_(*bounds))
    return or_(*within) if within else false()


def list_shifts(ctx: AppContext, staff: StaffPrincipal, store_id: str | None,
                terminal_id: str | None, day_from: date | None, day_to: date | None,
                status: str | None, limit: int, offset: int) -> list[ShiftOut]:
    """The shifts of the stores in the caller's scope, newest first, opened within
    [day_from, day_to] (the days of each shift's store, in its time zone)."""
    with ctx.reader() as session:
        stores = store_scope.stores_read(session, staff, store_id, SHIFTS)
        stmt = select(Shift).where(Shift.org_id == staff.org_id)
        if stores is not None:
            stmt = stmt.where(Shift.store_id.in_(stores))
        if terminal_id:
            stmt = stmt.where(Shift.terminal_id == terminal_id)
        if status:
            stmt = stmt.where(Shift.status == status)
        if day_from or day_to:
            stmt = stmt.where(_opened_within(session, staff.org_id, stores, day_from, day_to))
        stmt = stmt.order_by(Shift.opened_at.desc(), Shift.id).limit(limit).offset(offset)
        return [shift_out(sh) for sh in session.scalars(stmt)]


def _movement(mv: CashMovement) -> dict[str, Any]:
    return {"id": mv.id, "kind": mv.kind, "amount": mv.amount, "reason": mv.reason,
            "actor_id": mv.actor_id, "created_at": mv.created_at.isoformat()}


def shift_report_of(ctx: AppContext, staff: StaffPrincipal, shift_id: str) -> ShiftReportOut:
    """A shift of a store in the caller's scope with its Z report and cash movements
    (404 otherwise)."""
    with ctx.reader() as session:
        sh = session.get(Shift, shift_id)
        if sh is None or sh.org_id != staff.org_id:
            raise not_found("Shift")
        store_scope.check_record_store(session, staff, sh.store_id, "Shift")
        moves = session.scalars(select(CashMovement).where(CashMovement.shift_id == sh.id)
                                .order_by(CashMovement.created_at, CashMovement.id))
        live = live_report(session, sh).as_dict() if sh.status == "open" else None
        return ShiftReportOut.model_validate(
            shift_out(sh).model_dump() | {"report": sh.report, "live": live,
                                          "cash_movements": [_movement(m) for m in moves]})


def store_day(ctx: AppContext, staff: StaffPrincipal, store_id: str, day: date
              ) -> StoreDayOut:
    """The sum of the store's Zs closed on ``day`` (the store's day, in its time zone),
    with each till's over/short (404 unless a store of the organization, 403
    ``store_scope`` unless in the caller's scope)."""
    with ctx.reader() as session:
        store_scope.check_named_store(session, staff, store_id, SHIFTS)
        start, end = day_range(store_zones(session, [store_id])[store_id], day, day)
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
