"""Push: apply a device's operations in op_seq order, each once.

Per chunk of a push (up to CHUNK ops), inside ONE transaction: lock the terminal row,
look all the chunk's op_ids up in processed_ops (dedupe), then per op in order: check
op_seq against the terminal's dense counter, re-check the actor and permissions and
apply the domain change; store every op's result in processed_ops and advance the
counter; finally give the chunk's feed entries their positions under the store lock
(:meth:`FeedWriter.assign`) and commit. An op's effects, its stored result and the
counter therefore always commit together.

Runs of order.create are decided in Python and written per table with executemany
(:mod:`server.sync.bulk`); every other op goes through its ORM handler in a savepoint.
A rejected operation is stored too (and quarantined), so it never holds the queue;
only a transient database failure does (the whole chunk is retried, then 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import ProcessedOp, QuarantinedOp, Staff, Terminal
from server.errors import ApiError
from server.feed.writer import FeedWriter
from server.sync import approvals, catalog, order_edits, orders
from server.sync import repository as repo
from server.sync.bulk import BulkOrders, BulkRefused, is_bulk
from server.sync.common import OpContext, Outcome, Rejected
from sync.protocol import (
    OPERATION_FORMAT_VERSION,
    Operation,
    OperationResult,
    OpStatus,
    OpType,
    PushRequest,
    PushResponse,
)

log = logging.getLogger("tillsync.server.sync")
Handler = Callable[[OpContext], Outcome]

HANDLERS: dict[OpType, Handler] = {
    OpType.ORDER_CREATE: orders.order_create,
    OpType.PAYMENT_RECORD: orders.payment_record,
    OpType.REFUND_CREATE: orders.refund_create,
    OpType.ORDER_UPDATE: order_edits.order_update,
    OpType.ORDER_DELETE: order_edits.order_delete,
    OpType.STOCK_ADJUST: catalog.stock_adjust,
    OpType.PRODUCT_CREATE: catalog.product_create,
    OpType.PRODUCT_UPDATE: catalog.product_update,
    OpType.APPROVAL_REQUEST: approvals.approval_request,
    OpType.APPROVAL_DECIDE: approvals.approval_decide,
    OpType.CUSTOMER_UPSERT: approvals.customer_upsert,
}
ORG_WIDE = {OpType.PRODUCT_CREATE, OpType.PRODUCT_UPDATE, OpType.CONFLICT_RESOLVE}
RETRIES = 5
# ops per transaction: bounds how long one push holds the database (SQLite's single
# writer) and its stock-level locks; the store's feed lock is held only at the end
CHUNK = 100
_terminals = Terminal.__table__
_LOCK_TERMINAL = (select(_terminals.c.last_applied_seq)
                  .where(_terminals.c.id == bindparam("tid")).with_for_update())
_UPDATE_TERMINAL = (update(_terminals).where(_terminals.c.id == bindparam("tid"))
                    .values(last_applied_seq=bindparam("seq"), last_seen_at=bindparam("now")))
_INSERT_PROCESSED = insert(ProcessedOp.__table__)
_INSERT_QUARANTINED = insert(QuarantinedOp.__table__)
T = TypeVar("T")


def upgrade(op: Operation) -> Operation:
    """Bring an operation of an older format_version to the current one."""
    if op.format_version > OPERATION_FORMAT_VERSION:
        raise Rejected(
            f"format_version {op.format_version} is newer than this server understands "
            f"({OPERATION_FORMAT_VERSION}); upgrade the server"
        )
    return op  # version 1 is the first format: nothing to upgrade yet


def _has_nul(value: object) -> bool:
    """Whether a NUL character is anywhere in a JSON value (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _op_has_nul(op: Operation) -> bool:
    return _has_nul([op.op_id, op.entity_id, op.actor_id, op.device_id, op.payload])


def scrub(value: object) -> object:
    """A copy with NUL characters replaced (so a bad op can still be quarantined)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}  # type: ignore[misc]
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _handler(op_type: OpType) -> Handler | None:
    if op_type is OpType.CONFLICT_RESOLVE:
        from server.conflicts.service import conflict_resolve_op

        return conflict_resolve_op
    return HANDLERS.get(op_type)


def _result(op: Operation, outcome: Outcome) -> OperationResult:
    return OperationResult(
        op_id=op.op_id, op_seq=op.op_seq, status=outcome.status, entity_id=op.entity_id,
        version=outcome.version, reason=outcome.reason, conflict_id=outcome.conflict_id,
        flags=outcome.flags,
    )


def _stored_json(data: dict[str, object]) -> OperationResult:
    """The result stored for an op; an applied op answers ``duplicate`` the second time."""
    result = OperationResult.model_validate(data)
    if result.status is OpStatus.APPLIED:
        result.status = OpStatus.DUPLICATE
    return result


def run_handler(
    ctx: AppContext, session: Session, op: Operation, terminal: TerminalPrincipal,
    feed: FeedWriter | None = None,
) -> Outcome:
    """Re-check the actor and apply one op in a savepoint; a Rejected is rolled back.

    ``feed`` is the push's deferred writer (its entries get positions at the end of the
    transaction); without one, the store rows are locked now (eager writer)."""
    mark = feed.mark() if feed is not None else 0
    savepoint = session.begin_nested()
    try:
        op = upgrade(op)
        handler = _handler(op.type)
        if handler is None:
            raise Rejected(f"{op.type.value} is not supported by this server yet")
        actor = session.get(Staff, op.actor_id)
        if actor is None or actor.org_id != terminal.org_id:
            raise Rejected(f"actor {op.actor_id} is not a staff member of this organization")
        if not actor.active:
            raise Rejected(f"{actor.name} is no longer an active staff member")
        if feed is None:
            writer = (FeedWriter.for_org(session, terminal.org_id) if op.type in ORG_WIDE
                      else FeedWriter.for_store(session, terminal.store_id))
        else:
            writer = feed.org_wide() if op.type in ORG_WIDE else feed
        oc = OpContext(session, op, terminal, actor, writer, ctx.settings.webhook_urls)
        outcome = handler(oc)
        savepoint.commit()
        return outcome
    except Rejected as exc:
        savepoint.rollback()
        if feed is not None:
            feed.truncate(mark)
        return Outcome(OpStatus.REJECTED, reason=exc.reason)
    except OperationalError:
        raise
    except Exception as exc:  # a bug must not hold the queue: quarantine it
        savepoint.rollback()
        if feed is not None:
            feed.truncate(mark)
        log.exception("op %s failed", op.op_id)
        return Outcome(OpStatus.REJECTED, reason=f"server error while applying: {exc!r}"[:900])


class _Chunk:
    """One transaction's worth of a device's ops: dedupe, order, apply, store results."""

    def __init__(self, ctx: AppContext, session: Session, terminal: TerminalPrincipal,
                 ops: list[Operation], use_bulk: bool = True) -> None:
        self.ctx = ctx
        self.session = session
        self.terminal = terminal
        self.ops = ops
        self.feed = FeedWriter.deferred(session, terminal.org_id, terminal.store_id)
        self.bulk = BulkOrders(session, terminal, self.feed, ctx.settings.webhook_urls)
        self.use_bulk = use_bulk
        # op_id -> (op, result) of the ops processed (stored) by this transaction
        self.done: dict[str, tuple[Operation, OperationResult]] = {}
        self.seq_owner: dict[int, str] = {}

    def run(self) -> tuple[list[OperationResult], bool, int]:
        session, terminal = self.session, self.terminal
        conn = session.connection()
        last = conn.execute(_LOCK_TERMINAL, {"tid": terminal.terminal_id}).scalar_one()
        known = repo.processed_results(session, [op.op_id for op in self.ops])
        answers: list[tuple[str, Operation, OperationResult | None]] = []
        gap = False
        for i, op in enumerate(self.ops):
            stored = known.get(op.op_id)
            if stored is not None:
                device_id, result_json = stored
                if device_id != terminal.terminal_id:
                    answers.append(("now", op, _result(op, Outcome(
                        OpStatus.REJECTED, reason="op_id already used by another device"))))
                else:
                    answers.append(("now", op, _stored_json(result_json)))
                continue
            if op.op_id in self.done:
                answers.append(("dup", op, None))
                continue
            if op.op_seq <= last:
                owner = self.seq_owner.get(op.op_seq)
                if owner is None:
                    other = repo.processed_at_seq(session, terminal.terminal_id, op.op_seq)
                    owner = other.op_id if other else "?"
                reason = f"op_seq {op.op_seq} was already used by op {owner}"
                answers.append(("now", op, _result(op, Outcome(OpStatus.REJECTED,
                                                               reason=reason))))
                continue
            if op.op_seq > last + 1:
                gap = True
                break
            op, outcome = self._apply(i, op)
            if outcome is not None:
                self._store(op, outcome)
            answers.append(("done", op, None))
            self.seq_owner[op.op_seq] = op.op_id
            last = op.op_seq
        self._flush_bulk()
        self._write_bookkeeping(last)
        self.feed.assign()  # last: the store lock is held only from here to the commit
        results: list[OperationResult] = []
        for kind, op, result in answers:
            if kind == "now":
                assert result is not None
                results.append(result)
            elif kind == "done":
                results.append(self.done[op.op_id][1])
            else:
                results.append(_stored_json(self.done[op.op_id][1].model_dump(mode="json")))
        return results, gap, last

    def _apply(self, i: int, op: Operation) -> tuple[Operation, Outcome | None]:
        """(op, outcome); the outcome is None while a bulk run still holds the op."""
        if _op_has_nul(op):
            op = Operation.model_validate(scrub(op.model_dump(mode="json")))
            return op, Outcome(OpStatus.REJECTED, reason="the operation contains a NUL character")
        if self.use_bulk and is_bulk(op):
            if self.bulk.run is None:
                run = []
                for later in self.ops[i:]:
                    if not is_bulk(later):
                        break
                    run.append(later)
                self.bulk.prepare(run)
            outcome = self.bulk.order_create(op)
            if outcome is not None:
                return op, outcome
        self._flush_bulk()
        return op, run_handler(self.ctx, self.session, op, self.terminal, self.feed)

    def _flush_bulk(self) -> None:
        self.bulk.flush()

    def _store(self, op: Operation, outcome: Outcome) -> None:
        self.done[op.op_id] = (op, _result(op, outcome))

    def _write_bookkeeping(self, last: int) -> None:
        """Stored results (and quarantine entries) of this transaction's ops; the counter."""
        terminal = self.terminal
        conn = self.session.connection()
        now = utcnow()
        processed = []
        quarantined = []
        for op, result in self.done.values():
            data = result.model_dump(mode="json")
            processed.append({
                "op_id": op.op_id, "device_id": terminal.terminal_id, "op_seq": op.op_seq,
                "org_id": terminal.org_id, "type": op.type.value, "entity_id": op.entity_id,
                "status": result.status.value, "result": data, "processed_at": now,
            })
            if result.status is OpStatus.REJECTED:
                quarantined.append({
                    "id": new_id(), "org_id": terminal.org_id, "store_id": terminal.store_id,
                    "device_id": terminal.terminal_id, "op_id": op.op_id,
                    "op_type": op.type.value, "operation": op.model_dump(mode="json"),
                    "reason": result.reason or "rejected", "status": "open", "result": None,
                    "created_at": now, "resolved_at": None, "resolved_by": None,
                })
        if processed:
            conn.execute(_INSERT_PROCESSED, processed)
        if quarantined:
            conn.execute(_INSERT_QUARANTINED, quarantined)
        conn.execute(_UPDATE_TERMINAL, {"tid": terminal.terminal_id, "seq": last, "now": now})


def _process_chunk(
    ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
) -> tuple[list[OperationResult], bool, int]:
    """Ops of one device in ONE transaction: (results, gap, last applied op_seq).

    Every op's effects, its stored result and the device counter commit together (all of
    a chunk or none of it), so the dedupe guarantees are per op; runs of order.create go
    through :mod:`server.sync.bulk`, other ops through their handler in a savepoint.
    On SQLite, chunks of pushes that arrive together share a transaction (GroupCommit).
    """
    group = ctx.write_gate
    if isinstance(group, GroupCommit):
        results, gap, last = group.run(ctx, terminal, ops)
    else:
        results, gap, last = _apply_one(ctx, terminal, ops)
    by_id = {op.op_id: op.type.value for op in ops}
    for result in results:
        ctx.metrics.ops.labels(by_id.get(result.op_id, "unknown"), result.status.value).inc()
    return results, gap, last


def _apply_one(
    ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
) -> tuple[list[OperationResult], bool, int]:
    try:
        with ctx.writer.begin() as session:
            return _Chunk(ctx, session, terminal, ops).run()
    except BulkRefused as exc:
        log.warning("bulk write refused (%s); applying the chunk op by op", exc)
        with ctx.writer.begin() as session:
            return _Chunk(ctx, session, terminal, ops, use_bulk=False).run()


@dataclass
class _Queued:
    terminal: TerminalPrincipal
    ops: list[Operation]
    done: bool = False
    outcome: tuple[list[OperationResult], bool, int] | None = None
    error: BaseException | None = None


class GroupCommit:
    """SQLite's writes, one transaction at a time, with the chunks that queued meanwhile
    committed together.

    SQLite has one writer, so pushes wait for each other anyway. The thread that finds
    the writer free applies every chunk queued at that moment, each exactly as on its
    own (its terminal locked, deduped, its results stored, its feed entries positioned),
    in ONE transaction and one commit; chunks arriving meanwhile form the next group.
    A chunk's guarantees do not change: its effects, results and counter commit
    together. If the group's transaction fails, each chunk is applied again on its own
    (so one faulty push never fails another). Waiting happens here, in Python, not in
    SQLite's busy handler (which sleeps up to 100 ms a try).
    """

    MAX_GROUP = 64

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = False
        self.queue: list[_Queued] = []

    def run(self, ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
            ) -> tuple[list[OperationResult], bool, int]:
        item = _Queued(terminal, ops)
        with self.cond:
            self.queue.append(item)
            while self.busy and not item.done:
                self.cond.wait()
            if not item.done:
                self.busy = True
                group = self.queue[:self.MAX_GROUP]
                del self.queue[:self.MAX_GROUP]
        if not item.done:
            try:
                self._apply(ctx, group)
            finally:
                with self.cond:
                    for queued in group:
                        queued.done = True
                    self.busy = False
                    self.cond.notify_all()
        if item.error is not None:
            raise item.error
        assert item.outcome is not None
        return item.outcome

    def _apply(self, ctx: AppContext, group: list[_Queued]) -> None:
        if len(group) > 1:
            try:
                with ctx.writer.begin() as session:
                    outcomes = [_Chunk(ctx, session, q.terminal, q.ops).run() for q in group]
                for queued, outcome in zip(group, outcomes, strict=True):
                    queued.outcome = outcome
                return
            except Exception as exc:  # noqa: BLE001 - each chunk on its own then
                log.warning("group of %d pushes failed (%r); applying each on its own",
                            len(group), exc)
        for queued in group:
            try:
                queued.outcome = _apply_one(ctx, queued.terminal, queued.ops)
            except BaseException as exc:  # handed to that push's own thread
                queued.error = exc


def result_type(ops: list[Operation], result: OperationResult) -> str:
    for op in ops:
        if op.op_id == result.op_id:
            return op.type.value
    return "unknown"


def _with_retries(fn: Callable[[], T]) -> T:
    for attempt in range(RETRIES):
        try:
            return fn()
        except OperationalError as exc:  # deadlock, lock timeout, lost connection
            log.warning("transient database error (attempt %d): %s", attempt + 1, exc)
            time.sleep(0.05 * (2**attempt))
    raise ApiError(503, "unavailable", "The database is busy; resend the same operations",
                   headers={"Retry-After": "2"})


def push(ctx: AppContext, terminal: TerminalPrincipal, req: PushRequest) -> PushResponse:
    """Apply a batch in op_seq order; ops after a missing op_seq are held back (gap_from)."""
    results: list[OperationResult] = []
    gap_from: int | None = None
    last = 0
    mine: list[Operation] = []
    for op in sorted(req.operations, key=lambda o: o.op_seq):
        if op.device_id != terminal.terminal_id:
            results.append(_result(op, Outcome(
                OpStatus.REJECTED, reason="device_id is not the device of this terminal token")))
        else:
            mine.append(op)
    for i in range(0, len(mine), CHUNK):
        chunk = mine[i:i + CHUNK]
        done, gap, last = _with_retries(lambda chunk=chunk: _process_chunk(ctx, terminal, chunk))
        results.extend(done)
        if gap:
            gap_from = last + 1
            break
    if not mine:
        with ctx.reader() as session:
            term = session.get(Terminal, terminal.terminal_id)
            last = term.last_applied_seq if term else last
    return PushResponse(results=results, last_applied_seq=last, gap_from=gap_from,
                        server_time=utcnow())
