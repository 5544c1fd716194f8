"""Push: apply a device's operations in op_seq order, each once.

A push is applied in chunks of up to CHUNK ops, each chunk in ONE transaction with its
device's counter locked (:mod:`server.sync.chunk`): dedupe by op_id, op_seq against the
dense counter, the actor and permissions re-checked, the domain change applied, every
op's result stored and the counter advanced, all committed together. Runs of
order.create are decided in Python and written per table (:mod:`server.sync.bulk`);
every other op goes through its handler in a savepoint (:mod:`server.sync.dispatch`).
A rejected operation is stored too (and quarantined), so it never holds the queue;
only a transient database failure does (the chunk is retried, then 503).

On SQLite the chunks of pushes that arrive together share one transaction
(:mod:`server.sync.group_commit`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import Terminal
from server.errors import ApiError
from server.sync.bulk import is_bulk
from server.sync.chunk import Decided
from server.sync.common import Outcome
from server.sync.dispatch import result_of, run_handler
from server.sync.group_commit import GroupCommit, Queued, apply_alone
from sync.protocol import Operation, OperationResult, OpStatus, PushRequest, PushResponse

__all__ = ["CHUNK", "GroupCommit", "Queued", "is_bulk", "push", "run_handler"]

log = logging.getLogger("tillsync.server.sync")
RETRIES = 5
# ops per transaction: bounds how long one push holds the database (SQLite's single
# writer) and its stock-level locks; the store's feed lock is held only at the end
CHUNK = 100
T = TypeVar("T")


def _process_chunk(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
                   ) -> Decided:
    """Ops of one device in ONE transaction: (results, gap, last applied op_seq)."""
    gate = ctx.write_gate
    if isinstance(gate, GroupCommit):
        results, gap, last = gate.run(ctx, terminal, ops)
    else:
        results, gap, last = apply_alone(ctx, terminal, ops)
    by_id = {op.op_id: op.type.value for op in ops}
    for result in results:
        ctx.metrics.ops.labels(by_id.get(result.op_id, "unknown"), result.status.value).inc()
    return results, gap, last


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
            results.append(result_of(op, Outcome(
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
