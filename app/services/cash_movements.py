"""Cash in and out of a shift's drawer without a sale: paid in, paid out, a drop to the
safe, and a "no sale" (the drawer opened with nothing sold: audited, amount 0).

Each is one mutation: the ``cash_movements`` row, its audit entry and its ``cash.move``
operation in one transaction, on this till's OPEN shift only (a closed shift is
read-only). Paid in and paid out need a reason; cash paid out or dropped cannot be more
than the drawer should hold (app/domain/shift_rules.py ``movement_refusal``). They
count in the X and Z reports' expected cash. Kicking the drawer open is the screen's
part (printing's drawer kick) once the service has recorded the movement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from app.domain import shift_rules
from app.domain import till_limits as limit_rules
from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.operations import Entity, OpType
from app.domain.payloads import CashMove
from app.domain.permissions import Action, require
from app.domain.shift_report import MovementKind
from app.domain.text_rules import too_long
from app.services import shift_reports, till_limits
from app.store.local import LocalStore
from app.store.models_shifts import CashMovement, Shift
from app.store.unit_of_work import Actor, mutation


class CashMovementError(ValueError):
    """A cash movement that cannot be recorded; the message is for the person at the till."""


@dataclass(frozen=True)
class CashMovementView:
    """A recorded cash movement (amount in minor units, always >= 0; the kind says which way)."""

    id: str
    shift_id: str
    kind: str  # pay_in, pay_out, drop, no_sale
    amount: int
    reason: str | None
    actor_id: str
    created_at: datetime


def _view(mv: CashMovement) -> CashMovementView:
    at = mv.created_at if mv.created_at.tzinfo else mv.created_at.replace(tzinfo=UTC)
    return CashMovementView(mv.id, mv.shift_id, mv.kind, mv.amount, mv.reason, mv.actor_id, at)


def _signer(store: LocalStore, actor: Actor, kind: str, approver: Actor | None) -> Actor:
    """Who the movement's op is by: the actor, or for a no-sale beyond the actor's till
    limits the approver (who must be allowed it; their proof goes with the op)."""
    if kind != MovementKind.NO_SALE:
        require(actor.role, Action.CASH_MOVE)
        return actor
    require(actor.role, Action.DRAWER_NO_SALE)
    limits = till_limits.limits(store)
    if limits.may_open_drawer(actor.role):
        return actor
    if approver is None:
        raise CashMovementError("Opening the drawer without a sale needs a manager's PIN "
                                f"({limit_rules.no_sale_breach(limits, actor.role)})")
    require(approver.role, Action.DRAWER_NO_SALE)
    problem = limit_rules.no_sale_breach(limits, approver.role)
    if problem:
        raise CashMovementError(f"{approver.name} may not allow it: {problem}")
    return approver


def _record(store: LocalStore, actor: Actor, kind: str, amount: int,
            reason: str | None, approver: Actor | None = None) -> CashMovementView:
    """One movement on the open shift: row + audit + ``cash.move`` op, or nothing."""
    signer = _signer(store, actor, kind, approver)
    reason = reason.strip() if reason and reason.strip() else None
    problem = too_long("The reason", reason, MAX_REASON)
    if problem:
        raise CashMovementError(problem)
    with mutation(store.db, store.device_id, signer, OpType.CASH_MOVE) as m:
        shift = m.session.scalar(select(Shift).where(Shift.device_id == m.device.id,
                                                     Shift.status == "open"))
        expected = shift_reports.figures(m.session, shift, m.at).expected_cash if shift else 0
        problem = shift_rules.movement_refusal(shift is not None, kind, amount, reason, expected)
        if problem or shift is None:
            raise CashMovementError(problem or "Open a shift first")
        mv = CashMovement(id=new_id(), shift_id=shift.id, device_id=m.device.id, kind=kind,
                          amount=amount, reason=reason, actor_id=actor.staff_id,
                          created_at=m.at, version=0)
        m.session.add(mv)
        m.session.flush()
        m.audit(Entity.CASH_MOVEMENT, mv.id, {"kind": {"before": None, "after": kind},
                                              "amount": {"before": None, "after": amount}},
                reason=reason)
        m.emit(OpType.CASH_MOVE, mv.id, CashMove(
            movement_id=mv.id, shift_id=shift.id, kind=kind,  # type: ignore[arg-type]
            amount=amount, reason=reason, created_at=m.at,
            approved_by=signer.staff_id if signer is not actor else None))
        return _view(mv)


def pay_in(store: LocalStore, actor: Actor, amount: int, reason: str) -> CashMovementView:
    """Cash put into the drawer without a sale (change from the bank, a float top-up)."""
    return _record(store, actor, MovementKind.PAY_IN, amount, reason)


def pay_out(store: LocalStore, actor: Actor, amount: int, reason: str) -> CashMovementView:
    """Cash taken from the drawer to pay for something (a delivery, window cleaning)."""
    return _record(store, actor, MovementKind.PAY_OUT, amount, reason)


def cash_drop(store: LocalStore, actor: Actor, amount: int,
              reason: str | None = None) -> CashMovementView:
    """Cash taken from the drawer to the safe, so the drawer does not hold too much."""
    return _record(store, actor, MovementKind.DROP, amount, reason)


def no_sale(store: LocalStore, actor: Actor, reason: str | None = None,
            approver: Actor | None = None) -> CashMovementView:
    """The drawer opened without a sale: recorded and audited (the screen kicks the
    drawer after this returns). Beyond the actor's till limits (the store's ``no_sale``
    roles, app/services/till_limits.py ``may_open_drawer``) it needs ``approver``, a
    manager who typed their PIN, who then signs the op; CashMovementError otherwise."""
    return _record(store, actor, MovementKind.NO_SALE, 0, reason, approver)


def movements(store: LocalStore, shift_id: str | None = None) -> list[CashMovementView]:
    """A shift's cash movements, oldest first (this till's open shift when no id)."""
    with store.db.read() as s:
        if shift_id is None:
            shift_id = s.scalar(select(Shift.id).where(Shift.device_id == store.device_id,
                                                       Shift.status == "open"))
            if shift_id is None:
                return []
        rows = s.scalars(select(CashMovement).where(CashMovement.shift_id == shift_id)
                         .order_by(CashMovement.created_at, CashMovement.id)).all()
        return [_view(mv) for mv in rows]
