"""Database access for sync bookkeeping: terminal counters, processed ops, quarantine."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.db.models import ProcessedOp, QuarantinedOp, Terminal


def lock_terminal(session: Session, terminal_id: str) -> Terminal:
    """The terminal row, locked: pushes of one device are applied one at a time."""
    return session.scalars(
        select(Terminal).where(Terminal.id == terminal_id).with_for_update()
    ).one()


def processed(session: Session, op_id: str) -> ProcessedOp | None:
    return session.get(ProcessedOp, op_id)


_t = ProcessedOp.__table__.c
_PROCESSED_Q = select(_t.op_id, _t.device_id, _t.result).where(
    _t.op_id.in_(bindparam("ids", expanding=True)))


def processed_results(session: Session, op_ids: list[str]) -> dict[str, tuple[str, dict]]:
    """{op_id: (device_id, stored result)} of those of ``op_ids`` processed before."""
    found: dict[str, tuple[str, dict]] = {}
    ids = sorted(set(op_ids))
    for i in range(0, len(ids), 500):
        for row in session.connection().execute(_PROCESSED_Q, {"ids": ids[i:i + 500]}):
            found[row.op_id] = (row.device_id, row.result)
    return found


def processed_at_seq(session: Session, device_id: str, op_seq: int) -> ProcessedOp | None:
    return session.scalars(
        select(ProcessedOp).where(ProcessedOp.device_id == device_id, ProcessedOp.op_seq == op_seq)
    ).first()


def is_quarantined(session: Session, device_id: str, op_id: str) -> bool:
    """Whether this device's op ``op_id`` is in the quarantine already (any status)."""
    return session.execute(
        select(QuarantinedOp.id).where(QuarantinedOp.op_id == op_id,
                                       QuarantinedOp.device_id == device_id).limit(1)
    ).first() is not None


def quarantine_of(
    session: Session, org_id: str, status: str | None, limit: int, offset: int, *,
    store_ids: set[str] | None = None, op_id: str | None = None, device_id: str | None = None,
) -> list[QuarantinedOp]:
    """The organization's quarantine, newest first; ``store_ids`` (None: every store),
    ``op_id`` and ``device_id`` narrow it."""
    stmt = select(QuarantinedOp).where(QuarantinedOp.org_id == org_id)
    if status:
        stmt = stmt.where(QuarantinedOp.status == status)
    if store_ids is not None:
        stmt = stmt.where(QuarantinedOp.store_id.in_(sorted(store_ids)))
    if op_id is not None:
        stmt = stmt.where(QuarantinedOp.op_id == op_id)
    if device_id is not None:
        stmt = stmt.where(QuarantinedOp.device_id == device_id)
    stmt = stmt.order_by(QuarantinedOp.created_at.desc(), QuarantinedOp.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))
