"""Pushes that arrive together, written in one transaction and one commit.

Each server process has one writer thread for pushes. Requests hand their chunk to it
(:meth:`GroupCommit.submit`) and wait on a future, without holding a thread of their
own. The writer takes every chunk queued at that moment (one per device: a device's
second chunk waits for the next group, as it depends on the first) and applies them as
one :class:`Batch`: each device's ops exactly as on their own (its counter locked,
deduped, its results stored, its feed entries positioned), with the rows of all of
them written together, one statement per table, and one commit. Chunks arriving
meanwhile form the next group, so the busier the server, the bigger the groups and
the cheaper each push. If a group's transaction fails, each chunk is applied again on
its own, so one faulty push never fails another.

On SQLite, the one writer means pushes never wait in SQLite's busy handler (which
sleeps up to 100 ms a try). On PostgreSQL, several server processes each have their
writer; their transactions lock terminals, stock levels and store feeds in key order.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from server.context import AppContext, TerminalPrincipal
from server.errors import ApiError
from server.sync.bulk import BulkRefused
from server.sync.chunk import Batch, Decided
from server.sync.intake import failed, type_name
from sync.protocol import Operation, OperationResult

log = logging.getLogger("tillsync.server.sync")


def _decide(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation],
            use_bulk: bool = True) -> Decided:
    with ctx.writer.begin() as session:
        outcome = Batch(ctx, session, use_bulk=use_bulk).decide([(terminal, ops)])[0]
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


def apply_alone(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]) -> Decided:
    """One device's ops in a transaction of their own.

    If the database refuses the bulk rows, the chunk is applied again without the bulk
    path; if it still fails for a reason that is not transient, op by op, so the op at
    fault is rejected (and quarantined) alone instead of the push failing forever."""
    try:
        return _decide(ctx, terminal, ops)
    except BulkRefused as exc:
        log.warning("bulk write refused (%s); applying the chunk op by op", exc)
    except (OperationalError, ApiError):
        raise
    except Exception:  # noqa: BLE001 - not transient: once more without the bulk path
        log.exception("a chunk of device %s failed; applying it without the bulk path",
                      terminal.terminal_id)
    try:
        return _decide(ctx, terminal, ops, use_bulk=False)
    except (OperationalError, ApiError):
        raise  # transient (retried by the caller), or a revoked terminal
    except Exception:  # noqa: BLE001 - an op the server cannot write: find it
        log.exception("a chunk of %d ops of device %s failed; applying them one by one",
                      len(ops), terminal.terminal_id)
    return _one_by_one(ctx, terminal, ops)


def _one_by_one(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
                ) -> Decided:
    """Each op in a transaction of its own; one that fails is filed as rejected with the
    internal-error reason (its error is logged), and the ops after it go on."""
    results: list[OperationResult] = []
    gap, last = False, 0
    for op in ops:
        try:
            done, gap, last = _decide(ctx, terminal, [op], use_bulk=False)
        except (OperationalError, ApiError):
            raise
        except Exception:  # noqa: BLE001
            log.exception("op %s (%s) could not be written", op.op_id, type_name(op))
            done, gap, last = _decide(ctx, terminal, [failed(op)], use_bulk=False)
        results.extend(done)
        if gap:
            break
    return results, gap, last


@dataclass
class Queued:
    terminal: TerminalPrincipal
    ops: list[Operation]
    future: Future[Decided] = field(default_factory=Future)


class GroupCommit:
    """The push writer of a server process: chunks queue here and commit in groups."""

    MAX_GROUP = 128

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: list[Queued] = []
        self.thread: threading.Thread | None = None
        self.closed = False

    def submit(self, ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
               ) -> Future[Decided]:
        """Queue one device's chunk; the future gets (results, gap, last) or the error."""
        item = Queued(terminal, ops)
        with self.cond:
            if self.closed:
                raise ApiError(503, "unavailable", "The server is shutting down; resend later",
                               headers={"Retry-After": "5"})
            self.queue.append(item)
            if self.thread is None:
                self.thread = threading.Thread(target=self._write, args=(ctx,), daemon=True,
                                               name="tillsync-push-writer")
                self.thread.start()
            self.cond.notify()
        return item.future

    def run(self, ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
            ) -> Decided:
        """``submit`` and wait (for callers that are threads themselves)."""
        return self.submit(ctx, terminal, ops).result()

    def close(self, timeout: float = 30) -> None:
        """Stop the writer once the queued chunks are written."""
        with self.cond:
            self.closed = True
            self.cond.notify()
            thread = self.thread
        if thread is not None:
            thread.join(timeout)

    def _write(self, ctx: AppContext) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait()
                if not self.queue:
                    return
                group = self._next_group()
                for queued in group:
                    self.queue.remove(queued)
            try:
                self._apply(ctx, group)
            except BaseException as exc:  # the writer lives on; no waiter is left hanging
                log.exception("push writer failed")
                for queued in group:
                    if not queued.future.done():
                        queued.future.set_exception(exc)

    def _next_group(self) -> list[Queued]:
        """The queue's first chunks, at most one per device, up to MAX_GROUP."""
        group: list[Queued] = []
        devices: set[str | None] = set()
        for queued in self.queue:
            if queued.terminal.terminal_id not in devices:
                devices.add(queued.terminal.terminal_id)
                group.append(queued)
                if len(group) == self.MAX_GROUP:
                    break
        return group

    def _apply(self, ctx: AppContext, group: list[Queued]) -> None:
        """Write the group; every chunk's future is settled, whatever happens."""
        if len(group) > 1:
            try:
                with ctx.writer.begin() as session:
                    outcomes = Batch(ctx, session).decide([(q.terminal, q.ops) for q in group])
            except Exception as exc:  # noqa: BLE001 - each chunk on its own then
                log.warning("group of %d pushes failed (%r); applying each on its own",
                            len(group), exc)
            else:
                for queued, outcome in zip(group, outcomes, strict=True):
                    if isinstance(outcome, ApiError):
                        queued.future.set_exception(outcome)
                    else:
                        queued.future.set_result(outcome)
                return
        for queued in group:
            try:
                queued.future.set_result(apply_alone(ctx, queued.terminal, queued.ops))
            except BaseException as exc:  # handed to that push's own waiter
                queued.future.set_exception(exc)
