"""The print queue: every job, its printer, status and error; retry or cancel one.

A job that did not print is never lost (printing/queue.py keeps it); this is where
someone sees it and decides: retry (on its printer, or on the default one if its
printer was removed) or cancel it. Reads and sends run off the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import messages
from ui.context import AppContext
from ui.receipts import process_queue
from ui.widgets.common import EmptyState, action_button, heading

STATUS_WORDS = {"pending": "waiting", "printing": "printing", "done": "printed", "failed": "failed"}
COLUMNS = ("When", "Job", "Printer", "Status", "Problem")


class PrintQueueScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("printQueueScreen")
        self.jobs: list[Any] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        top = QHBoxLayout()
        top.addWidget(heading("Print queue"), 1)
        self.retry_button = action_button("Retry", "F5")
        self.retry_button.setObjectName("printRetry")
        self.cancel_button = action_button("Cancel job", "Del")
        self.cancel_button.setObjectName("printCancel")
        for button, slot in ((self.retry_button, self.retry), (self.cancel_button, self.cancel)):
            button.setMinimumWidth(140)
            button.clicked.connect(slot)
            top.addWidget(button)
        layout.addLayout(top)
        self.stack = QStackedWidget()
        self.empty = EmptyState("printer", "Nothing in the print queue", "Receipts and labels appear here")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("printJobs")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, context=context).activated.connect(self.retry)
        QShortcut(QKeySequence("Del"), self, context=context).activated.connect(self.cancel)
        ctx.print_jobs_changed.connect(self._changed)
        self._selection_changed()

    # -- reading ---------------------------------------------------------------------
    def reload(self) -> None:
        service = self.ctx.printing
        if service is None:
            self.empty.title.setText(messages.PRINTING_UNAVAILABLE)
            return
        self.ctx.ops.run(lambda: service.jobs(limit=200), lane="device", success=self._show)

    def _changed(self) -> None:
        if self.isVisible():
            self.reload()

    def _show(self, jobs: list[Any]) -> None:
        keep = self.selected_job()
        self.jobs = list(jobs)
        self.table.setRowCount(len(self.jobs))
        for r, job in enumerate(self.jobs):
            when = job.created_at.astimezone().strftime("%d %b %H:%M:%S")
            cells = (when, messages.print_job_name(job.kind, job.reference).removeprefix("The "),
                     job.printer or "(none)", STATUS_WORDS.get(job.status, job.status), job.last_error or "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 3 and job.status == "failed":
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, c, item)
            if keep is not None and job.id == keep.id:
                self.table.selectRow(r)
        if self.jobs and self.selected_job() is None:
            # the newest job picked, as the other lists do: Retry and Cancel were grey with
            # nothing saying why until a row was clicked (issue 21, looked at)
            self.table.selectRow(0)
        self.table.resizeRowsToContents()
        self.stack.setCurrentWidget(self.table if self.jobs else self.empty)
        self._selection_changed()

    def row_text(self, row: int) -> str:
        """Everything row ``row`` shows, as one line (tests, and the screen reader's view)."""
        return "  ".join(self.table.item(row, c).text() for c in range(self.table.columnCount())
                         if self.table.item(row, c) is not None)

    def selected_job(self) -> Any | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.jobs):
            return None
        return self.jobs[rows[0].row()]

    def _selection_changed(self) -> None:
        job = self.selected_job()
        self.retry_button.setEnabled(job is not None and job.status == "failed")
        self.cancel_button.setEnabled(job is not None and job.status in ("failed", "pending"))

    # -- acting -------------------------------------------------------------------------
    def retry(self) -> None:
        job, service = self.selected_job(), self.ctx.printing
        if job is None or service is None or job.status != "failed":
            return
        self.ctx.ops.run(lambda: service.retry(job.id), lane="device",
                         success=lambda _r: process_queue(self.ctx, job_id=job.id),
                         failure=self._failed)

    def cancel(self) -> None:
        job, service = self.selected_job(), self.ctx.printing
        if job is None or service is None or job.status not in ("failed", "pending"):
            return
        name = messages.print_job_name(job.kind, job.reference)

        def cancelled(_view: Any) -> None:
            self.ctx.info(f"{name} was cancelled; it will not print")
            self.ctx.print_jobs_changed.emit()

        self.ctx.ops.run(lambda: service.cancel(job.id), lane="device", success=cancelled,
                         failure=self._failed)

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, LookupError):
            self.ctx.error(str(exc))
            self.reload()
            return True
        return False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()
