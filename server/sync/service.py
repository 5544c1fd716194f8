"""Push: apply each operation in op_seq order, once, in its own transaction.

Per operation, inside ONE transaction: lock the terminal row, look the op_id up in
processed_ops (dedupe), check op_seq against the terminal's dense counter, re-check
the actor and permissions, apply the domain change (in a savepoint), store the result
in processed_ops and advance the counter. A rejected operation is stored too (and
quarantined), so it never holds the queue; only a transient database failure does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

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
CHUNK = 50  # ops per transaction: bounds how long one push holds the store's feed lock
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
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


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


def _stored(row: ProcessedOp) -> OperationResult:
    """The result stored for an op; an applied op answers ``duplicate`` the second time."""
    result = OperationResult.model_validate(row.result)
    if result.status is OpStatus.APPLIED:
        result.status = OpStatus.DUPLICATE
    return result


def run_handler(
    ctx: AppContext, session: Session, op: Operation, terminal: TerminalPrincipal
) -> Outcome:
    """Re-check the actor and apply one op in a savepoint; a Rejected is rolled back."""
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
        feed = (FeedWriter.for_org(session, terminal.org_id) if op.type in ORG_WIDE
                else FeedWriter.for_store(session, terminal.store_id))
        oc = OpContext(session, op, terminal, actor, feed, ctx.settings.webhook_urls)
        outcome = handler(oc)
        savepoint.commit()
        return outcome
    except Rejected as exc:
        savepoint.rollback()
        return Outcome(OpStatus.REJECTED, reason=exc.reason)
    except OperationalError:
        raise
    except Exception as exc:  # a bug must not hold the queue: quarantine it
        savepoint.rollback()
        log.exception("op %s failed", op.op_id)
        return Outcome(OpStatus.REJECTED, reason=f"server error while applying: {exc!r}"[:900])


def _process_in(
    ctx: AppContext, session: Session, term: Terminal, terminal: TerminalPrincipal,
    op: Operation,
) -> OperationResult | None:
    """Process one op inside the caller's transaction (None when held back by a gap)."""
    last = term.last_applied_seq
    seen = repo.processed(session, op.op_id)
    if seen is not None:
        if seen.device_id != terminal.terminal_id:
            return _result(op, Outcome(OpStatus.REJECTED,
                                       reason="op_id already used by another device"))
        return _stored(seen)
    if op.op_seq <= last:
        other = repo.processed_at_seq(session, terminal.terminal_id, op.op_seq)
        reason = f"op_seq {op.op_seq} was already used by op {other.op_id if other else '?'}"
        return _result(op, Outcome(OpStatus.REJECTED, reason=reason))
    if op.op_seq > last + 1:
        return None
    if _has_nul(op.model_dump(mode="json")):
        op = Operation.model_validate(scrub(op.model_dump(mode="json")))
        outcome = Outcome(OpStatus.REJECTED, reason="the operation contains a NUL character")
    else:
        outcome = run_handler(ctx, session, op, terminal)
    result = _result(op, outcome)
    session.add(ProcessedOp(
        op_id=op.op_id, device_id=terminal.terminal_id, op_seq=op.op_seq,
        org_id=terminal.org_id, type=op.type.value, entity_id=op.entity_id,
        status=result.status.value, result=result.model_dump(mode="json"),
    ))
    if result.status is OpStatus.REJECTED:
        session.add(QuarantinedOp(
            id=new_id(), org_id=terminal.org_id, store_id=terminal.store_id,
            device_id=terminal.terminal_id, op_id=op.op_id, op_type=op.type.value,
            operation=op.model_dump(mode="json"), reason=result.reason or "rejected",
        ))
    term.last_applied_seq = op.op_seq
    return result


def _process_chunk(
    ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
) -> tuple[list[OperationResult], bool, int]:
    """Ops of one device in ONE transaction, each in its own savepoint: (results, gap, last).

    Every op's effects, its stored result and the device counter still commit
    together (all of a chunk or none of it), so the dedupe guarantees are per op as
    before; grouping only saves a commit (an fsync) and the lock round trips per op.
    """
    results: list[OperationResult] = []
    gap = False
    with ctx.writer.begin() as session:
        term = repo.lock_terminal(session, terminal.terminal_id)
        for op in ops:
            result = _process_in(ctx, session, term, terminal, op)
            if result is None:
                gap = True
                break
            results.append(result)
        term.last_seen_at = utcnow()
        last = term.last_applied_seq
    for result in results:
        ctx.metrics.ops.labels(result_type(ops, result), result.status.value).inc()
    return results, gap, last


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
