"""shift.open and shift.close: a till's trading shift, as the till recorded it.

A shift belongs to its till (conflicts: never): the till decides it offline and the
server keeps the record, refusing in words what cannot be a true record (a second open
shift on one terminal, a close of a shift that is not open there, an over/short that is
not counted minus expected). Shifts are store-scoped entities of the change feed
(``entity_type: shift``), so the back office and the store's other tills see them.

The close carries its Z report (issue 14): the Z number is the till's, never reused
(a second close with a used number is rejected), an over/short beyond the store's
threshold needs a reason and an approver (whose proof the dispatch checked: the
catalogue makes a close with ``approved_by`` privileged), and a closed shift is
read-only (a second close, a cash movement on it: rejected). The close writes a
``shift.closed`` webhook event.
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain import shift_rules
from app.domain.operations import Entity, OpType
from app.domain.payloads import ShiftClose, ShiftOpen
from server.db.models import Shift
from server.feed.serialize import shift_state
from server.shifts.service import variance_threshold
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from sync.protocol import OpStatus


def publish_shift(oc: OpContext, shift: Shift) -> dict[str, object]:
    oc.session.flush()
    state = shift_state(shift)
    oc.publish(Entity.SHIFT, shift.id, shift.version, state, store_id=shift.store_id)
    return state


def terminal_of(oc: OpContext) -> str:
    if oc.terminal.terminal_id is None:
        raise Rejected("a shift is opened and closed at a till, not through the back office")
    return oc.terminal.terminal_id


def open_shift_of_this_till(oc: OpContext, shift_id: str, terminal_id: str,
                            when_closed: str) -> Shift:
    """The shift an op names, locked, when it is this till's and still open; else the
    refusal in words (``when_closed`` says why a closed one is refused)."""
    shift = oc.session.get(Shift, shift_id, with_for_update=True)
    if shift is None or shift.org_id != oc.terminal.org_id:
        raise Rejected(f"shift {shift_id} was never opened on the server")
    if shift.terminal_id != terminal_id:
        raise Rejected(f"shift {shift_id} belongs to another till")
    if shift.status != "open":
        raise Rejected(f"shift {shift_id} {when_closed}")
    return shift


def shift_open(oc: OpContext) -> Outcome:
    """Record a shift the till opened; one open shift per terminal."""
    p = oc.payload_as(ShiftOpen)
    if p.shift_id != oc.op.entity_id:
        raise Rejected("entity_id must be the shift_id")
    terminal_id = terminal_of(oc)
    if oc.session.get(Shift, p.shift_id) is not None:
        raise Rejected(f"shift {p.shift_id} was already opened")
    open_one = oc.session.query(Shift).filter_by(
        terminal_id=terminal_id, status="open").with_for_update().first()
    if open_one is not None:
        raise Rejected(f"this till already has an open shift (opened "
                       f"{open_one.opened_at:%Y-%m-%d %H:%M}); close it before opening another")
    counted = p.float_counted
    if counted is not None and sum(d * n for d, n in counted.items()) != p.opening_float:
        raise Rejected("the opening float is not the sum of the notes and coins counted")
    shift = Shift(
        id=p.shift_id, org_id=oc.terminal.org_id, store_id=oc.terminal.store_id,
        terminal_id=terminal_id, status="open", opened_by=oc.actor.id,
        opened_at=p.opened_at, opening_float=p.opening_float,
        float_counted=None if counted is None else jsonable({str(d): n for d, n in counted.items()}),
    )
    oc.session.add(shift)
    oc.audit(Entity.SHIFT, shift.id, OpType.SHIFT_OPEN,
             {"status": {"before": None, "after": "open"},
              "opening_float": {"before": None, "after": p.opening_float}})
    publish_shift(oc, shift)
    return Outcome(OpStatus.APPLIED, shift.version)


def _check_close(oc: OpContext, p: ShiftClose, shift: Shift, terminal_id: str) -> None:
    """The close's Z rules: an unused Z number, the over/short's reason and approver."""
    if p.over_short != p.counted_cash - p.expected_cash:
        raise Rejected("over/short must be the counted cash minus the expected cash")
    if p.counted_by_denomination is not None and sum(
            d * n for d, n in p.counted_by_denomination.items()) != p.counted_cash:
        raise Rejected("the counted cash is not the sum of the notes and coins counted")
    if p.z_number is not None and oc.session.scalar(select(Shift.id).where(
            Shift.terminal_id == terminal_id, Shift.z_number == p.z_number)) is not None:
        raise Rejected(f"Z number {p.z_number} of this till was already used")
    if p.closed_by is not None and oc.actor.id not in (p.closed_by, p.approved_by):
        raise Rejected("a shift is closed by the person who counted it or their approver")
    problem = shift_rules.variance_refusal(p.over_short, variance_threshold(oc.session, shift.store_id),
                                           p.reason, p.approved_by is not None)
    if problem:
        raise Rejected(problem)


def shift_close(oc: OpContext) -> Outcome:
    """Record the close of this till's open shift, with the drawer as counted and its Z."""
    p = oc.payload_as(ShiftClose)
    if p.shift_id != oc.op.entity_id:
        raise Rejected("entity_id must be the shift_id")
    terminal_id = terminal_of(oc)
    shift = open_shift_of_this_till(oc, p.shift_id, terminal_id, "is already closed")
    _check_close(oc, p, shift, terminal_id)
    shift.status = "closed"
    shift.closed_by, shift.closed_at = p.closed_by or oc.actor.id, p.closed_at
    shift.counted_cash, shift.expected_cash = p.counted_cash, p.expected_cash
    shift.over_short = p.over_short
    shift.close_reason = p.reason.strip() if p.reason and p.reason.strip() else None
    shift.z_number, shift.card_batch_total, shift.approved_by = (
        p.z_number, p.card_batch_total, p.approved_by)
    shift.counted_by_denomination = (None if p.counted_by_denomination is None else jsonable(
        {str(d): n for d, n in p.counted_by_denomination.items()}))
    shift.report = jsonable(p.report) if p.report is not None else None
    shift.version += 1
    oc.audit(Entity.SHIFT, shift.id, OpType.SHIFT_CLOSE,
             {"status": {"before": "open", "after": "closed"},
              "z_number": {"before": None, "after": p.z_number},
              "over_short": {"before": None, "after": p.over_short}},
             reason=shift.close_reason)
    state = publish_shift(oc, shift)
    oc.emit("shift.closed", state)
    return Outcome(OpStatus.APPLIED, shift.version)
