"""Run service calls off the GUI thread, route their errors, broadcast what changed.

One helper for all background work (Anki's CollectionOp): database work runs on
one worker thread, in order; printers and other devices on another, so a stuck
printer never delays a sale. Results come back to the GUI thread through a
queued signal. Errors are routed Electrum-style: a user-facing exception is shown
as its text; anything else is logged and shown as an error dialog.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot

from app.services.changes import Changes
from app.store.database import StoreUnusable
from app.store.disk import DiskFull, disk_full

log = logging.getLogger(__name__)

@functools.cache
def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is written for the person at the till. Imported at the
    first error, not with this module: the sign-in screen's start needs none of the
    sale, shift, approval, catalogue or stock services they live in (issue 17)."""
    from app.domain.barcode import BarcodeError
    from app.domain.money import MoneyError
    from app.domain.order_status import StatusError
    from app.domain.permissions import PermissionDenied
    from app.domain.schedule import ScheduleError
    from app.domain.tender import TenderError
    from app.domain.totals import DiscountError
    from app.services.approvals import ApprovalError
    from app.services.catalog import ProductNotForSale, UnknownBarcode
    from app.services.catalog_edit import CatalogError
    from app.services.inventory import StockError
    from app.services.order_edits import EditError
    from app.services.sales import SaleError
    from app.services.shifts import ShiftError
    from app.services.staff import SignInError
    from app.store.keys import KeyUnavailable
    from sync.conflicts import ConflictError

    return (
        SignInError, SaleError, BarcodeError, UnknownBarcode, ProductNotForSale, PermissionDenied,
        TenderError, DiscountError, MoneyError, LookupError, ApprovalError, EditError,
        ScheduleError, StockError, CatalogError, StatusError, ConflictError, StoreUnusable,
        KeyUnavailable, DiskFull, ShiftError,
    )


#: Printing's errors are written for people too; printing loads after start-up
#: (escpos takes ~0.5 s to import), so they are looked up only once it is loaded.
PRINTING_ERRORS = ("PrinterConfigError", "PrinterError")

Success = Callable[[Any], None]
Failure = Callable[[BaseException], bool | None]


def is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, user_errors()):
        return True
    printing = sys.modules.get("printing.connections")
    return printing is not None and any(
        isinstance(exc, getattr(printing, name, ())) for name in PRINTING_ERRORS)


class _Relay(QObject):
    """Lives on the GUI thread; the worker's signals land here queued."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, ops: Ops, success: Success | None, failure: Failure | None,
                 changes: Changes | None) -> None:
        super().__init__()
        self._ops, self._success, self._failure, self._changes = ops, success, failure, changes
        self.done.connect(self._on_done)
        self.failed.connect(self._on_failed)

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        try:
            if self._changes is not None:
                self._ops.changed.emit(self._changes)
            if self._success is not None:
                self._success(result)
        finally:
            self._ops._finish(self)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        try:
            handled = self._failure(exc) if self._failure is not None else None
            if not handled:
                self._ops.report(exc)
        finally:
            self._ops._finish(self)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn, self._relay = fn, relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - routed to the GUI thread
            self._relay.failed.emit(exc)
        else:
            self._relay.done.emit(result)


class Ops(QObject):
    """The one way screens run service calls. ``changed`` carries a Changes."""

    changed = Signal(object)
    user_error = Signal(str)  # a message for the notice bar
    crashed = Signal(str)  # an unexpected error, already logged
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # "net": calls a screen makes to the server, so a slow answer never holds the database
        self._lanes = {"db": QThreadPool(self), "device": QThreadPool(self), "net": QThreadPool(self)}
        for pool in self._lanes.values():
            pool.setMaxThreadCount(1)  # one queue per resource, jobs run in order
        self._running: set[_Relay] = set()
        self.data_dir: Path | None = None  # the store's folder: where a full disk is looked for

    def run(self, fn: Callable[[], Any], *, success: Success | None = None,
            failure: Failure | None = None, changes: Changes | None = None,
            lane: str = "db") -> None:
        """Run ``fn`` on ``lane``; call ``success(result)`` on the GUI thread.

        ``failure(exc)`` may return True to say it showed the error itself.
        """
        relay = _Relay(self, success, failure, changes)
        self._running.add(relay)
        if len(self._running) == 1:
            self.busy_changed.emit(True)
        self._lanes[lane].start(_Job(fn, relay))

    def broadcast(self, changes: Changes) -> None:
        self.changed.emit(changes)

    def report(self, exc: BaseException) -> None:
        """Default error routing: user-facing text, or log and a crash notice. A full disk
        (SQLite's "database or disk is full", ENOSPC from the print queue or any file)
        is said in words wherever it was raised, never "Something went wrong"."""
        full = disk_full(exc, self.data_dir)
        if full is not None:
            log.warning("disk full: %s", exc)
            self.user_error.emit(str(full))
        elif is_user_error(exc):
            self.user_error.emit(str(exc))
        else:
            log.error("Background operation failed", exc_info=exc)
            self.crashed.emit(f"{type(exc).__name__}: {exc}")

    def _finish(self, relay: _Relay) -> None:
        self._running.discard(relay)
        if not self._running:
            self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def wait_idle(self, timeout_ms: int = 10_000) -> None:
        """Block until every queued job finished and its result was delivered (tests, shutdown)."""
        for _ in range(50):
            for pool in self._lanes.values():
                pool.waitForDone(timeout_ms)
            QCoreApplication.processEvents()
            if not self._running:
                return
