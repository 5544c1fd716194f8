"""Printer settings: list, add/edit, remove, print a test page (through PrintService)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QListWidget, QStackedWidget, QVBoxLayout, QWidget

from ui import messages
from ui.context import AppContext
from ui.widgets.common import EmptyState, action_button


class PrintersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.printers: list = []
        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        self.empty = EmptyState("printer", "No printers yet", "Add the receipt printer of this till")
        self.list = QListWidget()
        self.list.setObjectName("printerList")
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        self.add_button = action_button("Add printer", "", kind="primary")
        self.test_button = action_button("Print test page", "")
        for b in (self.add_button, self.test_button):
            row.addWidget(b)
        layout.addLayout(row)
        if ctx.printing is None:
            self.empty.title.setText(messages.PRINTING_UNAVAILABLE)
            self.add_button.setEnabled(False)
            self.test_button.setEnabled(False)

    def reload(self) -> None:
        service = self.ctx.printing
        if service is None:
            return
        self.ctx.ops.run(service.printers, success=self._show)

    def _show(self, printers: list) -> None:
        self.printers = printers
        self.list.clear()
        for p in printers:
            self.list.addItem(getattr(p, "name", str(p)))
        self.stack.setCurrentIndex(1 if printers else 0)
