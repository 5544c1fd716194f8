"""``GET /sync/position``: where the server stands for one terminal.

Why: a till restored from a backup does not know the op_seq and references it used after
that backup, and a server restored from a backup does not know the ops a till had
already sent it. Each side can only line up if the server says, for the asking device,
the last op_seq it applied and the highest order reference it holds from it
(docs/backup-restore.md; the till's side is sync/recovery.py).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.ids import order_reference
from app.domain.limits import MAX_COUNT
from server.context import AppContext, TerminalPrincipal
from server.db.models import Order, ProcessedOp, Terminal
from server.errors import ApiError
from sync.protocol import DevicePosition, SeqOp

MAX_OPS = 5000


def last_reference(session: Session, org_id: str, device_code: str) -> str | None:
    """The device's highest order reference on the server (a longer counter is a later one)."""
    prefix = order_reference(device_code, 1)[:-4]  # "GO-" and the device code
    return session.scalar(
        select(Order.reference)
        .where(Order.org_id == org_id, Order.reference >= prefix, Order.reference < prefix + "~")
        .order_by(func.length(Order.reference).desc(), Order.reference.desc()).limit(1))


def applied_ops(session: Session, device_id: str, after: int, limit: int) -> list[SeqOp]:
    """The op_ids applied under the device's op_seq ``after + 1`` ... ``after + limit``."""
    last = min(after + limit, MAX_COUNT)  # op_seq is 32-bit on PostgreSQL: no overflow
    rows = session.execute(
        select(ProcessedOp.op_seq, ProcessedOp.op_id)
        .where(ProcessedOp.device_id == device_id, ProcessedOp.op_seq > after,
               ProcessedOp.op_seq <= last)
        .order_by(ProcessedOp.op_seq))
    return [SeqOp(op_seq=seq, op_id=op_id) for seq, op_id in rows]


def position(ctx: AppContext, terminal: TerminalPrincipal, after: int | None,
             limit: int) -> DevicePosition:
    """The terminal's last applied op_seq and reference (and, with ``after``, its op_ids)."""
    with ctx.reader() as session:
        row = session.get(Terminal, terminal.terminal_id)
        if row is None or row.revoked:
            raise ApiError(401, "invalid_token", "Unknown or revoked terminal")
        ops = ([] if after is None else
               applied_ops(session, row.id, after, min(limit, MAX_OPS)))
        return DevicePosition(
            last_applied_seq=row.last_applied_seq,
            last_reference=last_reference(session, row.org_id, row.device_code), ops=ops)


def device_seq(session: Session, terminal: TerminalPrincipal) -> int | None:
    """The terminal's last applied op_seq, for the pull answer."""
    if terminal.terminal_id is None:
        return None
    return session.scalar(select(Terminal.last_applied_seq)
                          .where(Terminal.id == terminal.terminal_id))
