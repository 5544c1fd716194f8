"""cash.move: cash paid in, paid out, dropped to the safe, or a no-sale, on a till's
open shift (issue 14).

A movement belongs to its till's shift (conflicts: never). The server keeps it and
refuses in words what cannot be a true record: a movement on another till's shift, on
a shift it never saw opened, on a CLOSED shift (a closed shift is read-only), a reused
movement id, an amount or reason the shift rules refuse, or a no-sale beyond its
actor's till limits (app/domain/till_limits.py; a manager who allows one at the till
signs the op: ``approved_by`` with their proof). The answer carries the
shift's version: each movement bumps it and puts the shift in the store's feed.
"""

from __future__ import annotations

from app.domain import shift_rules, till_limits
from app.domain.limits import MAX_AMOUNT
from app.domain.operations import Entity, OpType
from app.domain.payloads import CashMove
from app.domain.shift_report import MovementKind
from server.db.models import Store
from server.db.trading_day import CashMovement
from server.sync.common import OpContext, Outcome, Rejected
from server.sync.shifts import open_shift_of_this_till, publish_shift, terminal_of
from sync.protocol import OpStatus


def cash_move(oc: OpContext) -> Outcome:
    """Record a cash movement the till made on its open shift."""
    p = oc.payload_as(CashMove)
    if p.movement_id != oc.op.entity_id:
        raise Rejected("entity_id must be the movement_id")
    terminal_id = terminal_of(oc)
    shift = open_shift_of_this_till(oc, p.shift_id, terminal_id,
                                    "is closed: a closed shift is read-only")
    if oc.session.get(CashMovement, p.movement_id) is not None:
        raise Rejected(f"cash movement {p.movement_id} was already recorded")
    # the server does not know the drawer's cash: only the till can refuse a payout for it
    problem = shift_rules.movement_refusal(True, p.kind, p.amount, p.reason, MAX_AMOUNT)
    if p.kind == MovementKind.NO_SALE and problem is None:
        store = oc.session.get(Store, shift.store_id)
        limits = till_limits.from_dict(store.till_limits if store is not None else None)
        problem = till_limits.no_sale_breach(limits, oc.actor.role)
    if problem:
        raise Rejected(problem)
    reason = p.reason.strip() if p.reason and p.reason.strip() else None
    oc.session.add(CashMovement(
        id=p.movement_id, org_id=shift.org_id, store_id=shift.store_id, terminal_id=terminal_id,
        shift_id=shift.id, kind=p.kind, amount=p.amount, reason=reason, actor_id=oc.actor.id,
        created_at=p.created_at))
    shift.version += 1
    oc.audit(Entity.CASH_MOVEMENT, p.movement_id, OpType.CASH_MOVE,
             {"kind": {"before": None, "after": p.kind},
              "amount": {"before": None, "after": p.amount}}, reason=reason,
             store_id=shift.store_id)
    publish_shift(oc, shift)
    return Outcome(OpStatus.APPLIED, shift.version)
