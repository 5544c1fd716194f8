"""The ops of one device in one transaction (:class:`Chunk`), and what the chunks of
one transaction share (:class:`Batch`).

A transaction holds one chunk, or (GroupCommit on SQLite) the chunks of several devices'
pushes that queued together, at most one per device. Per chunk: read the device's
counter and which of its op_ids were processed before, then per op in op_seq order:
dedupe, check op_seq against the dense counter, apply (runs of order.create in bulk,
other ops through their handler in a savepoint) and keep the op's result. What the
chunks write is gathered by the batch and written at the end with one statement per
table: the bulk rows, every op's stored result (and quarantine entry), the counters,
and last the feed entries, which take their positions under the store locks
(:meth:`FeedWriter.assign`) just before the commit. An op's effects, its stored result
and its device's counter therefore always commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from server import metrics_fleet
from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.bulk_insert import execute_rows, insert_rows
from server.db.models import ProcessedOp, QuarantinedOp, Terminal
from server.errors import ApiError
from server.feed.writer import FeedWriter
from server.sync import product_codes
from server.sync import repository as repo
from server.sync.bulk import BulkOrders, is_bulk
from server.sync.common import Outcome
from server.sync.dispatch import result_of, run_handler, stored_result
from server.sync.intake import (
    ENTITY_COLUMN,
    RefusedOperation,
    as_json,
    type_name,
)
from sync.protocol import Operation, OperationResult, OpStatus

_terminals = Terminal.__table__
_LOCK_TERMINALS = (select(_terminals.c.id, _terminals.c.last_applied_seq, _terminals.c.revoked)
                   .where(_terminals.c.id.in_(bindparam("ids", expanding=True)))
                   .order_by(_terminals.c.id).with_for_update())
_UPDATE_TERMINAL = (update(_terminals).where(_terminals.c.id == bindparam("tid"))
                    .values(last_applied_seq=bindparam("seq"), last_seen_at=bindparam("now")))

Decided = tuple[list[OperationResult], bool, int]  # (results, gap, last applied op_seq)


class Batch:
    """One transaction's shared state: the devices' counters and stored results read in
    one query each, one bulk order writer, one feed buffer, and the rows the chunks
    leave to be written at the end (:meth:`finish`)."""

    def __init__(self, ctx: AppContext, session: Session, use_bulk: bool = True) -> None:
        self.ctx = ctx
        self.session = session
        self.use_bulk = use_bulk
        self.now = utcnow()
        self.bulk = BulkOrders(session, ctx.settings.webhook_urls, self.now)
        self.feed = FeedWriter.deferred(session, "", "")  # the buffer every chunk appends to
        self.counters: dict[str, int] = {}
        self.known: dict[str, tuple[str, dict[str, Any]]] = {}
        self.processed: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.lags: list[dict[str, str]] = []

    def decide(self, pushes: list[tuple[TerminalPrincipal, list[Operation]]]
               ) -> list[Decided | ApiError]:
        """Apply each device's ops (one chunk per device) and write it all; per chunk
        (results, gap, last applied op_seq), in the order given, or the 401 of a device
        revoked meanwhile (checked here, under the lock, whatever the token cache says)."""
        devices = [t.terminal_id for t, _ in pushes]
        assert len(set(devices)) == len(devices), "one chunk per device in a transaction"
        metrics = self.ctx.metrics  # the group's size, and how long each push waited for it
        metrics.group_size.observe(len(pushes))
        for waited in metrics.queue_clock.waited([d for d in devices if d is not None]):
            metrics.group_wait.observe(waited)
        conn = self.session.connection()
        rows = conn.execute(_LOCK_TERMINALS, {"ids": sorted(devices)})
        self.counters = {r.id: r.last_applied_seq for r in rows if not r.revoked}
        self.known = repo.processed_results(
            self.session, [op.op_id for _, ops in pushes for op in ops])
        product_codes.lock_product_ops(self.session, [
            (t, [op for op in ops if op.op_id not in self.known])
            for t, ops in pushes if t.terminal_id in self.counters])
        if self.use_bulk:
            self.bulk.prepare([(t, [op for op in ops if is_bulk(op)
                                    and op.op_id not in self.known]) for t, ops in pushes])
        decided: list[Decided | ApiError] = [
            Chunk(self, terminal, ops).run()
            if terminal.terminal_id in self.counters
            else ApiError(401, "invalid_token", "Unknown or revoked terminal")
            for terminal, ops in pushes]
        # each till's reported sync lag, and whether its push was held back at a gap
        self.lags = metrics_fleet.lag_rows(self.ctx.metrics.lag_reports, {
            t.terminal_id: d[1] for (t, _), d in zip(pushes, decided, strict=True)
            if t.terminal_id is not None and not isinstance(d, ApiError)}, self.now)
        self.finish()
        return decided

    def feed_for(self, terminal: TerminalPrincipal) -> FeedWriter:
        writer = FeedWriter.deferred(self.session, terminal.org_id, terminal.store_id)
        writer.pending = self.feed.pending  # every chunk's entries get positions together
        return writer

    def store(self, terminal: TerminalPrincipal, op: Operation, result: OperationResult
              ) -> None:
        """Keep an op's result (and quarantine entry) to write at the end."""
        self.processed.append({
            "op_id": op.op_id, "device_id": terminal.terminal_id, "op_seq": op.op_seq,
            "org_id": terminal.org_id, "type": type_name(op),
            "entity_id": op.entity_id[:ENTITY_COLUMN],
            "status": result.status.value, "result": result.model_dump(mode="json"),
            "processed_at": self.now,
        })
        if result.status is OpStatus.REJECTED:
            self.quarantine(terminal, op, result.reason)

    def quarantine(self, terminal: TerminalPrincipal, op: Operation, reason: str | None
                   ) -> None:
        """Keep a quarantine entry for a rejected op, to write at the end."""
        self.quarantined.append({
            "id": new_id(), "org_id": terminal.org_id, "store_id": terminal.store_id,
            "device_id": terminal.terminal_id, "op_id": op.op_id,
            "op_type": type_name(op), "operation": as_json(op),
            "reason": reason or "rejected", "status": "open", "result": None,
            "created_at": self.now, "resolved_at": None, "resolved_by": None,
        })

    def finish(self) -> None:
        """Write what the chunks left: bulk rows, results, counters; the feed last (its
        store locks are then held only until the commit)."""
        self.bulk.flush()
        conn = self.session.connection()
        insert_rows(conn, ProcessedOp.__table__, self.processed)
        insert_rows(conn, QuarantinedOp.__table__, self.quarantined)
        execute_rows(conn, _UPDATE_TERMINAL, [{"tid": tid, "seq": seq, "now": self.now}
                                              for tid, seq in sorted(self.counters.items())])
        metrics_fleet.write_lags(conn, self.lags)  # /metrics reads them (one row a till)
        self.feed.assign()


@dataclass
class _Answer:
    kind: str  # "now": result known; "done": applied here; "dup": repeated in this push
    op: Operation
    result: OperationResult | None = None


class Chunk:
    """One device's ops in a batch: dedupe, order, apply, keep results."""

    def __init__(self, batch: Batch, terminal: TerminalPrincipal, ops: list[Operation]) -> None:
        self.batch = batch
        self.terminal = terminal
        self.ops = ops
        self.feed = batch.feed_for(terminal)
        self.done: dict[str, OperationResult] = {}  # op_id -> result, of ops applied here
        self.seq_owner: dict[int, str] = {}
        self.refused: set[str] = set()  # op_ids quarantined here without a stored result

    def run(self) -> Decided:
        batch, terminal = self.batch, self.terminal
        assert terminal.terminal_id is not None
        last = batch.counters[terminal.terminal_id]
        answers: list[_Answer] = []
        gap = False
        for i, op in enumerate(self.ops):
            stored = batch.known.get(op.op_id)
            if stored is not None and stored[0] == terminal.terminal_id:
                answers.append(_Answer("now", op, stored_result(stored[1])))
                continue
            if op.op_id in self.done:
                answers.append(_Answer("dup", op))
                continue
            if op.op_seq > last + 1:
                gap = True
                break
            if stored is not None or op.op_seq <= last:
                # rejected without a stored result (its op_id or its op_seq is another
                # op's); quarantined once, and an unused op_seq is consumed all the same
                reason = ("op_id already used by another device" if stored is not None else
                          f"op_seq {op.op_seq} was already used by op {self._owner(op)}")
                answers.append(_Answer("now", op, self._refuse(op, reason)))
                last = max(last, op.op_seq)
                continue
            op, outcome = self._apply(i, op)
            result = result_of(op, outcome)
            self.done[op.op_id] = result
            batch.store(terminal, op, result)
            answers.append(_Answer("done", op))
            self.seq_owner[op.op_seq] = op.op_id
            last = op.op_seq
        batch.counters[terminal.terminal_id] = last
        return [self._answer(a) for a in answers], gap, last

    def _answer(self, a: _Answer) -> OperationResult:
        if a.kind == "now":
            assert a.result is not None
            return a.result
        if a.kind == "done":
            return self.done[a.op.op_id]
        return stored_result(self.done[a.op.op_id].model_dump(mode="json"))

    def _refuse(self, op: Operation, reason: str) -> OperationResult:
        """The rejection of an op that cannot have a stored result of its own."""
        batch = self.batch
        device = self.terminal.terminal_id or ""
        if op.op_id not in self.refused and not repo.is_quarantined(batch.session, device,
                                                                   op.op_id):
            self.refused.add(op.op_id)
            batch.quarantine(self.terminal, op, reason)
        return result_of(op, Outcome(OpStatus.REJECTED, reason=reason))

    def _owner(self, op: Operation) -> str:
        owner = self.seq_owner.get(op.op_seq)
        if owner is None:
            other = repo.processed_at_seq(self.batch.session, self.terminal.terminal_id or "",
                                          op.op_seq)
            owner = other.op_id if other else "?"
        return owner

    def _apply(self, i: int, op: Operation) -> tuple[Operation, Outcome]:
        """(op, outcome): the op as applied and what became of it."""
        if isinstance(op, RefusedOperation):  # invalid, or held a NUL (intake.taken_in)
            return op, Outcome(OpStatus.REJECTED, reason=op.reason)
        if op.device_id != self.terminal.terminal_id:
            return op, Outcome(OpStatus.REJECTED, reason=(
                f"device_id {op.device_id} is not this terminal's device_id "
                f"({self.terminal.terminal_id}); a terminal pushes its own operations only"))
        batch = self.batch
        if batch.use_bulk and is_bulk(op):
            if not batch.bulk.prepared(op):  # a handler ran since, or not loaded yet
                run = []
                for later in self.ops[i:]:
                    if not is_bulk(later):
                        break
                    run.append(later)
                batch.bulk.prepare([(self.terminal, run)])
            outcome = batch.bulk.order_create(op, self.terminal, self.feed)
            if outcome is not None:
                return op, outcome
        batch.bulk.flush()  # a handler reads the database: the run's rows go first
        return op, run_handler(batch.ctx, batch.session, op, self.terminal, self.feed)
