"""Sync health (Settings > Sync health): what the server last said about this store's
tills and its journal, and how fresh that is. The sync service fetches it every few
minutes while online (sync/attention_pull.py); this page reads what the till keeps
(app/services/server_attention.py), so it shows the last answer offline too.

Settings is the owner's and admin's. A manager (``report.view``) reads the same two
pages, read-only, in :class:`HealthDialog`, opened by the "needs attention" items that
name them: the server answers a manager's ``GET /attention`` for their stores with the
same silent tills and journal state, and the till's journal check only reads.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import server_attention
from app.services.server_attention import ServerAttention
from ui.context import AppContext
from ui.widgets.common import heading

NO_ANSWER = ("The server has not been asked yet: it is asked every few minutes while "
             "this till is online and enrolled.")
SILENT_ADVICE = ("A till the server has not heard from may be switched off, offline, or "
                 "stuck: check it is on and online; its sales wait safely on it until it "
                 "syncs. A till that is gone for good is revoked in the back office.")
JOURNAL_WORDS = {
    "ok": "The server's journal check holds.",
    "failing": "The server's journal check FAILED: {problem}. Keep the server's database "
               "as it is and see docs/journal.md for what to do.",
    "stale": "The server's journal has not been checked since {checked}: its scheduled "
             "check may have stopped.",
    "never_checked": "The server's journal has not been checked yet.",
}


def _local(when: datetime | None) -> str:
    return "never" if when is None else when.astimezone().strftime("%Y-%m-%d %H:%M")


class SyncHealthPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("syncHealthPage")
        self.answer: ServerAttention | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(heading("What the server sees", "section"))
        self.as_of = QLabel(NO_ANSWER)
        self.as_of.setObjectName("syncHealthAsOf")
        self.as_of.setWordWrap(True)
        layout.addWidget(self.as_of)
        layout.addWidget(heading("Tills not heard from", "subtle"))
        self.silent = QListWidget()
        self.silent.setObjectName("syncHealthSilent")
        layout.addWidget(self.silent, 1)
        self.silent_advice = QLabel(SILENT_ADVICE)
        self.silent_advice.setWordWrap(True)
        self.silent_advice.setProperty("role", "hint")
        layout.addWidget(self.silent_advice)
        self.journal = QLabel("")
        self.journal.setObjectName("syncHealthJournal")
        self.journal.setWordWrap(True)
        self.journal.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.journal)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setObjectName("syncHealthReload")
        self.reload_button.clicked.connect(self.reload)
        layout.addWidget(self.reload_button, 0, Qt.AlignmentFlag.AlignLeft)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()

    def reload(self) -> None:
        self.ctx.ops.run(lambda: server_attention.read(self.ctx.store), success=self.show_answer)

    def show_answer(self, answer: ServerAttention | None) -> None:
        self.answer = answer
        self.silent.clear()
        if answer is None:
            self.as_of.setText(NO_ANSWER)
            self.journal.setText("")
            return
        now = datetime.now(UTC)
        self.as_of.setText(f"The server's answer, {server_attention.as_of_words(answer.fetched_at, now)}.")
        for till in answer.silent:
            self.silent.addItem(f"{till.name}: last heard from {_local(till.last_seen_at)}")
        if not answer.silent:
            self.silent.addItem("Every till has been heard from.")
        words = JOURNAL_WORDS.get(answer.journal_state or "never_checked",
                                  JOURNAL_WORDS["never_checked"])
        self.journal.setText(words.format(problem=answer.journal_problem or "no detail",
                                          checked=_local(answer.journal_checked_at)))
        failing = answer.journal_state in ("failing", "stale")
        self.journal.setStyleSheet("color: #b3261e; font-weight: 600;" if failing else "")


class HealthDialog(QDialog):
    """Sync health and the journal check for someone who may not open Settings (a
    manager): the same pages, read-only; ``show_page`` picks the tab an item names."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        from ui.screens.journal import JournalPage

        super().__init__(parent)
        self.setObjectName("healthDialog")
        self.setWindowTitle("Sync health and journal")
        self.resize(720, 520)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.sync_health = SyncHealthPage(ctx)
        self.journal = JournalPage(ctx)
        self.tabs.addTab(self.sync_health, "Sync health")
        self.tabs.addTab(self.journal, "Journal")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def show_page(self, key: str) -> None:
        """"sync_health" or "journal", as the attention item names it."""
        self.tabs.setCurrentWidget(self.journal if key == "journal" else self.sync_health)
