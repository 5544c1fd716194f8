"""Overdue installments of every pending payment plan, oldest first; opens the order."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from app.domain.words import count_of
from app.services import payment_plans
from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.order_detail import fill, small_button, table
from ui.screens.order_detail_format import day
from ui.widgets.common import EmptyState, heading


class OverdueScreen(QWidget):
    open_order = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("overdueScreen")
        self.today = date.today
        self.rows: list[payment_plans.OverdueInstallment] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(heading("Overdue installments", "title"))
        self.summary = heading("", "subtle")
        layout.addWidget(self.summary)
        self.table = table("overdueTable", ["Order", "Installment", "Due", "Days late", "Outstanding"])
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setStyleSheet("QTableView { font-size: 17px; }")
        self.table.verticalHeader().setDefaultSectionSize(46)
        self.table.doubleClicked.connect(lambda _i: self._open())
        self.stack = QStackedWidget()
        self.stack.addWidget(EmptyState("receipt", "No installment is overdue"))
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = small_button("Open order", "overdueOpen", "primary")
        self.open_button.setMinimumHeight(52)
        self.open_button.clicked.connect(self._open)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        ctx.ops.changed.connect(self._on_changes)

    def _on_changes(self, changes: Changes) -> None:
        if changes.orders and self.isVisible():
            self.reload()

    def reload(self) -> None:
        today = self.today()
        self.ctx.ops.run(lambda: payment_plans.overdue_installments(self.ctx.store, today),
                         success=lambda rows: self._show(rows, today))

    def _show(self, rows: list[payment_plans.OverdueInstallment], today: date) -> None:
        self.rows = rows
        m = self.ctx.money
        fill(self.table, [(r.reference, str(r.number), day(r.due_date), str((today - r.due_date).days),
                           m(r.outstanding)) for r in rows], right=(1, 3, 4))
        self.table.setMinimumHeight(0)
        self.table.setMaximumHeight(16_777_215)
        self.stack.setCurrentIndex(1 if rows else 0)
        total = sum(r.outstanding for r in rows)
        self.summary.setText(f"{count_of(len(rows), 'installment')}, {m(total)} outstanding" if rows else "")
        if rows:
            self.table.selectRow(0)
        self.open_button.setEnabled(bool(rows))

    def _open(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.rows):
            self.open_order.emit(self.rows[rows[0].row()].order_id)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()
