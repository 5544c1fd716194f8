"""Background sync on the Qt event loop: SyncService.loop() under qasync.

The service awaits the network (httpx.AsyncClient) and runs its SQLite work in
worker threads, so the GUI thread never waits on either. This wrapper turns the
service's callbacks into Qt signals for the status bar, pokes the service after
every local change that wrote to the outbox, and broadcasts a Changes after a
round that pulled something, so screens refresh the way they do after a local
operation.

A round that has had no answer for ``HUNG_AFTER_S`` is shown as offline at once (a
hung server used to show "Syncing…" for a minute and a half); the round goes on and
its end says what really happened. While the server is away the service retries
every few seconds (``OFFLINE_RETRY_S``),
so the till is online again within about five seconds of the server's return. The
log says what changed, once per change ("server unreachable: ...", "server reachable
again"), not a line per request (ui/main.py quiets httpx's own request log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.services.changes import Changes
from app.store.local import LocalStore
from ui.ops import Ops

if TYPE_CHECKING:
    from sync.service import ClientFactory, SyncReport, SyncService
    from sync.status import SyncStatus

log = logging.getLogger(__name__)

#: What a pull may have touched: every screen that shows server data refreshes.
PULLED = Changes(orders=True, catalog=True, stock=True, staff=True, conflicts=True, approvals=True)
#: The longest wait between tries while the server cannot be reached.
OFFLINE_RETRY_S = 4.0
#: A round with no answer for this long: the status bar says offline.
HUNG_AFTER_S = 8.0


def pulled_something(report: SyncReport) -> bool:
    pull = report.pull
    return bool(pull.applied or pull.snapshot or report.held_back_applied
                or report.push.conflicts or report.push.rejected)


class BackgroundSync(QObject):
    """Owns one SyncService for the life of the app.

    ``status_changed(SyncStatus)`` after every attempt; ``progress(done, total)``
    while a snapshot or a long pull loads (total 0: unknown); ``progress_done``
    when the round ends.
    """

    status_changed = Signal(object)
    progress = Signal(int, int)
    progress_done = Signal()

    def __init__(self, store: LocalStore, ops: Ops, client_factory: ClientFactory, *,
                 interval_s: float = 15.0, backoff_base_s: float = 2.0,
                 backoff_max_s: float = OFFLINE_RETRY_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from sync.service import SyncService  # httpx and the sync engine load only when used

        self.ops = ops
        self.service: SyncService = SyncService(
            store, client_factory, interval_s=interval_s, backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s, progress=self._on_progress)
        self.service.add_listener(self._on_status)
        self._seen: SyncReport | None = None
        self._was_online: bool | None = None  # what the log last said
        self._round: SyncStatus | None = None  # the status a round in flight started with
        self._hung = QTimer(self)
        self._hung.setSingleShot(True)
        self._hung.timeout.connect(self._round_hung)
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        ops.changed.connect(self._on_local_change)

    # -- running ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def stopped(self) -> bool:
        """stop() or stop_now() was called: the app is closing (a round cut short by it
        is no failure, and the loop is not started again)."""
        return self._stopped

    def start(self) -> None:
        """Run the service's loop on the current (qasync) event loop until stop()."""
        if not self.running and not self._stopped:
            self._task = asyncio.get_event_loop().create_task(self._loop())

    async def _loop(self) -> None:
        try:
            await self.service.loop()
        except asyncio.CancelledError:
            pass
        except Exception:  # the loop catches its own errors; this is a last resort
            log.exception("the sync loop stopped")

    async def sync_now(self) -> SyncReport:
        """One round now (the first sync); raises SyncError like run_once."""
        return await self.service.run_once()

    def poke(self) -> None:
        self.service.poke()

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Stop the loop: let a round in flight finish briefly, then cancel it."""
        self._stopped = True
        self._quiet()
        self.service.stop()
        task, self._task = self._task, None
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def stop_now(self) -> None:
        """Stop without waiting (no running loop to wait on)."""
        self._stopped = True
        self._quiet()
        self.service.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def _quiet(self) -> None:
        """A stopped sync says nothing more: the "round hung" timer of a round in flight
        stops now, not when the cancelled round's ``finally`` runs on the loop (after the
        app closed, maybe never); a timer left running also outlives the window that
        shows what it says, and whatever thread frees this object."""
        self._hung.stop()
        self._round = None

    def status(self) -> SyncStatus:
        """The service's status; safe to call from a worker thread (a local read)."""
        return self.service.status()

    # -- callbacks ------------------------------------------------------------------
    def _on_local_change(self, changes: Changes) -> None:
        if changes.outbox:
            self.service.poke()

    def _on_progress(self, done: int, total: int | None) -> None:
        self.progress.emit(done, total or 0)

    def _on_status(self, status: SyncStatus) -> None:
        self.status_changed.emit(status)
        if status.syncing:
            self._round = status
            self._hung.start(int(HUNG_AFTER_S * 1000))
            return
        self._hung.stop()
        self._round = None
        self._log_change(status)
        self.progress_done.emit()
        report = self.service.last_report
        if report is not None and report is not self._seen:
            self._seen = report
            if pulled_something(report):
                self.ops.broadcast(PULLED)
            elif report.attention:  # the server's attention items: the list counts again
                self.ops.broadcast(Changes())

    def _round_hung(self) -> None:
        """No answer for a while: offline, say so now (the round may still finish)."""
        if self._round is None:
            return
        status = replace(self._round, online=False,
                         message=f"Offline: the server has not answered for {HUNG_AFTER_S:g} s; still trying")
        self.status_changed.emit(status)
        self._log_change(status)

    def _log_change(self, status: SyncStatus) -> None:
        """One line when the server comes or goes, none while nothing changes."""
        if status.online == self._was_online:
            return
        if status.online:
            log.info("Sync: the server is reachable%s; %d operation(s) waiting",
                     " again" if self._was_online is False else "", status.waiting)
        else:
            log.warning("Sync: the server cannot be reached (%s); retrying every few seconds, "
                        "%d operation(s) waiting", status.message or "no answer", status.waiting)
        self._was_online = status.online
