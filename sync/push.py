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
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam, select, update

from app.domain.operations import CATALOGUE, Conflicts, Entity, OpSpec, OpType
from app.store.audit import GENESIS
from app.store.local import LocalStore
from app.store.models import Customer, Order, OutboxOperation, Product, Shift, StockMovement
from app.store.models_aftersale import Approval
from app.store.outbox_crypto import SEALED, open_payload
from app.store.rows import driver_cursor
from sync import conflicts
from sync.client import Outgoing, SyncClient, TransientError
from sync.protocol import (
    MAX_BATCH,
    ApprovalProof,
    EncodedOperation,
    JournalHead,
    Operation,
    OperationResult,
    OpStatus,
    PushResponse,
)

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
    rather than hold the whole outbox here.

    Such a model is built unvalidated, every value as given, except the two fields whose
    serializer wants more than a JSON value: ``type`` as its OpType member and
    ``approval_proof`` as an ApprovalProof, when they are one (a proof dumping as the very
    dict stored). Given as a str and a dict, every dump of the model warns
    (PydanticSerializationUnexpectedValue, and a push's body again for its union); their
    JSON is the same either way."""
    try:
        return Operation(**values)
    except ValidationError:
        pass
    if values.get("type") in _OP_TYPES:
        values["type"] = OpType(values["type"])
    proof = values.get("approval_proof")
    if isinstance(proof, dict):
        with contextlib.suppress(ValidationError):
            model = ApprovalProof.model_validate(proof)
            if model.model_dump(mode="json") == proof:  # nothing more, nothing dropped
                values["approval_proof"] = model
    return Operation.model_construct(**values)


_OP_TYPES = frozenset(OpType)


def to_operation(row: OutboxOperation) -> Operation:
    return _operation(
        op_id=row.op_id, op_seq=row.op_seq, type=row.type, entity_id=row.entity_id,
        actor_id=row.actor_id, device_id=row.device_id, created_at=_aware(row.created_at),
        base_version=row.base_version, format_version=row.format_version, payload=row.payload,
        approval_proof=row.approval_proof,
    )


_OUTBOX = OutboxOperation.__table__
# The pending rows in op_seq order through the op_seq index (``+status``: not the status
# index, which made SQLite sort every pending row, payloads and all, for each batch of
# 500: ~0.1 ms an op with 10,000 waiting). The first batch of a push starts at the
# lowest pending op_seq (through the status index), not at the outbox's oldest done op.
_PENDING_SQL = ("SELECT op_id, op_seq, type, entity_id, actor_id, device_id, created_at, "
                "base_version, format_version, payload, approval_proof FROM outbox "
                "WHERE op_seq >= ? AND +status = 'pending' ORDER BY op_seq LIMIT ?")
_FIRST_PENDING_SQL = "SELECT min(op_seq) FROM outbox WHERE status = 'pending' AND op_seq > ?"
_SEALED_KEY = f'"{SEALED}"'


def _pending_rows(store: LocalStore, limit: int, after_seq: int) -> list[tuple[Any, ...]]:
    with store.db.read() as s:
        cur = driver_cursor(s)
        try:
            start = after_seq + 1
            if after_seq == 0:
                start = cur.execute(_FIRST_PENDING_SQL, (after_seq,)).fetchone()[0]
                if start is None:
                    return []
            return list(cur.execute(_PENDING_SQL, (start, limit)).fetchall())
        finally:
            cur.close()


_created_processor: Callable[[Any], Any] | None = None


def _created_at(value: Any) -> datetime:
    """The stored ``created_at`` as the ORM reads it (UTC when stored without a zone)."""
    global _created_processor
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:  # as SQLAlchemy writes it on SQLite
                return parsed.replace(tzinfo=UTC)
    if _created_processor is None:
        from sqlalchemy.dialects import sqlite

        dialect = sqlite.dialect()
        _created_processor = (_OUTBOX.c.created_at.type.dialect_impl(dialect)
                              .result_processor(dialect, None)) or (lambda v: v)
    return _aware(_created_processor(value))


def _stored_json(text: Any) -> Any:
    """A JSON column's stored text as the ORM's JSON type reads it (Python's json: orjson
    would turn an integer past 64 bits into a float)."""
    return None if text is None else json.loads(text)


def _model(row: tuple[Any, ...], cipher: Any) -> Operation:
    """An outbox row as the Operation model, its payload opened as the ORM's load event
    opens it (app.store.outbox_crypto)."""
    (op_id, op_seq, type_, entity_id, actor_id, device_id, created_at, base_version,
     format_version, payload, approval_proof) = row
    opened = _stored_json(payload)
    if type(payload) is not str or _SEALED_KEY in payload:  # else nothing sealed in it
        opened = open_payload(cipher, opened)
    return _operation(
        op_id=op_id, op_seq=op_seq, type=type_, entity_id=entity_id, actor_id=actor_id,
        device_id=device_id, created_at=_created_at(created_at), base_version=base_version,
        format_version=format_version, payload=opened,
        approval_proof=_stored_json(approval_proof))


def load_batch(store: LocalStore, limit: int = MAX_BATCH, after_seq: int = 0) -> list[Operation]:
    """The next pending operations (after op_seq ``after_seq``), oldest first, as models.

    Read through the driver (a batch is up to 500 rows); payloads are opened as the ORM's
    load event would (app.store.outbox_crypto)."""
    return [_model(r, store.cipher) for r in _pending_rows(store, limit, after_seq)]


def _encoded(row: tuple[Any, ...], cipher: Any) -> EncodedOperation:
    """An outbox row in its wire form. The stored payload text is the wire payload itself
    (the JSON the ORM wrote of it) unless it holds sealed personal data, which is opened,
    or a value strict JSON has no word for (NaN): those rows, and any carrying an
    approval proof, go through the model as before."""
    (op_id, op_seq, type_, entity_id, actor_id, device_id, created_at, base_version,
     format_version, payload, approval_proof) = row
    created = _created_at(created_at)
    if (type(payload) is str and (approval_proof is None or approval_proof == "null")
            and _SEALED_KEY not in payload and "NaN" not in payload
            and "Infinity" not in payload):
        try:
            head = orjson.dumps(
                {"op_id": op_id, "op_seq": op_seq, "type": type_, "entity_id": entity_id,
                 "actor_id": actor_id, "device_id": device_id, "created_at": created,
                 "base_version": base_version, "format_version": format_version},
                option=orjson.OPT_UTC_Z)
        except TypeError:
            pass
        else:
            wire = b'%b,"payload":%b,"approval_proof":null}' % (head[:-1], payload.encode())
            return EncodedOperation(op_id, op_seq, type_, entity_id, created, wire)
    model = _model(row, cipher)
    return EncodedOperation(op_id, op_seq, type_, entity_id, created,
                            model.model_dump_json().encode())


def load_pending(store: LocalStore, limit: int = MAX_BATCH,
                 after_seq: int = 0) -> list[EncodedOperation]:
    """:func:`load_batch` for sending: each operation already in its wire JSON, made from
    the stored text without decoding the payload (see :func:`_encoded`)."""
    return [_encoded(r, store.cipher) for r in _pending_rows(store, limit, after_seq)]


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


_DONE = frozenset((OpStatus.APPLIED, OpStatus.DUPLICATE))


def _is_plain(op: Outgoing, res: Any) -> bool:
    """An applied (or duplicate) op with nothing more to record than done, a version and
    (on an order) the server's flags."""
    return res.status in _DONE and op.type not in CONFLICTING_OPS


def _op_target(op: Outgoing) -> tuple[Entity, str] | None:
    """:func:`_target` of an outgoing op; its payload is read only for the types whose
    answer is recorded on an entity it names (a refund's order)."""
    spec = _SPECS.get(op.type)
    if spec is None:
        return None
    return spec.versioned_entity(op.entity_id, op.payload if spec.versions is not None else None)


def result_json(res: OperationResult) -> str:
    """The stored ``result`` of an op: ``res.model_dump(mode="json")`` as JSON text (the
    model's fields are its ``__dict__``, in order; orjson writes the status's value)."""
    return orjson.dumps(res.__dict__).decode()


_DONE_SQL = ("UPDATE outbox SET status = 'done', last_error = NULL, result = ?, updated_at = ? "
             "WHERE op_id = ?")
_SYNCED_SQL = f"UPDATE {StockMovement.__tablename__} SET synced = 1 WHERE id = ?"
_VERSION_SQL = "UPDATE {} SET version = ? WHERE id = ? AND coalesce(version, 0) < ?"


def _record_plain(s: Any, done: list[tuple[Outgoing, OperationResult]], now: datetime) -> None:
    """The plain outcomes of a batch with one executemany per table through the driver,
    not an ORM object (nor a SQLAlchemy parameter dict) per op."""
    dialect = s.get_bind().dialect
    stamp = _OUTBOX.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    at = stamp(now) if stamp is not None else now
    versions: dict[str, list[tuple[int, str, int]]] = {}
    synced: list[tuple[str]] = []
    flagged: dict[str, set[str]] = {}
    for op, res in done:
        target = _op_target(op)
        if target is None:
            continue
        kind, entity_id = target
        if kind is Entity.STOCK_MOVEMENT:
            if entity_id:
                synced.append((entity_id,))
            continue
        model = LOCAL_MODELS.get(kind)
        if model is not None and res.version is not None:
            versions.setdefault(model.__tablename__, []).append(
                (res.version, entity_id, res.version))
        if res.flags and model is Order:
            flagged.setdefault(entity_id, set()).update(res.flags)
    cur = driver_cursor(s)
    try:
        cur.executemany(_DONE_SQL, [(result_json(res), at, op.op_id) for op, res in done])
        if synced:
            cur.executemany(_SYNCED_SQL, synced)
        for table, rows in versions.items():  # never backwards: a later pull may be ahead
            cur.executemany(_VERSION_SQL.format(table), rows)
    finally:
        cur.close()
    if flagged:  # the server's flags join the order's own
        orders = Order.__table__
        held = {r.id: r.flags for r in s.execute(select(orders.c.id, orders.c.flags)
                                                 .where(orders.c.id.in_(list(flagged))))}
        s.execute(update(orders).where(orders.c.id == bindparam("b_id"))
                  .values(flags=bindparam("b_flags")),
                  [{"b_id": oid, "b_flags": sorted(set(held[oid] or []) | flags)}
                   for oid, flags in flagged.items() if oid in held])


_APPLIED, _DUPLICATE = OpStatus.APPLIED, OpStatus.DUPLICATE


def _count(report: PushReport, op: Outgoing, res: Any) -> None:
    report.pushed += 1
    if res.flags:
        report.flags[op.op_id] = list(res.flags)
    status = res.status
    if status == _APPLIED:
        report.applied += 1
    elif status == _DUPLICATE:
        report.duplicates += 1


def record_results(store: LocalStore, ops: Sequence[Outgoing], resp: PushResponse,
                   report: PushReport) -> None:
    """Write every answered operation's outcome in one transaction."""
    now = datetime.now(UTC)
    by_id = {r.op_id: r for r in resp.results}
    plain: list[tuple[Outgoing, OperationResult]] = []
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


def _note_failure(store: LocalStore, ops: Sequence[Outgoing], error: str) -> None:
    with store.db.write() as s:
        s.execute(update(OutboxOperation)
                  .where(OutboxOperation.op_id.in_([o.op_id for o in ops]))
                  .values(attempts=OutboxOperation.attempts + 1, last_error=error))


def _has_seq(store: LocalStore, seq: int) -> bool:
    with store.db.read() as s:
        return s.scalar(select(OutboxOperation.op_id).where(OutboxOperation.op_seq == seq)) is not None


def _journal_head(store: LocalStore) -> JournalHead:
    """The till's audit chain head, sent with each push for the server's journal: the
    device row's, as ``app.store.audit.chain_head`` reads it (through the driver: the
    ORM's load of the device row cost more than the rest of a batch's read)."""
    with store.db.read() as s:
        cur = driver_cursor(s)
        try:
            row = cur.execute("SELECT audit_seq, audit_head FROM device LIMIT 1").fetchone()
        finally:
            cur.close()
    seq, head = (row[0], row[1]) if row is not None else (0, GENESIS)
    return JournalHead(seq=seq, hash=head)


async def _send(store: LocalStore, client: SyncClient, ops: list[Outgoing]) -> PushResponse:
    """Push one batch; on a transient error the attempt is noted on its operations (they
    stay pending, same ids) and the error raised."""
    try:
        return await client.push(ops, journal_head=await asyncio.to_thread(_journal_head, store))
    except TransientError as exc:
        await asyncio.to_thread(_note_failure, store, ops, str(exc))
        raise


def _all_answered(ops: Sequence[Outgoing], resp: PushResponse) -> bool:
    """No gap and every op of the batch answered: the batch read ahead is the next one."""
    answered = {r.op_id for r in resp.results}
    return resp.gap_from is None and answered.issuperset(o.op_id for o in ops)


def _none_answered(ops: Sequence[Outgoing], resp: PushResponse) -> bool:
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
        self.following: asyncio.Future[list[EncodedOperation]] | None = None
        self.recording: asyncio.Future[None] | None = None

    def read_after(self, op_seq: int) -> None:
        """Start reading the batch after op_seq ``op_seq``."""
        self.following = asyncio.ensure_future(
            asyncio.to_thread(load_pending, self.store, self.batch_size, op_seq))

    async def next_batch(self) -> list[EncodedOperation]:
        """The batch read ahead."""
        assert self.following is not None
        ops = await self.following
        self.following = None
        return ops

    async def record(self, ops: Sequence[Outgoing], resp: PushResponse,
                     report: PushReport) -> None:
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
        ops = await asyncio.to_thread(load_pending, store, batch_size)
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
            ops = await asyncio.to_thread(load_pending, store, batch_size)
        return report
    finally:
        await overlap.settle()
