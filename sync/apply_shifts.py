"""Apply a ``shift`` change of the feed: a till's shift as the server has it.

This till's own shifts are written by app/services/shifts.py and come back here with
the server's version; the store's other tills' shifts are kept as they are sent (the
back office's view of the store's day reads the server, not this copy).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.store.models import Shift
from sync.apply_context import ApplyContext, as_datetime, is_stale
from sync.protocol import Change


def apply_shift(s: Session, ctx: ApplyContext, c: Change) -> bool:  # noqa: ARG001
    """Upsert the shift row from its state (app/domain/feed_states.py ShiftState)."""
    d = c.data
    shift = s.get(Shift, c.entity_id)
    if shift is not None and is_stale(shift.version, c):
        return False
    opened_at = as_datetime(d.get("opened_at"))
    if opened_at is None or not d.get("terminal_id"):
        return False  # not a shift this code can keep
    if shift is None:
        shift = Shift(id=c.entity_id)
        s.add(shift)
    shift.device_id = d["terminal_id"]
    shift.status = d.get("status") or "open"
    shift.opened_by = d.get("opened_by") or ""
    shift.opened_at = opened_at
    shift.opening_float = int(d.get("opening_float") or 0)
    shift.float_counted = d.get("float_counted")
    shift.closed_by = d.get("closed_by")
    shift.closed_at = as_datetime(d.get("closed_at"))
    shift.counted_cash = d.get("counted_cash")
    shift.expected_cash = d.get("expected_cash")
    shift.over_short = d.get("over_short")
    shift.close_reason = d.get("close_reason")
    shift.z_number = d.get("z_number")
    shift.counted_by_denomination = d.get("counted_by_denomination")
    shift.card_batch_total = d.get("card_batch_total")
    shift.approved_by = d.get("approved_by")
    shift.report = d.get("report")
    shift.version = c.version
    return True
