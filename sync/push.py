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

from pydantic import ValidationError
from sqlalchemy import bindparam, func, select, update

from app.domain.operations import CATALOGUE, Conflicts, Entity, OpSpec, OpType
from app.store.audit import chain_head
from app.store.local import LocalStore
from app.store.models import Customer, Order, OutboxOperation, Product, Shift, StockMovement
from app.store.models_aftersale import Approval
from app.store.outbox_crypto import open_payload
from sync import conflicts
from sync.client import SyncClient, TransientError
from sync.protocol import MAX_BATCH, JournalHead, Operation, OpStatus, PushResponse

#: The types that can meet a change made elsewhere: their answers need more than "done".
CONFLICTING_OPS = frozenset(t for t, spec in CATALOGUE.items()
                            if spec.conflicts is not Conflicts.NEVER)
#: The local model of each entity whose version an answer carries (a stock movement is
#: marked synced instead: it has no version).
LOCAL_MODELS: dict[Entity, type] = {Entity.ORDER: Order, Entity.PRODUCT: Product,
                                    Entity.CUSTOMER: Customer, Entity.APPROVAL: Approval,
                                    Entity.SHIFT: Shift}
_SPECS: dict[str, OpSpec] = {t.value: spec for t, spec in CATALOGUE.items()}


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


def _operation(**values: Any) -> Operation:
    """The outbox row as an Operation; one the wire model refuses (an id that is not a
    UUID, say) is sent as it is, for the server to answer ``rejected`` with the reason
    rather than hold the whole outbox here."""
    try:
        return Operation(**values)
    except ValidationError:
        return Operation.model_construct(**values)


def to_operation(row: OutboxOperation) -> Operation:
    return _operation(
        op_id=row.op_id, op_seq=row.op_seq, type=row.type, entity_id=row.entity_id,
        actor_id=row.actor_id, device_id=row.device_id, created_at=_aware(row.created_at),
        base_version=row.base_version, format_version=row.format_version, payload=row.payload,
        approval_proof=row.approval_proof,
    )


_OUTBOX = OutboxOperation.__table__
_OUTBOX_COLUMNS = (_OUTBOX.c.op_id, _OUTBOX.c.op_seq, _OUTBOX.c.type, _OUTBOX.c.entity_id,
                   _OUTBOX.c.actor_id, _OUTBOX.c.device_id, _OUTBOX.c.created_at,
                   _OUTBOX.c.base_version, _OUTBOX.c.format_version, _OUTBOX.c.payload,
                   _OUTBOX.c.approval_proof)


def load_batch(store: LocalStore, limit: int = MAX_BATCH, after_seq: int = 0) -> list[Operation]:
    """The next pending operations (after op_seq ``after_seq``), oldest first.

    Read without the ORM (a batch is up to 500 rows); payloads are opened as the ORM's
    load event would (app.store.outbox_crypto)."""
    with store.db.read() as s:
        rows = s.execute(select(*_OUTBOX_COLUMNS)
                         .where(_OUTBOX.c.status == "pending", _OUTBOX.c.op_seq > after_seq)
                         .order_by(_OUTBOX.c.op_seq).limit(limit)).all()
    return [_operation(
        op_id=r.op_id, op_seq=r.op_seq, type=r.type, entity_id=r.entity_id,
        actor_id=r.actor_id, device_id=r.device_id, created_at=_aware(r.created_at),
        base_version=r.base_version, format_version=r.format_version,
        payload=open_payload(store.cipher, r.payload), approval_proof=r.approval_proof,
    ) for r in rows]


def _target(op_type: str, entity_id: str, payload: Any) -> tuple[Entity, str] | None:
    """(entity, id) the answer to an op is recorded on, from the catalogue: the entity
    whose version the answer carries (a refund's order; a stock movement, marked synced);
    None for a type this code does not know."""
    spec = _SPECS.get(op_type)
    return spec.versioned_entity(entity_id, payload) if spec is not None else None


def _record_version(s: Any, row: OutboxOperation, version: int | None, flags: list[str]) -> None:
    target = _target(row.type, row.entity_id, row.payload)
    if target is None:
        return
    kind, entity_id = target
    if kind is Entity.STOCK_MOVEMENT:
        movement = s.get(StockMovement, entity_id)
        if movement is not None:
            movement.synced = True
        return
    model = LOCAL_MODELS.get(kind)
    entity = s.get(model, entity_id) if model is not None else None
    if entity is None:
        return
    if version is not None and version > (entity.version or 0):
        entity.version = version
    if isinstance(entity, Order) and flags:
        entity.flags = sorted(set(entity.flags or []) | set(flags))


def _is_plain(op: Operation, res: Any) -> bool:
    """An applied (or duplicate) op with nothing more to record than done, a version and
    (on an order) the server's flags."""
    return (res.status in (OpStatus.APPLIED, OpStatus.DUPLICATE)
            and op.type not in CONFLICTING_OPS)


def _record_plain(s: Any, done: list[tuple[Operation, Any]], now: datetime) -> None:
    """The plain outcomes of a batch with one UPDATE per table, not an ORM object per op."""
    s.execute(update(_OUTBOX).where(_OUTBOX.c.op_id == bindparam("b_op"))
              .values(status="done", last_error=None, result=bindparam("b_result"),
                      updated_at=bindparam("b_now")),
              [{"b_op": op.op_id, "b_result": res.model_dump(mode="json"), "b_now": now}
               for op, res in done])
    versions: dict[Any, list[dict[str, Any]]] = {}
    synced: list[dict[str, Any]] = []
    flagged: dict[str, set[str]] = {}
    for op, res in done:
        target = _target(op.type, op.entity_id, op.payload)
        if target is None:
            continue
        kind, entity_id = target
        if kind is Entity.STOCK_MOVEMENT:
            if entity_id:
                synced.append({"b_id": entity_id})
            continue
        model = LOCAL_MODELS.get(kind)
        if model is not None and res.version is not None:
            versions.setdefault(model.__table__, []).append(
                {"b_id": entity_id, "b_version": res.version})
        if res.flags and model is Order:
            flagged.setdefault(entity_id, set()).update(res.flags)
    if synced:
        t = StockMovement.__table__
        s.execute(update(t).where(t.c.id == bindparam("b_id")).values(synced=True), synced)
    for table, rows in versions.items():  # never backwards: a later pull may be ahead
        s.execute(update(table).where(table.c.id == bindparam("b_id"),
                                      func.coalesce(table.c.version, 0) < bindparam("b_version"))
                  .values(version=bindparam("b_version")), rows)
    if flagged:  # the server's flags join the order's own
        orders = Order.__table__
        held = {r.id: r.flags for r in s.execute(select(orders.c.id, orders.c.flags)
                                                 .where(orders.c.id.in_(list(flagged))))}
        s.execute(update(orders).where(orders.c.id == bindparam("b_id"))
                  .values(flags=bindparam("b_flags")),
                  [{"b_id": oid, "b_flags": sorted(set(held[oid] or []) | flags)}
                   for oid, flags in flagged.items() if oid in held])


def _count(report: PushReport, op: Operation, res: Any) -> None:
    report.pushed += 1
    if res.flags:
        report.flags[op.op_id] = list(res.flags)
    if res.status == OpStatus.APPLIED:
        report.applied += 1
    elif res.status == OpStatus.DUPLICATE:
        report.duplicates += 1


def record_results(store: LocalStore, ops: list[Operation], resp: PushResponse,
                   report: PushReport) -> None:
    """Write every answered operation's outcome in one transaction."""
    now = datetime.now(UTC)
    by_id = {r.op_id: r for r in resp.results}
    plain: list[tuple[Operation, Any]] = []
    with store.db.write() as s:
        for op in ops:
            res = by_id.get(op.op_id)
            if res is None:
                continue
            if _is_plain(op, res):
                _count(report, op, res)
                plain.append((op, res))
                continue
            row = s.get(OutboxOperation, op.op_id)
            if row is None:
                continue
            row.result = res.model_dump(mode="json")
            row.updated_at = now
            _count(report, op, res)
            if res.status in (OpStatus.APPLIED, OpStatus.DUPLICATE):  # a CONFLICTING_OPS op
                row.status, row.last_error = "done", None
                _record_version(s, row, res.version, res.flags)
                conflicts.close_for_op(s, op.op_id)  # resent after a gap: an old conflict is moot
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
                if row.type == OpType.CONFLICT_RESOLVE and isinstance(row.payload, dict):
                    conflicts.reopen(s, str(row.payload.get("conflict_id")), row.last_error)
                report.rejected.append(Problem(op.op_seq, str(op.type), op.entity_id,
                                               row.last_error))
        s.flush()
        if plain:
            _record_plain(s, plain, now)
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


def _journal_head(store: LocalStore) -> JournalHead:
    """The till's audit chain head, sent with each push for the server's journal."""
    with store.db.read() as s:
        seq, head = chain_head(s)
    return JournalHead(seq=seq, hash=head)


async def _send(store: LocalStore, client: SyncClient, ops: list[Operation]) -> PushResponse:
    """Push one batch; on a transient error the attempt is noted on its operations (they
    stay pending, same ids) and the error raised."""
    try:
        return await client.push(ops, journal_head=await asyncio.to_thread(_journal_head, store))
    except TransientError as exc:
        await asyncio.to_thread(_note_failure, store, ops, str(exc))
        raise


def _all_answered(ops: list[Operation], resp: PushResponse) -> bool:
    """No gap and every op of the batch answered: the batch read ahead is the next one."""
    answered = {r.op_id for r in resp.results}
    return resp.gap_from is None and answered.issuperset(o.op_id for o in ops)


def _none_answered(ops: list[Operation], resp: PushResponse) -> bool:
    answered = {r.op_id for r in resp.results}
    return not answered.intersection(o.op_id for o in ops)


async def _check_gap(store: LocalStore, gap_from: int, last_gap: int | None) -> None:
    """GapError if the server asks again for the gap it asked for last time, or for an
    operation this terminal no longer has."""
    if gap_from == last_gap or not await asyncio.to_thread(_has_seq, store, gap_from):
        raise GapError(
            f"The server is missing operation {gap_from} of this terminal "
            "and this terminal cannot supply it; ask an admin to check the "
            "quarantine."
        )


class _Overlap:
    """The work running beside the batch on the wire: the next batch being read
    (``following``) and the previous batch's results being written (``recording``)."""

    def __init__(self, store: LocalStore, batch_size: int) -> None:
        self.store, self.batch_size = store, batch_size
        self.following: asyncio.Future[list[Operation]] | None = None
        self.recording: asyncio.Future[None] | None = None

    def read_after(self, op_seq: int) -> None:
        """Start reading the batch after op_seq ``op_seq``."""
        self.following = asyncio.ensure_future(
            asyncio.to_thread(load_batch, self.store, self.batch_size, op_seq))

    async def next_batch(self) -> list[Operation]:
        """The batch read ahead."""
        assert self.following is not None
        ops = await self.following
        self.following = None
        return ops

    async def record(self, ops: list[Operation], resp: PushResponse, report: PushReport) -> None:
        """Start writing ``resp``'s results, once the previous batch's are written: writes
        stay in batch order."""
        if self.recording is not None:
            await self.recording
        self.recording = asyncio.ensure_future(
            asyncio.to_thread(record_results, self.store, ops, resp, report))

    async def settle(self) -> None:
        """Wait for both: the batch read ahead (not wanted), then the results written."""
        if self.following is not None:
            await self.following
            self.following = None
        if self.recording is not None:
            await self.recording
            self.recording = None


async def push_pending(store: LocalStore, client: SyncClient, *,
                       batch_size: int = MAX_BATCH) -> PushReport:
    """Push until the outbox has no pending operation the server will take now.

    The next batch is read while a batch is on the wire, and sent while the results of
    the one before are written (in a thread): it starts after the last op_seq sent, so
    batches never overlap, and results are written in batch order. A batch answered
    with a gap, or with ops held back, stops the overlap: its results are written before
    the outbox is read again from its first pending op."""
    report = PushReport()
    batch_size = max(1, min(batch_size, MAX_BATCH))
    overlap = _Overlap(store, batch_size)
    last_gap: int | None = None
    try:
        ops = await asyncio.to_thread(load_batch, store, batch_size)
        while ops:
            overlap.read_after(ops[-1].op_seq)  # while this batch is on the wire
            resp = await _send(store, client, ops)
            report.server_time = resp.server_time
            await overlap.record(ops, resp, report)
            if _all_answered(ops, resp):
                ops = await overlap.next_batch()
                continue
            await overlap.settle()  # a held-back op or a gap comes first
            if resp.gap_from is not None:
                await _check_gap(store, resp.gap_from, last_gap)
                last_gap = report.resent_from = resp.gap_from
            elif _none_answered(ops, resp):
                return report  # the server held everything back without saying why: later
            ops = await asyncio.to_thread(load_batch, store, batch_size)
        return report
    finally:
        await overlap.settle()
