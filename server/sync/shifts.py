"""shift.open and shift.close: a till's trading shift, as the till recorded it.

A shift belongs to its till (conflicts: never): the till decides it offline and the
server keeps the record, refusing in words what cannot be a true record (a second open
shift on one terminal, a close of a shift that is not open there, an over/short that is
not counted minus expected). Shifts are store-scoped entities of the change feed
(``entity_type: shift``), so the back office and the store's other tills see them.
"""

from __future__ import annotations

from app.domain.operations import Entity, OpType
from app.domain.payloads import ShiftClose, ShiftOpen
from server.db.models import Shift
from server.feed.serialize import shift_state
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from sync.protocol import OpStatus


def _publish(oc: OpContext, shift: Shift) -> dict[str, object]:
    oc.session.flush()
    state = shift_state(shift)
    oc.publish(Entity.SHIFT, shift.id, shift.version, state, store_id=shift.store_id)
    return state


def _terminal_id(oc: OpContext) -> str:
    if oc.terminal.terminal_id is None:
        raise Rejected("a shift is opened and closed at a till, not through the back office")
    return oc.terminal.terminal_id


def shift_open(oc: OpContext) -> Outcome:
    """Record a shift the till opened; one open shift per terminal."""
    p = oc.payload_as(ShiftOpen)
    if p.shift_id != oc.op.entity_id:
        raise Rejected("entity_id must be the shift_id")
    terminal_id = _terminal_id(oc)
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
    _publish(oc, shift)
    return Outcome(OpStatus.APPLIED, shift.version)


def shift_close(oc: OpContext) -> Outcome:
    """Record the close of this till's open shift, with the drawer as counted."""
    p = oc.payload_as(ShiftClose)
    if p.shift_id != oc.op.entity_id:
        raise Rejected("entity_id must be the shift_id")
    terminal_id = _terminal_id(oc)
    shift = oc.session.get(Shift, p.shift_id, with_for_update=True)
    if shift is None or shift.org_id != oc.terminal.org_id:
        raise Rejected(f"shift {p.shift_id} was never opened on the server")
    if shift.terminal_id != terminal_id:
        raise Rejected(f"shift {p.shift_id} belongs to another till")
    if shift.status != "open":
        raise Rejected(f"shift {p.shift_id} is already closed")
    if p.over_short != p.counted_cash - p.expected_cash:
        raise Rejected("over/short must be the counted cash minus the expected cash")
    shift.status = "closed"
    shift.closed_by, shift.closed_at = oc.actor.id, p.closed_at
    shift.counted_cash, shift.expected_cash = p.counted_cash, p.expected_cash
    shift.over_short = p.over_short
    shift.close_reason = p.reason.strip() if p.reason and p.reason.strip() else None
    shift.version += 1
    oc.audit(Entity.SHIFT, shift.id, OpType.SHIFT_CLOSE,
             {"status": {"before": "open", "after": "closed"},
              "over_short": {"before": None, "after": p.over_short}},
             reason=shift.close_reason)
    _publish(oc, shift)
    return Outcome(OpStatus.APPLIED, shift.version)
