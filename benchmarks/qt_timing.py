"""Timing what a person sees: when a widget last painted, and pumping Qt until it has.

Shared by the desktop and stock benchmarks (scan -> row visible). Imported inside the
benchmark functions, so a benchmark that needs no Qt never loads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject
from PySide6.QtWidgets import QWidget


class PaintClock(QObject):
    """The time of the latest paint of ``widget`` (an event filter; it never eats one)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.last = 0.0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.last = time.perf_counter()
        return False


def pump_until(done: Callable[[], bool], what: str, timeout_s: float = 5) -> None:
    """Process Qt events (waiting for them, not spinning) until ``done()``."""
    deadline = time.perf_counter() + timeout_s
    while not done():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} never showed")
