"""What every screen shares: the store, the ops helper, the signed-in person, devices.

Built once in ui/main.py and handed to each screen, so no screen reaches into
another or into global state.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.domain.permissions import Action, allowed
from app.store.local import LocalStore
from app.store.unit_of_work import Actor
from ui.config import ScannerConfig, load_scanner, save_scanner
from ui.ops import Ops

log = logging.getLogger(__name__)


def load_print_service(store: LocalStore) -> Any | None:
    """The PrintService if printing/ provides one, else None (the app runs without it)."""
    try:
        from printing.service import PrintService
    except ImportError as exc:
        log.warning("printing.service is not available (%s); receipts will not print", exc)
        return None
    try:
        return PrintService(store)
    except Exception:  # a broken printer config must not stop the till
        log.exception("Could not start the print service")
        return None


class AppContext(QObject):
    """Shared state of one running app. ``actor_changed`` carries Actor or None."""

    actor_changed = Signal(object)
    notice = Signal(str, str)  # (level: info|warning|error, text) for the notice bar
    scanner_config_changed = Signal(object)

    def __init__(self, store: LocalStore, ops: Ops, printing: Any | None = None) -> None:
        super().__init__()
        self.store = store
        self.ops = ops
        self.printing = printing
        self.actor: Actor | None = None
        self.settings = store.settings()
        self.scanner_config = load_scanner(store.data_dir)

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
        from app.domain.money import format_money

        return format_money(minor, self.currency, self.locale)

    def save_scanner_config(self, config: ScannerConfig) -> None:
        save_scanner(self.store.data_dir, config)
        self.scanner_config = config
        self.scanner_config_changed.emit(config)

    def info(self, text: str) -> None:
        self.notice.emit("info", text)

    def warn(self, text: str) -> None:
        self.notice.emit("warning", text)

    def error(self, text: str) -> None:
        self.notice.emit("error", text)
