"""Push: apply a device's operations in op_seq order, each once.

A push is applied in chunks of up to CHUNK ops, each chunk in ONE transaction with its
device's counter locked (:mod:`server.sync.chunk`): dedupe by op_id, op_seq against the
dense counter, the actor and permissions re-checked, the domain change applied, every
op's result stored and the counter advanced, all committed together. Runs of
order.create are decided in Python and written per table (:mod:`server.sync.bulk`);
every other op goes through its handler in a savepoint (:mod:`server.sync.dispatch`).
A rejected operation is stored too (and quarantined), so it never holds the queue;
only a transient database failure does (the chunk is retried, then 503).

Chunks are written by the process's push writer, together with the chunks of other
devices that arrived meanwhile (:mod:`server.sync.group_commit`); a request only waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import anyio
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from server import tracing
from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.engine import READ
from server.db.models import Terminal
from server.errors import ApiError
from server.journal import heads as journal_heads
from server.sync.chunk import Decided
from server.sync.group_commit import GroupCommit
from server.sync.intake import taken_in, type_name
from server.sync.schemas import check_protocol
from sync.protocol import (
    MAX_BATCH,
    Operation,
    OperationResult,
    PushRequest,
    PushResponse,
)

log = logging.getLogger("tillsync.server.sync")
RETRIES = 5
# ops per transaction: bounds how long one push holds the database (SQLite's single
# writer) and its stock-level locks; the store's feed lock is held only at the end.
# A whole push of the largest batch: with 250, each push paid a second transaction's
# look-ups and commit, 15% of PostgreSQL's push time for 10,000 sales (SQLite: even).
CHUNK = MAX_BATCH
_t = Terminal.__table__.c
_COUNTER = select(_t.last_applied_seq, _t.revoked).where(_t.id == bindparam("tid"))


def writer_of(ctx: AppContext) -> GroupCommit:
    gate = ctx.write_gate
    assert isinstance(gate, GroupCommit), "the app context has no push writer"
    return gate


async def _write_chunk(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
                       ) -> Decided:
    """One chunk through the push writer, retried on a transient database error."""
    for attempt in range(RETRIES):
        try:
            if terminal.terminal_id is not None:  # how long it waits: /metrics
                ctx.metrics.queue_clock.queued(terminal.terminal_id)
            results, gap, last = await asyncio.wrap_future(
                writer_of(ctx).submit(ctx, terminal, ops))
        except OperationalError as exc:  # deadlock, lock timeout, lost connection
            log.warning("transient database error (attempt %d): %s", attempt + 1, exc)
            await asyncio.sleep(0.05 * (2**attempt))
            continue
        _count_ops(ctx, ops, results)
        return results, gap, last
    raise ApiError(503, "unavailable", "The database is busy; resend the same operations",
                   headers={"Retry-After": "2"})


def _count_ops(ctx: AppContext, ops: list[Operation], results: list[OperationResult]
               ) -> None:
    """/metrics: the ops by type and status, one increment per (type, status) pair of
    the chunk (a ``labels()`` look-up per op cost a few per cent of a push of sales)."""
    by_id = {op.op_id: type_name(op) for op in ops}
    counts = Counter((by_id.get(r.op_id, "unknown"), r.status.value) for r in results)
    for (op_type, status), count in counts.items():
        ctx.metrics.ops.labels(op_type, status).inc(count)


def _counter(ctx: AppContext, terminal: TerminalPrincipal) -> int:
    """The device's last applied op_seq (a push with no operations of its own)."""
    with ctx.engine.connect().execution_options(**READ) as conn:
        row = conn.execute(_COUNTER, {"tid": terminal.terminal_id}).first()
    if row is None or row.revoked:
        raise ApiError(401, "invalid_token", "Unknown or revoked terminal")
    return int(row.last_applied_seq)


async def push(ctx: AppContext, terminal: TerminalPrincipal, req: PushRequest) -> PushResponse:
    """Apply a batch in op_seq order; ops after a missing op_seq are held back (gap_from).

    Every op placed gets a result, in op_seq order: an op that is not a valid Operation,
    or that carries another device's device_id, is rejected in its place (stored,
    quarantined, the counter advanced) like any other rejection."""
    check_protocol(req.protocol)  # a newer till's push is refused, never read as protocol 1
    results: list[OperationResult] = []
    gap_from: int | None = None
    last = 0
    if terminal.terminal_id is not None:  # written by the push's transaction (chunk.py)
        ctx.metrics.lag_reports.note(terminal.terminal_id, req.oldest_pending_age_s, utcnow())
    tracing.annotate(push_ops=len(req.operations))  # on the request's span (off: nothing)
    ops = taken_in(req.operations)
    for i in range(0, len(ops), CHUNK):
        done, gap, last = await _write_chunk(ctx, terminal, ops[i:i + CHUNK])
        results.extend(done)
        if gap:
            gap_from = last + 1
            break
    if not ops:
        last = await anyio.to_thread.run_sync(_counter, ctx, terminal)
    if req.journal_head is not None:  # after the ops: the head names their entries too
        await anyio.to_thread.run_sync(journal_heads.record_head, ctx, terminal, req.journal_head)
    return PushResponse(results=results, last_applied_seq=last, gap_from=gap_from,
                        server_time=utcnow())
