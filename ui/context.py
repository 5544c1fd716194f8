"""What every screen shares: the store, the ops helper, the signed-in person, devices.

Built once in ui/main.py and handed to each screen, so no screen reaches into
another or into global state.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.domain.permissions import Action, allowed
from app.store.local import LocalStore
from app.store.unit_of_work import Actor
from ui.config import ScannerConfig, load_scanner, save_scanner
from ui.ops import Ops

log = logging.getLogger(__name__)


class LazyPrintService:
    """printing.service.PrintService, imported and built on first use.

    Why: escpos parses a large YAML file and reportlab is big (~0.6 s together),
    which would hold up the sign-in screen. Desktop warms it on a worker thread
    right after the window shows, so the first receipt does not wait either.

    Two locks: ``_load_lock`` is held for the whole import (a second caller waits for
    the service), ``_hooks_lock`` only for a moment, so registering a hook from the GUI
    thread never waits for a load in progress on a worker (it did: 0.3 s, more on a
    loaded machine, with the window not yet shown; issue 17).
    """

    def __init__(self, store: LocalStore) -> None:
        self._store = store
        self._service: Any | None = None
        self._load_lock = threading.Lock()
        self._hooks_lock = threading.Lock()
        self._hooks_ran = False
        self._before_start: list[Callable[[], None]] = []

    @property
    def loaded(self) -> bool:
        return self._service is not None

    def before_start(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` just before the service is built (at once if it already is), so
        a listener (the window's slip relay) is in place before the first job can print,
        whichever caller loads the service first."""
        with self._hooks_lock:
            if not self._hooks_ran:
                self._before_start.append(hook)
                return
        hook()

    def load(self) -> Any:
        if self._service is not None:
            return self._service
        with self._load_lock:
            if self._service is None:
                with self._hooks_lock:
                    hooks, self._before_start, self._hooks_ran = self._before_start, [], True
                for hook in hooks:
                    hook()
                from printing.service import PrintService

                self._service = PrintService(self._store)
            return self._service

    def __getattr__(self, name: str) -> Any:
        return getattr(self.load(), name)


def load_print_service(store: LocalStore) -> Any | None:
    """A (lazily built) PrintService if printing/ is present, else None (the app runs without it)."""
    if importlib.util.find_spec("printing") is None or importlib.util.find_spec("printing.service") is None:
        log.warning("printing.service is not available; receipts will not print")
        return None
    return LazyPrintService(store)


@functools.lru_cache(maxsize=4096)
def _money(minor: int, currency: str, locale: str) -> str:
    from app.domain.money import format_money

    return format_money(minor, currency, locale)


class AppContext(QObject):
    """Shared state of one running app. ``actor_changed`` carries Actor or None."""

    actor_changed = Signal(object)
    notice = Signal(str, str)  # (level: info|warning|error, text) for the notice bar
    scanner_config_changed = Signal(object)
    order_requested = Signal(str)  # an order id: the window shows its full detail
    print_jobs_changed = Signal()  # a job was queued, printed, failed, retried or cancelled

    def __init__(self, store: LocalStore, ops: Ops, printing: Any | None = None) -> None:
        super().__init__()
        self.store = store
        self.ops = ops
        ops.data_dir = store.data_dir  # a "disk I/O error" there with no room left is a full disk
        self.printing = printing
        self.actor: Actor | None = None
        self.settings = store.settings()
        self.scanner_config = load_scanner(store.data_dir)
        #: ui/sync_runner.BackgroundSync once sync runs (set by ui/main.py): whether the
        #: server is reachable, and a client for screens that call it (ui/screens/rejected_ops.py)
        self.sync: Any | None = None

    @property
    def currency(self) -> str:
        return self.settings.currency

    @property
    def locale(self) -> str:
        return self.settings.locale

    def can(self, action: Action) -> bool:
        """A courtesy for showing controls; the services enforce permissions."""
        return self.actor is not None and allowed(self.actor.role, action)

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        self.actor_changed.emit(actor)

    def money(self, minor: int) -> str:
        """``minor`` in the store's currency and locale (remembered: Babel takes ~0.1 ms
        an amount, and the cart's columns ask for the same few amounts on every paint)."""
        return _money(minor, self.currency, self.locale)

    def save_scanner_config(self, config: ScannerConfig) -> None:
        save_scanner(self.store.data_dir, config)
        self.scanner_config = config
        self.scanner_config_changed.emit(config)

    def show_order(self, order_id: str) -> None:
        """Open the full order detail (any screen may ask; the window shows it)."""
        self.order_requested.emit(order_id)

    def info(self, text: str) -> None:
        self.notice.emit("info", text)

    def warn(self, text: str) -> None:
        self.notice.emit("warning", text)

    def error(self, text: str) -> None:
        self.notice.emit("error", text)
