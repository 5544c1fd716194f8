"""A till's trading shift: open it with a float, close it with the drawer counted.

Each is one mutation (the shift row, its audit entry and its ``shift.open`` or
``shift.close`` operation in one SQLite transaction), so a shift survives a restart or
a power cut exactly as far as it was recorded. The rules are app/domain/shift_rules.py:
one open shift per till, closing needs it. The cash expected in the drawer is the X
report's (app/services/shift_reports.py): the opening float plus this till's cash
payments since the shift opened (a cash refund is a negative payment), plus paid in,
less paid out and drops (app/services/cash_movements.py). The close with its Z report
is shift_reports.close_shift; :func:`close_shift` here is its short form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import shift_rules
from app.domain.ids import new_id
from app.domain.operations import Entity, OpType
from app.domain.payloads import ShiftOpen
from app.domain.permissions import Action, require
from app.services import shift_reports
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Shift
from app.store.unit_of_work import Actor, Mutation, mutation


class ShiftError(ValueError):
    """A shift cannot be opened or closed as asked; the message is for the person at the till."""


class NoOpenShift(ShiftError):
    """Money would change hands (a sale, a later payment, a refund) with no shift open on
    this till, in a store that does not open one by itself; the message says so."""


#: Why a sale is refused on a till with no open shift in a store that does not open one
#: by itself.
NEEDS_A_SHIFT = ("Open a shift first: selling needs an open shift on this till "
                 "(Shift, Open shift)")


@dataclass(frozen=True)
class ShiftView:
    """A shift as the till shows it (amounts in minor units)."""

    id: str
    status: str
    opened_by: str
    opened_at: datetime
    opening_float: int
    float_counted: dict[int, int] | None
    closed_at: datetime | None = None
    counted_cash: int | None = None
    expected_cash: int | None = None
    over_short: int | None = None
    close_reason: str | None = None


def _aware(at: datetime | None) -> datetime | None:
    """SQLite keeps times without their zone; the till's are UTC."""
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def _view(shift: Shift) -> ShiftView:
    counted = ({int(d): int(n) for d, n in shift.float_counted.items()}
               if shift.float_counted is not None else None)
    return ShiftView(shift.id, shift.status, shift.opened_by, _aware(shift.opened_at) or shift.opened_at,
                     shift.opening_float, counted, _aware(shift.closed_at), shift.counted_cash,
                     shift.expected_cash, shift.over_short, shift.close_reason)


def _open_of(session: Session, device_id: str) -> Shift | None:
    return session.scalar(select(Shift).where(Shift.device_id == device_id,
                                              Shift.status == "open"))


def _expected(session: Session, shift: Shift) -> int:
    """The cash the drawer should hold now (the X report's expected cash)."""
    return shift_reports.figures(session, shift, utcnow()).expected_cash


def current_shift(store: LocalStore) -> ShiftView | None:
    """This till's open shift, or None."""
    with store.db.read() as s:
        shift = _open_of(s, store.device_id)
        return _view(shift) if shift is not None else None


def expected_cash(store: LocalStore) -> int | None:
    """The cash this till's drawer should hold now (None without an open shift)."""
    with store.db.read() as s:
        shift = _open_of(s, store.device_id)
        return _expected(s, shift) if shift is not None else None


def open_shift(store: LocalStore, actor: Actor, opening_float: int | None = None,
               float_counted: Mapping[int, int] | None = None) -> ShiftView:
    """Open this till's shift with a float: a total, or counted by note and coin."""
    require(actor.role, Action.SHIFT_OPEN)
    counted = dict(float_counted) if float_counted is not None else None
    if counted is not None:
        total, problem = shift_rules.by_denomination(counted)
        if problem:
            raise ShiftError(problem)
        if opening_float is not None and opening_float != total:
            raise ShiftError("The opening float is not the sum of the notes and coins counted")
        opening_float = total
    amount = 0 if opening_float is None else opening_float
    with mutation(store.db, store.device_id, actor, OpType.SHIFT_OPEN) as m:
        problem = shift_rules.open_refusal(_open_of(m.session, m.device.id) is not None, amount)
        if problem:
            raise ShiftError(problem)
        shift = Shift(id=new_id(), device_id=m.device.id, status="open",
                      opened_by=actor.staff_id, opened_at=m.at, opening_float=amount,
                      float_counted=None if counted is None else
                      {str(d): n for d, n in counted.items()}, version=0)
        m.session.add(shift)
        m.session.flush()
        m.audit(Entity.SHIFT, shift.id, {"status": {"before": None, "after": "open"},
                                         "opening_float": {"before": None, "after": amount}})
        m.emit(OpType.SHIFT_OPEN, shift.id, ShiftOpen(
            shift_id=shift.id, opened_at=m.at, opening_float=amount, float_counted=counted))
        return _view(shift)


def has_open_shift(m: Mutation) -> bool:
    """Whether this till has an open shift, read in the mutation's own transaction."""
    return m.cursor.execute("SELECT 1 FROM shifts WHERE device_id = ? AND status = 'open' "
                            "LIMIT 1", (m.device.id,)).fetchone() is not None


def still_open(m: Mutation) -> None:
    """NoOpenShift unless the shift :func:`require_open` found is still open, read under
    the mutation's write lock (no close came in between): nothing is written then."""
    if not has_open_shift(m):
        raise NoOpenShift(NEEDS_A_SHIFT)


def require_open(store: LocalStore, actor: Actor) -> None:
    """Money changes hands only within a shift (a sale, a later payment, a refund): with
    none open, open one with a zero float in ``actor``'s name when the store opens shifts
    by themselves (its till limits' ``auto_open_shift``, on by default), else
    NoOpenShift (:data:`NEEDS_A_SHIFT`). The services that take or pay back money call
    it before their mutation, and :func:`still_open` inside it, so every path obeys it."""
    from app.services import till_limits

    if current_shift(store) is not None:
        return
    if not till_limits.auto_open_shift(store):
        raise NoOpenShift(NEEDS_A_SHIFT)
    try:
        open_shift(store, actor, 0)
    except ShiftError:
        if current_shift(store) is None:  # not a shift opened in the meantime
            raise


def close_shift(store: LocalStore, actor: Actor, counted_cash: int,
                reason: str | None = None) -> ShiftView:
    """Close this till's open shift with the cash counted in its drawer (the short form
    of shift_reports.close_shift, which makes the Z report)."""
    try:
        z = shift_reports.close_shift(store, actor, counted_cash=counted_cash,
                                      over_short_reason=reason)
    except shift_reports.CloseError as exc:
        raise ShiftError(str(exc)) from exc
    with store.db.read() as s:
        shift = s.get(Shift, z.figures.shift_id)
        assert shift is not None
        return _view(shift)
