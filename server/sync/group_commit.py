"""Pushes that arrive together, written in one transaction and one commit.

A single database writer (SQLite's only one, or one per server process) makes pushes
wait for each other anyway. The thread that finds the writer free takes every push
queued at that moment (one per device: a device's second push waits for the next
group, as it depends on the first) and applies them as one :class:`Batch`: each device's
ops exactly as on their own (its counter locked, deduped, its results stored, its feed
entries positioned), with the rows of all of them written together, one statement per
table, and one commit. Pushes arriving meanwhile form the next group. If the group's
transaction fails, each push is applied again on its own, so one faulty push never
fails another. Waiting happens here, in Python, not in SQLite's busy handler (which
sleeps up to 100 ms a try).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from server.context import AppContext, TerminalPrincipal
from server.sync.bulk import BulkRefused
from server.sync.chunk import Batch, Decided
from sync.protocol import Operation

log = logging.getLogger("tillsync.server.sync")


def apply_alone(ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]) -> Decided:
    """One device's ops in a transaction of their own."""
    try:
        with ctx.writer.begin() as session:
            return Batch(ctx, session).decide([(terminal, ops)])[0]
    except BulkRefused as exc:
        log.warning("bulk write refused (%s); applying the chunk op by op", exc)
        with ctx.writer.begin() as session:
            return Batch(ctx, session, use_bulk=False).decide([(terminal, ops)])[0]


@dataclass
class Queued:
    terminal: TerminalPrincipal
    ops: list[Operation]
    done: bool = False
    outcome: Decided | None = None
    error: BaseException | None = None


class GroupCommit:
    """The write gate of a server process: pushes queue here and are committed in groups."""

    MAX_GROUP = 64

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = False
        self.queue: list[Queued] = []

    def run(self, ctx: AppContext, terminal: TerminalPrincipal, ops: list[Operation]
            ) -> Decided:
        item = Queued(terminal, ops)
        group: list[Queued] = []
        with self.cond:
            self.queue.append(item)
            while (self.busy or item not in self._next_group()) and not item.done:
                self.cond.wait()
            if not item.done:
                self.busy = True
                group = self._next_group()
                for queued in group:
                    self.queue.remove(queued)
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

    def _next_group(self) -> list[Queued]:
        """The queue's first pushes, at most one per device, up to MAX_GROUP."""
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
        if len(group) > 1:
            try:
                with ctx.writer.begin() as session:
                    outcomes = Batch(ctx, session).decide([(q.terminal, q.ops) for q in group])
                for queued, outcome in zip(group, outcomes, strict=True):
                    queued.outcome = outcome
                return
            except Exception as exc:  # noqa: BLE001 - each push on its own then
                log.warning("group of %d pushes failed (%r); applying each on its own",
                            len(group), exc)
        for queued in group:
            try:
                queued.outcome = apply_alone(ctx, queued.terminal, queued.ops)
            except BaseException as exc:  # handed to that push's own thread
                queued.error = exc
