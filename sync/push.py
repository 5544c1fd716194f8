"""Pushing the outbox: pending operations in op_seq order, in batches, and their results.

Why the outcome of each operation is written in one local transaction per batch:
a crash between the server's answer and our write leaves the operations pending,
and the next push resends them with the same op_id and op_seq; the server answers
``duplicate`` with the stored result, so nothing is applied twice. On a timeout or
any transient error we never make new ids: the operations simply stay pending.

Results per operation (docs/sync-protocol.md):

- ``applied`` / ``duplicate``: status ``done``; the server version is recorded on
  the entity so later edits name the right ``base_version``.
- ``conflict``: status ``conflict`` plus a row in the local ``conflicts`` table
  (sync/conflicts.py) with our side; the server's side arrives by pull. A manager
  resolves it on any terminal (``conflict.resolve``) or in the back office; the
  resolution arrives by pull.
- ``rejected``: status ``rejected`` with the reason in ``last_error``: quarantined,
  visible, never resent on its own; later operations keep flowing. A rejected
  ``conflict.resolve`` opens its conflict again.
- no result (held back behind a gap): stays pending.

``gap_from`` means the server is missing op_seq ``gap_from`` (for example it was
restored from a backup): every local operation from that number on is queued again,
unchanged, whatever its local status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from app.store.local import LocalStore
from app.store.models import Customer, Order, OutboxOperation, Product, StockMovement
from app.store.models_aftersale import Approval
from sync import conflicts
from sync.client import SyncClient, TransientError
from sync.protocol import MAX_BATCH, Operation, OpStatus, PushResponse

CONFLICTING_OPS = {"order.update", "order.delete", "product.update", "approval.decide",
                   "refund.create"}


class GapError(RuntimeError):
    """The server asks for an operation this terminal no longer has."""


@dataclass
class Problem:
    op_seq: int
    op_type: str
    entity_id: str
    reason: str
    conflict_id: str | None = None


@dataclass
class PushReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    conflicts: list[Problem] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)  # op_id -> flags
    server_time: datetime | None = None
    resent_from: int | None = None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def to_operation(row: OutboxOperation) -> Operation:
    return Operation(
        op_id=row.op_id, op_seq=row.op_seq, type=row.type, entity_id=row.entity_id,
        actor_id=row.actor_id, device_id=row.device_id, created_at=_aware(row.created_at),
        base_version=row.base_version, format_version=row.format_version, payload=row.payload,
    )


def load_batch(store: LocalStore, limit: int = MAX_BATCH) -> list[Operation]:
    """The next pending operations, oldest first."""
    with store.db.read() as s:
        rows = s.scalars(select(OutboxOperation).where(OutboxOperation.status == "pending")
                         .order_by(OutboxOperation.op_seq).limit(limit)).all()
        return [to_operation(r) for r in rows]


def _entity_for(op_type: str) -> type | None:
    if op_type.startswith(("order.", "payment.", "refund.")):
        return Order
    if op_type.startswith("product."):
        return Product
    if op_type.startswith("customer."):
        return Customer
    if op_type.startswith("approval."):
        return Approval
    return None


def _record_version(s: Any, row: OutboxOperation, version: int | None, flags: list[str]) -> None:
    if row.type == "stock.adjust":
        movement = s.get(StockMovement, (row.payload or {}).get("movement_id"))
        if movement is not None:
            movement.synced = True
        return
    model = _entity_for(row.type)
    entity_id = row.entity_id
    if row.type.startswith("refund.") and isinstance(row.payload, dict):
        entity_id = row.payload.get("order_id") or entity_id
    entity = s.get(model, entity_id) if model is not None else None
    if entity is None:
        return
    if version is not None and version > (entity.version or 0):
        entity.version = version
    if isinstance(entity, Order) and flags:
        entity.flags = sorted(set(entity.flags or []) | set(flags))


def record_results(store: LocalStore, ops: list[Operation], resp: PushResponse,
                   report: PushReport) -> None:
    """Write every answered operation's outcome in one transaction."""
    now = datetime.now(UTC)
    by_id = {r.op_id: r for r in resp.results}
    with store.db.write() as s:
        for op in ops:
            res = by_id.get(op.op_id)
            if res is None:
                continue
            row = s.get(OutboxOperation, op.op_id)
            if row is None:
                continue
            row.result = res.model_dump(mode="json")
            row.updated_at = now
            report.pushed += 1
            if res.flags:
                report.flags[op.op_id] = list(res.flags)
            if res.status in (OpStatus.APPLIED, OpStatus.DUPLICATE):
                row.status, row.last_error = "done", None
                if res.status == OpStatus.APPLIED:
                    report.applied += 1
                else:
                    report.duplicates += 1
                _record_version(s, row, res.version, res.flags)
                if row.type in CONFLICTING_OPS:  # resent after a gap: an old conflict is moot
                    conflicts.close_for_op(s, op.op_id)
            elif res.status == OpStatus.CONFLICT:
                row.status = "conflict"
                row.last_error = res.reason or "conflict"
                conflicts.record_pushed(
                    s, store.cipher, conflict_id=res.conflict_id, op_id=op.op_id,
                    op_type=str(op.type), entity_id=op.entity_id, payload=row.payload,
                    reason=res.reason, at=now)
                report.conflicts.append(Problem(op.op_seq, str(op.type), op.entity_id,
                                                res.reason or "conflict", res.conflict_id))
            else:
                row.status = "rejected"
                row.last_error = res.reason or "rejected by the server"
                if row.type == "conflict.resolve" and isinstance(row.payload, dict):
                    conflicts.reopen(s, str(row.payload.get("conflict_id")), row.last_error)
                report.rejected.append(Problem(op.op_seq, str(op.type), op.entity_id,
                                               row.last_error))
        if resp.gap_from is not None:
            s.execute(update(OutboxOperation).where(OutboxOperation.op_seq >= resp.gap_from)
                      .where(OutboxOperation.status != "pending")
                      .values(status="pending",
                              last_error=f"resent: the server is missing op_seq {resp.gap_from}"))


def _note_failure(store: LocalStore, ops: list[Operation], error: str) -> None:
    with store.db.write() as s:
        s.execute(update(OutboxOperation)
                  .where(OutboxOperation.op_id.in_([o.op_id for o in ops]))
                  .values(attempts=OutboxOperation.attempts + 1, last_error=error))


def _has_seq(store: LocalStore, seq: int) -> bool:
    with store.db.read() as s:
        return s.scalar(select(OutboxOperation.op_id).where(OutboxOperation.op_seq == seq)) is not None


async def push_pending(store: LocalStore, client: SyncClient, *,
                       batch_size: int = MAX_BATCH) -> PushReport:
    """Push until the outbox has no pending operation the server will take now."""
    report = PushReport()
    batch_size = max(1, min(batch_size, MAX_BATCH))
    last_gap: int | None = None
    while True:
        ops = await asyncio.to_thread(load_batch, store, batch_size)
        if not ops:
            return report
        try:
            resp = await client.push(ops)
        except TransientError as exc:
            await asyncio.to_thread(_note_failure, store, ops, str(exc))
            raise
        report.server_time = resp.server_time
        await asyncio.to_thread(record_results, store, ops, resp, report)
        if resp.gap_from is not None:
            if resp.gap_from == last_gap or not await asyncio.to_thread(_has_seq, store,
                                                                       resp.gap_from):
                raise GapError(
                    f"The server is missing operation {resp.gap_from} of this terminal and "
                    "this terminal cannot supply it; ask an admin to check the quarantine."
                )
            last_gap = resp.gap_from
            report.resent_from = resp.gap_from
            continue
        answered = {r.op_id for r in resp.results}
        if not answered.intersection(o.op_id for o in ops):
            return report  # the server held everything back without saying why: try later
