""""Needs attention": one list of what a manager should see to, each item a button
that opens the screen where it is fixed (app/services/attention.py decides the items).

The server's items (silent tills, its journal) name Settings tabs, the owner's and
admin's; for anyone else the panel opens the same pages read-only in a dialog
(ui/screens/sync_health.py HealthDialog) instead of a screen they cannot open."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.domain.permissions import Action
from app.services import attention
from app.services.attention import Attention
from ui.context import AppContext
from ui.widgets.common import heading

#: screen keys that are Settings tabs (settings.edit); others read them in HealthDialog
SETTINGS_PAGES = ("sync_health", "journal")


def failed_print_jobs(ctx: AppContext) -> int:
    """Failed jobs in the print queue (its own file; 0 when printing is not loaded)."""
    if ctx.printing is None:
        return 0
    try:
        return len(ctx.printing.jobs("failed"))
    except Exception:  # noqa: BLE001 - a broken queue file must not hide the other items
        return 0


class AttentionPanel(QWidget):
    """``open_screen(key)`` when an item is clicked; ``count_changed(n)`` for the badge:
    how many kinds of thing need seeing to (36 low products are one thing to do)."""

    open_screen = Signal(str)
    count_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("attentionPanel")
        self.current = Attention([])
        self.health: QWidget | None = None  # the read-only dialog, once opened
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.addWidget(heading("Needs attention", "title"))
        self.empty = QLabel("Nothing needs you right now.")
        self.empty.setWordWrap(True)
        self.empty.setObjectName("attentionEmpty")
        self.box.addWidget(self.empty)
        self.buttons: dict[str, QPushButton] = {}
        self.box.addStretch(1)
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._timer.timeout.connect(self.reload)
        ctx.ops.changed.connect(lambda _c: self._soon())
        ctx.actor_changed.connect(lambda _a: self._soon())

    def _soon(self) -> None:
        """Count again shortly (a burst of changes counts once), for whoever may see it."""
        if self.ctx.can(Action.REPORT_VIEW):
            self._timer.start()

    def reload(self) -> None:
        # off the GUI thread: counting the print queue may load printing the first time
        self.ctx.ops.run(lambda: attention.needs_attention(
            self.ctx.store, failed_prints=failed_print_jobs(self.ctx)), success=self.show_items)

    def show_items(self, items: Attention) -> None:
        self.current = items
        for button in self.buttons.values():
            self.box.removeWidget(button)
            button.deleteLater()
        self.buttons.clear()
        for n, item in enumerate(items.items):
            button = QPushButton(item.text)
            button.setToolTip(item.text)
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            button.setObjectName(f"attention_{item.key}")
            button.setProperty("kind", "attention")
            button.clicked.connect(lambda _=False, key=item.screen: self.open(key))
            self.box.insertWidget(2 + n, button)
            self.buttons[item.key] = button
        self.empty.setVisible(not items.items)
        self.count_changed.emit(len(items.items))

    def open(self, key: str) -> None:
        """The screen that fixes an item; a Settings tab read-only for whoever may not
        open Settings."""
        if key in SETTINGS_PAGES and not self.ctx.can(Action.SETTINGS_EDIT):
            from ui.screens.sync_health import HealthDialog

            if self.health is None:
                self.health = HealthDialog(self.ctx, self.window())
            dialog: HealthDialog = self.health  # type: ignore[assignment]
            dialog.show_page(key)
            dialog.open()
            dialog.raise_()
            return
        self.open_screen.emit(key)
