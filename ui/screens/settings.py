"""Settings: one tab per page, each page its own module (Picard's ui/options)."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ui.context import AppContext
from ui.screens.journal import JournalPage
from ui.screens.settings_printers import PrintersPage
from ui.screens.settings_scanners import ScannersPage
from ui.screens.sync_health import SyncHealthPage
from ui.widgets.common import heading


class SettingsScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("settingsScreen")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Settings", "title"))
        self.tabs = QTabWidget()
        self.printers = PrintersPage(ctx)
        self.scanners = ScannersPage(ctx)
        self.tabs.addTab(self.printers, "Printers")
        self.tabs.addTab(self.scanners, "Scanners")
        self.journal = JournalPage(ctx)  # owner and admin: Settings is theirs
        self.tabs.addTab(self.journal, "Journal")
        self.sync_health = SyncHealthPage(ctx)  # what the server sees (issues 15, 18)
        self.tabs.addTab(self.sync_health, "Sync health")
        layout.addWidget(self.tabs, 1)

    def show_page(self, key: str) -> None:
        """A tab by the screen key an attention item names ("journal", "sync_health")."""
        page = {"journal": self.journal, "sync_health": self.sync_health}.get(key)
        if page is not None:
            self.tabs.setCurrentWidget(page)

    def show_scan(self, code: str) -> None:
        """A scan while on settings is shown on the scanner page (to test a scanner)."""
        self.tabs.setCurrentWidget(self.scanners)
        self.scanners.show_scan(code)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.printers.reload()
