"""The journal page (Settings > Journal, for the owner and admins): whether this till's
audit chain still holds, checked from its first entry, in words; and what to do if not.

The check is the one ``tillsync audit verify`` runs (app/services/journal.py), and on an
enrolled till the comparison with the head the server's journal holds of it
(sync/journal.py); both run off the GUI thread each time the page is shown and on
"Check now".
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.services.journal import JournalReport, check_journal
from sync.journal import ServerComparison, compare_with_server_journal
from ui.context import AppContext
from ui.widgets.common import heading

ABOUT = ("Every change on this till is written to its journal, each entry sealed with the "
         "one before it. The check reads the journal from its first entry and says whether "
         "any entry was edited, removed, inserted or reordered since it was written. The "
         "server keeps the till's latest seal with each sync, and every receipt's QR code "
         "can be checked against the server's journal (docs/journal.md).")
BROKEN = ("The journal file was changed outside Tillsync. Keep this till as it is (do not "
          "reinstall or restore it), note the entry named above, and have the server's "
          "journal checked (tillsync-server audit verify); docs/journal.md says what to do.")


class JournalPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("journalPage")
        self.report: JournalReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(heading("This till's journal", "section"))
        self.verdict = QLabel("Checking the journal...")
        self.verdict.setObjectName("journalVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)
        self.server_line = QLabel("")
        self.server_line.setObjectName("journalServer")
        self.server_line.setWordWrap(True)
        self.server_line.hide()
        layout.addWidget(self.server_line)
        self.advice = QLabel(BROKEN)
        self.advice.setObjectName("journalAdvice")
        self.advice.setWordWrap(True)
        self.advice.hide()
        layout.addWidget(self.advice)
        row = QHBoxLayout()
        self.check_button = QPushButton("Check now")
        self.check_button.setObjectName("journalCheck")
        self.check_button.clicked.connect(self.check)
        row.addWidget(self.check_button)
        row.addStretch(1)
        layout.addLayout(row)
        about = QLabel(ABOUT)
        about.setWordWrap(True)
        about.setProperty("role", "hint")
        layout.addWidget(about)
        layout.addStretch(1)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.check()

    def check(self) -> None:
        self.check_button.setEnabled(False)
        self.ctx.ops.run(lambda: check_journal(self.ctx.store), success=self.show_report,
                         failure=self._failed)

    def _ask_server(self) -> None:
        """Enrolled: what the server's journal holds of this till, off the GUI thread."""
        if not self.ctx.store.device().server_url:
            self.server_line.hide()
            return
        self.ctx.ops.run(lambda: asyncio.run(compare_with_server_journal(self.ctx.store)),
                         success=self.show_server, failure=self._server_failed, lane="device")

    def show_server(self, against: ServerComparison) -> None:
        self.server_line.setText(against.summary())
        self.server_line.setStyleSheet("" if against.problem is None
                                       else "color: #b3261e; font-weight: 600;")
        self.server_line.show()
        self.advice.setVisible(self.advice.isVisible() or against.problem is not None)

    def _server_failed(self, exc: BaseException) -> bool:
        self.server_line.setText(f"The server could not be asked now ({exc}); the check "
                                 "above is this till's own.")
        self.server_line.setStyleSheet("")
        self.server_line.show()
        return True  # shown here; not an error of the till

    def _failed(self, _exc: BaseException) -> bool:
        self.check_button.setEnabled(True)
        return False  # the usual error routing shows it

    def show_report(self, report: JournalReport) -> None:
        self.report = report
        self.check_button.setEnabled(True)
        self.verdict.setText(report.summary())
        self.verdict.setProperty("state", "ok" if report.ok else "error")
        self.verdict.setStyleSheet("" if report.ok else "color: #b3261e; font-weight: 600;")
        self.advice.setVisible(not report.ok)
        self._ask_server()
