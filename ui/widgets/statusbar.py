"""The status bar: online/offline, operations waiting, last sync, conflicts, who is signed in.

It reads sync.status.read_status (a cheap local read) after every change that
touches the outbox or conflicts, and on a timer, always through ctx.ops.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar

from app.services.changes import Changes
from sync.status import SyncStatus, read_status
from ui.context import AppContext

REFRESH_MS = 15_000


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    return when.astimezone().strftime("%d %b %H:%M")


class SyncStatusBar(QStatusBar):
    """Emits ``sign_out`` and ``switch_user`` when their buttons are pressed."""

    sign_out = Signal()
    switch_user = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("syncStatusBar")
        self.setSizeGripEnabled(False)
        self.online = QLabel()
        self.waiting = QLabel()
        self.last_sync = QLabel()
        self.conflicts = QLabel()
        self.person = QLabel()
        self.person.setObjectName("signedInPerson")
        for w in (self.online, self.waiting, self.last_sync, self.conflicts):
            w.setProperty("role", "statusItem")
            self.addWidget(w)
        self.switch_button = QPushButton("Switch user")
        self.signout_button = QPushButton("Sign out")
        for b in (self.switch_button, self.signout_button):
            b.setProperty("kind", "flat")
        self.switch_button.clicked.connect(self.switch_user)
        self.signout_button.clicked.connect(self.sign_out)
        self.addPermanentWidget(self.person)
        self.addPermanentWidget(self.switch_button)
        self.addPermanentWidget(self.signout_button)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        ctx.ops.changed.connect(self._on_changes)
        ctx.actor_changed.connect(self._on_actor)
        self._on_actor(None)

    def _on_changes(self, changes: Changes) -> None:
        if changes.outbox or changes.conflicts or changes.orders:
            self.refresh()

    def _on_actor(self, actor) -> None:
        self.person.setText(f"Signed in: {actor.name} ({actor.role.value})" if actor else "Not signed in")
        self.switch_button.setVisible(actor is not None)
        self.signout_button.setVisible(actor is not None)

    def refresh(self) -> None:
        self.ctx.ops.run(lambda: read_status(self.ctx.store), success=self.show_status)

    def show_status(self, status: SyncStatus) -> None:
        state = "online" if status.online else "offline"
        self.online.setText("● Online" if status.online else "● Offline")
        self.online.setProperty("state", state)
        self.online.style().unpolish(self.online)
        self.online.style().polish(self.online)
        self.online.setToolTip(status.message or ("Not enrolled with a server" if not status.enrolled else ""))
        self.waiting.setText(f"{status.waiting} waiting to sync")
        self.last_sync.setText(f"Last sync: {_ago(status.last_sync)}")
        self.conflicts.setText(f"{status.conflicts} conflicts")
        self.conflicts.setProperty("state", "alert" if status.conflicts else "")
        self.conflicts.style().unpolish(self.conflicts)
        self.conflicts.style().polish(self.conflicts)
