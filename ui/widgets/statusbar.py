"""The status bar: online/offline, operations waiting, last sync, conflicts, a disk nearly
full, who is signed in.

With background sync running (ui/sync_runner.py) it shows the sync service's own
status: online/offline as the last attempt found it, a clock-skew warning, and a
progress bar while a snapshot or first sync loads. Without it (not enrolled) it
reads sync.status.read_status, a cheap local read. Reads run through ctx.ops after
every change that touches the outbox or conflicts, and on a timer.

The printer button names the default printer and how many jobs failed; it opens
the print queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar
from shiboken6 import isValid

from app.domain.words import count_of
from app.services.changes import Changes
from sync.status import SyncStatus, read_status
from ui.context import AppContext
from ui.widgets.common import icon

REFRESH_MS = 15_000
PERSON_WIDTH = 150
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum"


def _ago(when: datetime | None) -> str:
    """Today's syncs by time only: the bar must fit a 1024-pixel till."""
    if when is None:
        return "never"
    local = when.astimezone()
    return local.strftime("%H:%M:%S" if local.date() == datetime.now().astimezone().date() else "%d %b %H:%M")


#: the online label's short words, for a narrow bar (fit())
SHORT_ONLINE = {"● Offline · reconnecting…": "● Reconnecting…", "● Offline (not enrolled)": "● Not enrolled"}


def _restyle(label: QLabel, state: str) -> None:
    label.setProperty("state", state)
    label.style().unpolish(label)
    label.style().polish(label)


class SyncStatusBar(QStatusBar):
    """Emits ``sign_out`` and ``switch_user`` when their buttons are pressed."""

    sign_out = Signal()
    switch_user = Signal()
    open_print_queue = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("syncStatusBar")
        self.setSizeGripEnabled(False)
        # Tighter than the app's 14 px: everything fits on a 1024-pixel screen.
        self.setStyleSheet("QLabel { padding: 0 4px; font-size: 13px; } "
                           "QPushButton { padding: 2px 6px; font-size: 13px; min-width: 0; }")
        self.source: Callable[[], SyncStatus] | None = None
        self._words: dict[QLabel, tuple[str, str]] = {}  # full and short text (fit())
        self._online_tip = ""
        self.last_status: SyncStatus | None = None
        self.online = QLabel()
        self.online.setObjectName("syncOnline")
        self.waiting = QLabel()
        self.waiting.setObjectName("syncWaiting")
        self.last_sync = QLabel()
        self.conflicts = QLabel()
        self.conflicts.setObjectName("syncConflicts")
        self.clock = QLabel()
        self.clock.setObjectName("syncClock")
        self.clock.hide()
        self.disk = QLabel()  # the disk nearly full: a warning, never a block
        self.disk.setObjectName("diskWarning")
        self.disk.hide()
        self.mode = QLabel()
        self.mode.setObjectName("syncMode")
        self.mode.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.printer = QPushButton("Printer: …")
        self.printer.setObjectName("printerStatus")
        self.printer.setProperty("kind", "flat")
        self.printer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.printer.setToolTip("Open the print queue")
        self.printer.setIcon(icon("printer"))
        self.printer.clicked.connect(self.open_print_queue)
        self.person = QLabel()
        self.person.setObjectName("signedInPerson")
        # a long name is shortened with "…" (fit()), never pushes the buttons off
        for w in (self.online, self.waiting, self.last_sync, self.conflicts, self.clock, self.disk,
                  self.mode):
            w.setProperty("role", "statusItem")
            # Long words never make the bar (and so the window) wider: fit() picks words that fit.
            w.setMinimumWidth(1)
            self.addWidget(w)
        self.addWidget(self.progress)
        self.switch_button = QPushButton("Switch user")
        self.signout_button = QPushButton("Sign out")
        for b in (self.switch_button, self.signout_button):
            b.setProperty("kind", "flat")
            b.setMinimumWidth(b.sizeHint().width())  # squeezed last, never cut
        self.switch_button.clicked.connect(self.switch_user)
        self.signout_button.clicked.connect(self.sign_out)
        self.addPermanentWidget(self.printer)
        self.addPermanentWidget(self.person)
        self.addPermanentWidget(self.switch_button)
        self.addPermanentWidget(self.signout_button)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        ctx.ops.changed.connect(self._on_changes)
        ctx.actor_changed.connect(self._on_actor)
        ctx.print_jobs_changed.connect(self.refresh_printer)
        self._on_actor(None)

    # -- sources ------------------------------------------------------------------
    def attach(self, sync) -> None:  # sync: ui.sync_runner.BackgroundSync
        """Show a running BackgroundSync's status and progress from now on."""
        self.source = sync.status
        sync.status_changed.connect(self.show_status)
        sync.progress.connect(self.show_progress)
        sync.progress_done.connect(self.hide_progress)
        self.refresh()

    def set_mode(self, text: str | None, level: str = "offline") -> None:
        """A standing note, e.g. that the demo runs standalone because its server did not start."""
        self.mode.setText(text or "")
        self.mode.setVisible(bool(text))
        _restyle(self.mode, level if text else "")
        self.fit()

    def _on_changes(self, changes: Changes) -> None:
        if changes.outbox or changes.conflicts or changes.orders:
            self.refresh()

    def _on_actor(self, actor) -> None:
        if actor:  # the role goes first when the bar is narrow (fit())
            self._say(self.person, f"{actor.name} ({actor.role.value})", actor.name)
        else:
            self._say(self.person, "Not signed in", "Not signed in")
        self.person.setToolTip(f"Signed in: {actor.name} ({actor.role.value})" if actor else "")
        self.switch_button.setVisible(actor is not None)
        self.signout_button.setVisible(actor is not None)
        self.fit()

    def refresh(self) -> None:
        read = self.source or (lambda: read_status(self.ctx.store))
        self.ctx.ops.run(read, success=self.show_status)
        self.refresh_printer()

    def refresh_printer(self) -> None:
        service = self.ctx.printing
        if service is None:
            self.show_printer(None, 0)
            return

        def read() -> tuple[str | None, int]:
            default = next((p for p in service.printers() if p.default), None)
            return (default.name if default else None), len(service.jobs("failed", limit=1000))

        self.ctx.ops.run(read, lane="device", success=lambda r: self.show_printer(*r))

    def show_printer(self, name: str | None, failed: int) -> None:
        if not isValid(self.printer):  # the answer came after the window closed
            return
        text = f"{failed} failed" if failed else (name or "No printer")  # short: the bar fits 1024 px
        self.printer.setToolTip(f"{name or 'No printer set up'}: {failed} failed job(s). Open the print queue")
        self.printer.setText(text)
        self.printer.setProperty("state", "alert" if failed or not name else "")
        self.printer.style().unpolish(self.printer)
        self.printer.style().polish(self.printer)
        self.fit()

    # -- showing ------------------------------------------------------------------
    def show_progress(self, done: int, total: int, text: str | None = None) -> None:
        """``total`` 0 shows a busy bar (size not known yet)."""
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total else 0)
        self.progress.setFormat(text or ("Loading from the server… %v / %m" if total
                                         else "Syncing…"))
        self.progress.show()

    def hide_progress(self) -> None:
        self.progress.hide()

    def show_status(self, status: SyncStatus) -> None:
        self.last_status = status
        if status.syncing and status.online:
            text, state = "● Syncing…", "online"
        elif status.syncing and status.enrolled:  # offline, trying again: say offline, not "Syncing…"
            text, state = "● Offline · reconnecting…", "offline"
        elif status.online:
            text, state = "● Online", "online"
        elif status.enrolled:
            text, state = "● Offline", "offline"
        else:
            text, state = "● Offline (not enrolled)", "offline"
        self._say(self.online, text, SHORT_ONLINE.get(text, text))
        _restyle(self.online, state)
        self._online_tip = status.describe()
        self.online.setToolTip(self._online_tip)
        rejected = f", {status.rejected} rejected" if status.rejected else ""
        self._say(self.waiting, f"{status.waiting} waiting to sync{rejected}",
                  f"{status.waiting} waiting{rejected}")
        when = _ago(status.last_sync)
        self._say(self.last_sync, f"Last sync: {when}", f"Synced {when[:-3] if when.count(':') == 2 else when}")
        self.last_sync.setToolTip(f"Last sync: {when}")
        self.conflicts.setText(count_of(status.conflicts, "conflict"))
        _restyle(self.conflicts, "alert" if status.conflicts else "")
        warning = status.clock_warning
        self._say(self.clock, f"⚠ {warning}" if warning else "", "⚠ Check the clock" if warning else "")
        self.clock.setToolTip(warning or "")
        self.clock.setVisible(bool(warning))
        _restyle(self.clock, "alert" if warning else "")
        disk = status.disk_warning
        # The bar shows the head ("... nearly full: 312 MB free (2 %)"); the tooltip all of it.
        self._say(self.disk, f"⚠ {disk.split(' at ')[0]}" if disk else "", "⚠ Disk nearly full" if disk else "")
        self.disk.setToolTip(disk or "")
        self.disk.setVisible(bool(disk))
        _restyle(self.disk, "alert" if disk else "")
        self.fit()

    # -- fitting --------------------------------------------------------------------
    def _say(self, label: QLabel, full: str, short: str) -> None:
        """Show ``full``; ``short`` is what fit() puts there when the bar is narrow."""
        self._words[label] = (full, short)
        label.setText(full)

    def fit(self) -> None:
        """Make the left-hand items fit beside the buttons: first the signed-in person's
        name without the role, then the short words, then the last sync time goes into the
        online label's tooltip; only then is a long name shortened, with "…" (the whole
        name is in its tooltip). A status bar whose items want more than its width lays
        them over one another ("Last sync" over "0 conflicts" at 1024 px); this never lets
        them want more, and never cuts a name mid-letter."""
        for label, (full, _short) in self._words.items():
            label.setText(full)
        self.last_sync.setVisible(True)
        self.online.setToolTip(self._online_tip)
        self.person.setMaximumWidth(QWIDGETSIZE_MAX)
        for step in ("role", "short", "hide", "name", "person"):
            if self._needed() <= self.width():
                break
            if step == "role":
                self.person.setText(self._words[self.person][1])
            elif step == "short":
                for label, (_full, short) in self._words.items():
                    label.setText(short)
            elif step == "hide":
                self.last_sync.setVisible(False)
                self.online.setToolTip(f"{self._online_tip}\n{self.last_sync.toolTip()}".strip())
            else:  # the name is in its tooltip too
                self._elide_person(PERSON_WIDTH if step == "name" else PERSON_WIDTH * 2 // 3)

    def _elide_person(self, width: int) -> None:
        """The name shortened with "…" to fit ``width`` pixels, never cut mid-letter."""
        margins = self.person.contentsMargins()
        room = width - margins.left() - margins.right() - 8  # the style sheet's 4 px padding each side
        text = self._words[self.person][1]
        self.person.setText(self.person.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room))
        self.person.setMaximumWidth(width)

    def _needed(self) -> int:
        """The width every visible item asks for, with the bar's gaps between them."""
        gap = 6
        items = [w for w in (self.online, self.waiting, self.last_sync, self.conflicts, self.clock, self.disk,
                             self.mode, self.progress, self.printer, self.person, self.switch_button,
                             self.signout_button) if not w.isHidden()]
        return sum(w.sizeHint().width() if w is not self.person else min(w.sizeHint().width(),
                                                                            w.maximumWidth())
                   for w in items) + gap * (len(items) + 2)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self.fit()
