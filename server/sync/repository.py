"""Database access for sync bookkeeping: terminal counters, processed ops, quarantine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import ProcessedOp, QuarantinedOp, Terminal


def lock_terminal(session: Session, terminal_id: str) -> Terminal:
    """The terminal row, locked: pushes of one device are applied one at a time."""
    return session.scalars(
        select(Terminal).where(Terminal.id == terminal_id).with_for_update()
    ).one()


def processed(session: Session, op_id: str) -> ProcessedOp | None:
    return session.get(ProcessedOp, op_id)


def processed_at_seq(session: Session, device_id: str, op_seq: int) -> ProcessedOp | None:
    return session.scalars(
        select(ProcessedOp).where(ProcessedOp.device_id == device_id, ProcessedOp.op_seq == op_seq)
    ).first()


def quarantine_of(
    session: Session, org_id: str, status: str | None, limit: int, offset: int
) -> list[QuarantinedOp]:
    stmt = select(QuarantinedOp).where(QuarantinedOp.org_id == org_id)
    if status:
        stmt = stmt.where(QuarantinedOp.status == status)
    stmt = stmt.order_by(QuarantinedOp.created_at.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))
