"""The sync engine the desktop runs: push then pull, on a timer and when poked.

Why a timer as well as ``poke()``: an operation that failed for a transient reason
must be retried even if nobody sells anything afterwards. Why backoff with jitter:
forty tills coming back online together must not hit the server in lock-step.
Why everything is async: it runs on the Qt event loop under qasync; the network
is awaited, and the SQLite work runs in worker threads (asyncio.to_thread) so a
large first sync never freezes the till.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.store.local import LocalStore
from sync import attention_pull, conflicts, credentials, recovery, state
from sync.client import (
    AuthError,
    PermanentError,
    SyncClient,
    SyncError,
    TransientError,
    server_trust,
)
from sync.pull import Progress, PullReport, apply_held_back, pull_changes
from sync.push import PushReport, push_pending
from sync.recovery import RecoveryReport
from sync.status import SyncStatus, read_status

log = logging.getLogger("tillsync.sync")
ClientFactory = Callable[[], SyncClient]
StatusListener = Callable[[SyncStatus], None]


class NotEnrolled(RuntimeError):
    """This terminal has no server or credential yet."""


@dataclass
class SyncReport:
    push: PushReport = field(default_factory=PushReport)
    pull: PullReport = field(default_factory=PullReport)
    held_back_applied: int = 0
    recovery: RecoveryReport | None = None  # set when a restore of either side was lined up
    clock_skew_s: float | None = None
    attention: bool = False  # a new answer of the server's attention list was kept
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None


def client_factory_for(store: LocalStore, passphrase: str | None = None,
                       timeout: float | None = None) -> ClientFactory:
    """A factory of clients for the enrolled server, authenticated with the stored credential."""
    device = store.device()
    cred = credentials.load(store.data_dir, store.device_id, passphrase)
    if not device.server_url or cred is None:
        raise NotEnrolled("This terminal is not enrolled; run: tillsync enroll --server URL --code CODE")
    url = device.server_url
    verify = server_trust(store.data_dir)  # a certificate pinned at the first start, if any

    def make() -> SyncClient:
        if timeout is not None:
            return SyncClient(url, cred.token, timeout=timeout, verify=verify)
        return SyncClient(url, cred.token, verify=verify)

    return make


def backoff_delay(failures: int, base: float, cap: float, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff, never sooner than the server's Retry-After."""
    rng = rng or random.Random()
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    delay = rng.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


class SyncService:
    def __init__(
        self,
        store: LocalStore,
        client_factory: ClientFactory,
        *,
        interval_s: float = 15.0,
        backoff_base_s: float = 2.0,
        backoff_max_s: float = 300.0,
        pull_limit: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.client_factory = client_factory
        self.interval_s = interval_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.pull_limit = pull_limit
        self.progress = progress
        self.online = False
        self.message: str | None = None
        self.failures = 0
        self.last_report: SyncReport | None = None
        self._listeners: list[StatusListener] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopped = False
        self._syncing = False
        self._migrated = False

    # ------------------------------------------------------------ status

    def add_listener(self, listener: StatusListener) -> None:
        """Called with the new SyncStatus after every attempt (e.g. the status bar)."""
        self._listeners.append(listener)

    def status(self) -> SyncStatus:
        return read_status(self.store, online=self.online, message=self.message,
                           syncing=self._syncing)

    def _notify(self) -> None:
        if not self._listeners:
            return
        current = self.status()
        for listener in list(self._listeners):
            try:
                listener(current)
            except Exception:  # a broken listener must not stop syncing
                log.exception("sync status listener failed")

    # ------------------------------------------------------------ one round

    def _record_success(self, report: SyncReport) -> None:
        now = datetime.now(UTC)
        server_time = report.pull.server_time or report.push.server_time
        with self.store.db.write() as s:
            state.set_state(s, state.LAST_SYNC, now.isoformat())
            if server_time is not None:
                st = server_time if server_time.tzinfo else server_time.replace(tzinfo=UTC)
                report.clock_skew_s = (st - now).total_seconds()
                state.set_state(s, state.CLOCK_SKEW, f"{report.clock_skew_s:.3f}")

    async def _line_up(self, client: SyncClient, report: SyncReport,
                       server_seq: int | None) -> bool:
        """Line up with the server after a restore of either side (sync/recovery.py):
        before pushing when ``tillsync restore`` left its mark, and whenever a pull
        answer's ``device_seq`` disagrees with the outbox. True when something moved."""
        if server_seq is None:
            if not await asyncio.to_thread(recovery.restored_here, self.store):
                return False
        else:
            local = await asyncio.to_thread(recovery.local_position, self.store)
            if not recovery.out_of_line(local, server_seq):
                return False
        found = await recovery.check(self.store, client)
        if found is None or not (found.till_restored or found.server_restored):
            return False
        log.warning("restore lined up: %s", found)
        report.recovery = found
        return True

    def _migrate_legacy(self) -> None:
        with self.store.db.write() as s:
            conflicts.migrate_legacy(s)
        self._migrated = True

    async def run_once(self) -> SyncReport:
        """Push waiting operations, then pull changes. Raises SyncError on failure."""
        async with self._lock:
            if not self._migrated:
                await asyncio.to_thread(self._migrate_legacy)
            report = SyncReport()
            self._syncing = True
            self._notify()
            try:
                client = self.client_factory()
                async with client:
                    await self._line_up(client, report, None)
                    report.push = await push_pending(self.store, client)
                    report.held_back_applied = await asyncio.to_thread(apply_held_back, self.store)
                    report.pull = await pull_changes(self.store, client, limit=self.pull_limit,
                                                     progress=self.progress)
                    if await self._line_up(client, report, report.pull.device_seq):
                        report.push = await push_pending(self.store, client)
                        report.pull = await pull_changes(self.store, client, limit=self.pull_limit,
                                                         progress=self.progress)
                    report.attention = await attention_pull.pull_attention(self.store, client)
                await asyncio.to_thread(self._record_success, report)
                report.finished_at = datetime.now(UTC)
                self.online, self.message, self.failures = True, None, 0
                self.last_report = report
                return report
            except TransientError as exc:
                self.online, self.message = False, f"Offline: {exc}"
                raise
            except AuthError as exc:
                self.online = False
                self.message = f"The server refused this terminal ({exc}); enroll it again"
                raise
            except SyncError as exc:
                self.message = f"Sync failed: {exc}"
                raise
            finally:
                self._syncing = False
                self._notify()

    # ------------------------------------------------------------ background loop

    def poke(self) -> None:
        """Ask for a sync soon (after a local write). Does not cut a backoff short."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def next_delay(self, exc: BaseException | None) -> float:
        if exc is None:
            return self.interval_s
        if isinstance(exc, TransientError):
            return backoff_delay(self.failures, self.backoff_base_s, self.backoff_max_s,
                                 exc.retry_after)
        if isinstance(exc, PermanentError):  # needs a person; keep trying, slowly
            return max(self.interval_s, self.backoff_max_s)
        return backoff_delay(self.failures, self.backoff_base_s, self.backoff_max_s)

    async def loop(self) -> None:
        """Run until stop(): every ``interval_s``, on poke(), backing off on errors."""
        while not self._stopped:
            error: BaseException | None = None
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the loop alive whatever happens
                self.failures += 1
                error = exc
                if not isinstance(exc, SyncError):
                    log.exception("sync round failed")
                    self.message = f"Sync failed: {exc!r}"
                    self._notify()
            delay = self.next_delay(error)
            if self._stopped:
                break
            await self._sleep(delay, wake_on_poke=error is None)

    async def _sleep(self, delay: float, *, wake_on_poke: bool) -> None:
        """Wait ``delay``; a poke ends the wait only when we are not backing off."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while not self._stopped:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=remaining)
            except TimeoutError:
                break
            self._wake.clear()
            if wake_on_poke or self._stopped:
                break
        self._wake.clear()
