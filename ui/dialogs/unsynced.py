"""Unsynced data is never forgotten: signing out, switching user and closing a shift say
how many operations wait to sync and how old the oldest is, and let the person go on.

Nothing is lost by going on (the outbox keeps every operation until the server has it);
the question makes sure nobody walks away from a till that has been offline for days
without knowing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtWidgets import QMessageBox, QWidget

from app.services.shift_reports import WaitingOperations, waiting_operations
from app.store.local import LocalStore


def age_words(oldest: datetime | None, now: datetime | None = None) -> str:
    """'4 minutes', '3 hours', '2 days': how long the oldest operation has waited."""
    if oldest is None:
        return "a moment"
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - (oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)))
                         .total_seconds()))
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def waiting_words(waiting: WaitingOperations) -> str:
    """'3 operations wait to sync; the oldest is 2 hours old.' ('' when none wait)."""
    if not waiting.count:
        return ""
    many = "operations wait" if waiting.count != 1 else "operation waits"
    return (f"{waiting.count} {many} to sync; the oldest is {age_words(waiting.oldest_at)} old. "
            "They stay on this till until the server has them.")


def confirm_unsynced(store: LocalStore, host: QWidget, doing: str,
                     go_on: Callable[[], None]) -> None:
    """Run ``go_on`` at once when nothing waits; otherwise say what waits and ask first.

    ``doing`` is what the person is about to do ("Sign out", "Switch user")."""
    text = waiting_words(waiting_operations(store))
    if not text:
        go_on()
        return
    box = QMessageBox(QMessageBox.Icon.Warning, doing, f"{text}\n\n{doing} anyway?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, host)
    box.setObjectName("unsyncedBox")
    box.accepted.connect(go_on)
    host.unsynced_box = box  # type: ignore[attr-defined]  # kept alive while open
    box.open()
