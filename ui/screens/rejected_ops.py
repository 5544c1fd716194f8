"""Operations the server refused: what each was in shop words, why, and what can be done.

A refused operation is never retried on its own (docs/sync-protocol.md); the server
keeps it in its quarantine, where someone with sync.admin resubmits it (fixed, or as a
manager) or dismisses it with a reason: today through the REST back office
(POST /sync/quarantine/{id}/resubmit, /dismiss), which this screen names.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import attention
from app.services.attention import RejectedOperation
from app.services.changes import Changes
from ui.context import AppContext
from ui.widgets.common import heading

WHAT_NOW = ("The server keeps each refused operation in its quarantine. Someone allowed to "
            "administer sync can resubmit it (fixed if need be, or as a manager) or dismiss "
            "it from the back office: POST /sync/quarantine/{id}/resubmit or /dismiss. "
            "Nothing here is sent again by itself, and later sales keep syncing.")


class RejectedOpsScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("rejectedOpsScreen")
        self.rows: list[RejectedOperation] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Refused by the server", "title"))
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("rejectedTable")
        self.table.setHorizontalHeaderLabels(["What", "Why it was refused", "When"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(0, 300)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        self.empty = QLabel("The server has refused nothing from this till.")
        self.empty.setObjectName("rejectedEmpty")
        layout.addWidget(self.empty)
        self.help = QLabel(WHAT_NOW)
        self.help.setObjectName("rejectedWhatNow")
        self.help.setWordWrap(True)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.help)
        ctx.ops.changed.connect(self._on_changes)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()

    def _on_changes(self, changes: Changes) -> None:
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        self.ctx.ops.run(lambda: attention.rejected_operations(self.ctx.store, self.ctx.money),
                         success=self.show_rows)

    def show_rows(self, rows: list[RejectedOperation]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            when = r.created_at.astimezone().strftime("%d %b %H:%M")
            for col, text in enumerate((r.what, r.reason, when)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\n(operation {r.op_id})")
                self.table.setItem(i, col, item)
        self.table.resizeRowsToContents()
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
