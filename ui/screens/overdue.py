"""Overdue installments of every pending payment plan, oldest first; opens the order.

Each row names the customer and their phone (decrypted by app.services.customers): the
person chasing a payment needs both, not only the order's reference.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from app.domain.words import count_of
from app.services import customers, payment_plans
from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.order_detail import fill, small_button, table
from ui.screens.order_detail_format import day
from ui.screens.table_fit import fit_to_width
from ui.widgets.common import EmptyState, heading

COLUMNS = ("Order", "Customer", "Phone", "No.", "Due", "Days late", "Outstanding")


class OverdueScreen(QWidget):
    open_order = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("overdueScreen")
        self.today = date.today
        self.rows: list[payment_plans.OverdueInstallment] = []
        self.customers: dict[str, customers.CustomerDetails] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(heading("Overdue installments", "title"))
        self.summary = heading("", "subtle")
        layout.addWidget(self.summary)
        # the customer's name takes what is left (a long one is elided, whole in its tooltip)
        self.table = table("overdueTable", list(COLUMNS), stretch=COLUMNS.index("Customer"))
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setStyleSheet("QTableView { font-size: 17px; }")
        self.table.verticalHeader().setDefaultSectionSize(46)
        fit_to_width(self.table, (COLUMNS.index("Customer"),))  # a long name wraps, never "Seán…"
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
        store = self.ctx.store
        self.ctx.ops.run(lambda: customers.overdue_with_customers(store, today),
                         success=lambda found: self._show(*found, today))

    def _show(self, rows: list[payment_plans.OverdueInstallment],
              who: dict[str, customers.CustomerDetails], today: date) -> None:
        self.rows, self.customers = rows, who
        m = self.ctx.money

        def cells(r: payment_plans.OverdueInstallment) -> tuple[str, ...]:
            c = who.get(r.order_id) or customers.CustomerDetails(None)
            return (r.reference, c.name or "—", c.phone or "—", str(r.number), day(r.due_date),
                    str((today - r.due_date).days), m(r.outstanding))

        fill(self.table, [cells(r) for r in rows], right=(3, 5, 6))
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
