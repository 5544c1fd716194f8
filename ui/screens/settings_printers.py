"""Printer settings: list, add/edit, remove, print a test page (through PrintService), and
how long printed receipts stay in the print queue (they name customers)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.words import count_of
from ui import messages
from ui.context import AppContext
from ui.receipts import process_queue
from ui.screens.printer_dialog import PrinterDialog
from ui.widgets.common import EmptyState, action_button

MAX_KEEP_DAYS = 365


def describe(p) -> str:
    where = f"{p.address}:{p.port}" if p.connection == "network" else p.address
    extras = [f"{p.paper_mm} mm"] + (["drawer"] if p.open_drawer else []) + (["default"] if p.default else [])
    return f"{p.name}    ·    {p.connection} {where}    ·    {', '.join(extras)}"


class PrintersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.printers: list = []
        self.dialog: PrinterDialog | None = None
        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        self.empty = EmptyState("printer", "No printers yet", "Add the receipt printer of this till")
        self.list = QListWidget()
        self.list.setObjectName("printerList")
        # a long name or path wraps at 1024 px instead of running right of a scroll bar
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.itemActivated.connect(lambda _i: self.edit())
        self.list.currentRowChanged.connect(lambda _r: self._buttons_for_selection())
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        self.add_button = action_button("Add printer", kind="primary")
        self.edit_button = action_button("Edit")
        self.remove_button = action_button("Remove", kind="danger")
        self.test_button = action_button("Print test page", icon_name="printer")
        self.add_button.clicked.connect(self.add)
        self.edit_button.clicked.connect(self.edit)
        self.remove_button.clicked.connect(self.remove)
        self.test_button.clicked.connect(self.test_page)
        for b in (self.add_button, self.edit_button, self.remove_button, self.test_button):
            row.addWidget(b)
        layout.addLayout(row)
        layout.addLayout(self._keep_row())
        self._buttons_for_selection()
        if ctx.printing is None:
            self.empty.title.setText(messages.PRINTING_UNAVAILABLE)
            for b in (self.add_button, self.edit_button, self.remove_button, self.test_button,
                      self.keep_days):
                b.setEnabled(False)

    def _keep_row(self) -> QHBoxLayout:
        """How many days a printed job is kept (Enter or leaving the field saves it)."""
        row = QHBoxLayout()
        label = QLabel("Keep printed receipts in the print queue for")
        self.keep_days = QSpinBox()
        self.keep_days.setObjectName("keepPrintedDays")
        self.keep_days.setRange(0, MAX_KEEP_DAYS)
        self.keep_days.setSuffix(" days")
        self.keep_days.setMaximumWidth(280)
        self.keep_days.setSpecialValueText("0 days (delete once printed)")
        self.keep_days.setToolTip("Printed receipts name customers; a reprint is made anew "
                                  "from the sale, so they need not be kept long.")
        label.setBuddy(self.keep_days)
        self.keep_days.editingFinished.connect(self.save_keep)
        self._kept_days: int | None = None
        row.addWidget(label)
        row.addWidget(self.keep_days)
        row.addStretch(1)
        return row

    def _show_keep(self, keep: timedelta) -> None:
        self._kept_days = round(keep / timedelta(days=1))
        self.keep_days.setValue(self._kept_days)

    def save_keep(self) -> None:
        """Save the number of days and prune at once, so a shorter time applies now."""
        days, service = self.keep_days.value(), self.ctx.printing
        if service is None or days == self._kept_days:
            return
        self._kept_days = days

        def save() -> int:
            service.queue.set_keep_printed(timedelta(days=days))
            return int(service.queue.prune())

        def saved(deleted: int) -> None:
            older = f"; {count_of(deleted, 'older printed job')} deleted" if deleted else ""
            self.ctx.info(f"Printed receipts are kept {count_of(days, 'day')}{older}")

        self.ctx.ops.run(save, success=saved)

    def _buttons_for_selection(self) -> None:
        """Edit, Remove and Test need a printer to act on."""
        chosen = self.ctx.printing is not None and self._selected() is not None
        for b in (self.edit_button, self.remove_button, self.test_button):
            b.setEnabled(chosen)

    def _selected(self):
        row = self.list.currentRow()
        return self.printers[row] if 0 <= row < len(self.printers) else None

    def reload(self) -> None:
        service = self.ctx.printing
        if service is not None:
            self.ctx.ops.run(service.printers, success=self._show)
            self.ctx.ops.run(lambda: service.queue.keep_printed(), success=self._show_keep)

    def _show(self, printers: list) -> None:
        self.printers = printers
        self.list.clear()
        for p in printers:
            self.list.addItem(describe(p))
        self.stack.setCurrentIndex(1 if printers else 0)
        if printers:
            self.list.setCurrentRow(0)
        self._buttons_for_selection()

    def add(self) -> None:
        self._open_dialog(None)

    def edit(self) -> None:
        current = self._selected()
        if current is not None:
            self._open_dialog(current)

    def _open_dialog(self, current) -> None:
        dialog = PrinterDialog(current, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._save(dialog.config, current))
        dialog.open()

    def _save(self, cfg, previous) -> None:
        service = self.ctx.printing

        def save() -> None:
            if previous is not None and previous.name != cfg.name:
                service.remove_printer(previous.name)
            service.save_printer(cfg)

        self.ctx.ops.run(save, success=lambda _r: (self.reload(), self.ctx.info(f"Printer “{cfg.name}” saved")))

    def remove(self) -> None:
        current = self._selected()
        if current is not None:
            self.ctx.ops.run(lambda: self.ctx.printing.remove_printer(current.name), success=lambda _r: self.reload())

    def test_page(self) -> None:
        current = self._selected()
        if current is None:
            self.ctx.warn("Add a printer first")
            return
        service = self.ctx.printing

        def done(outcomes: list) -> None:
            if all(getattr(o, "ok", False) for o in outcomes):
                self.ctx.info(f"Test page sent to “{current.name}”")

        self.ctx.ops.run(lambda: service.enqueue_test_page(current.name),
                         success=lambda _job: process_queue(self.ctx, done))
