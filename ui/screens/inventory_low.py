"""The low-stock tab: products at or below their reorder level, and shelf labels for them."""

from __future__ import annotations

from PySide6.QtCore import Qt
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

from app.services import inventory
from ui.context import AppContext
from ui.screens.catalog_dialogs import print_labels
from ui.screens.inventory_widgets import qty_text
from ui.widgets.common import EmptyState, action_button, heading

HEADERS = ("Product", "SKU", "On hand", "Reorder level", "Short by")


class LowStockPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.dialog: QWidget | None = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("At or below the reorder level", "title"), 1)
        self.labels_button = action_button("Print labels", "Ctrl+P")
        self.labels_button.setObjectName("lowLabels")
        self.labels_button.clicked.connect(self.print_labels)
        refresh = action_button("Refresh", "Ctrl+R")
        refresh.clicked.connect(self.refresh)
        top.addWidget(self.labels_button)
        top.addWidget(refresh)
        layout.addLayout(top)
        self.stack = QStackedWidget()
        self.empty = EmptyState("box", "Nothing is running low", "Products at or below their reorder level show here")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("lowStockTable")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(46)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(HEADERS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, 150)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)

    def refresh(self) -> None:
        self.ctx.ops.run(lambda: inventory.low_stock(self.ctx.store), success=self._show)

    def _show(self, rows: list[inventory.LowStock]) -> None:
        self.table.setRowCount(len(rows))
        for r, low in enumerate(rows):
            cells = (low.name, low.sku, qty_text(low.on_hand_milli), qty_text(low.reorder_level_milli),
                     qty_text(low.reorder_level_milli - low.on_hand_milli))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, low.product_id)
                self.table.setItem(r, c, item)
        self.stack.setCurrentWidget(self.table if rows else self.empty)

    def print_labels(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        self.dialog = print_labels(self.ctx, self, ids)
