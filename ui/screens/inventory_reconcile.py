"""The reconcile tab: negative stock, large counts and the server's after-the-fact
compensations, for the stock clerk to recount or accept (app/services/stock_reconcile.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action, allowed
from app.services import stock_reconcile
from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.inventory_widgets import qty_text
from ui.widgets.common import EmptyState, action_button, heading

HEADERS = ("What", "Product", "SKU", "On hand", "Moved", "Why")
KIND_TEXT = {stock_reconcile.NEGATIVE: "Below zero", stock_reconcile.COUNT: "Large count",
             stock_reconcile.COMPENSATION: "Late movement"}
REVIEW_CHANGES = Changes(stock=True)
SHARE_TIP = "Counts that moved stock by more than this share of what the books said are listed. "
SHARE_HERE = "A store setting: an admin or the owner can change it"
SHARE_FROM_SERVER = ("A store setting, the same on every till: an admin sets it in the "
                     "store settings on the server")


class ReconcilePage(QWidget):
    """``recount_asked(product_id)``: the clerk wants to count this product again."""

    recount_asked = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[stock_reconcile.Item] = []
        self._share_ppm = 0  # as last read: only a changed value is saved
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_top())
        self.stack = QStackedWidget()
        self.empty = EmptyState("box", "Nothing to reconcile",
                                "Negative stock, large counts and late movements show here")
        self.table = self._build_table()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        layout.addLayout(self._build_bottom())

    def _build_top(self) -> QHBoxLayout:
        top = QHBoxLayout()
        top.addWidget(heading("To recount or accept", "title"), 1)
        top.addWidget(QLabel("Large count: over"))
        self.share = QSpinBox()
        self.share.setObjectName("recountShare")
        self.share.setRange(1, 100)
        self.share.setSuffix(" %")
        self.share.setToolTip(SHARE_TIP + SHARE_HERE)
        self.share.setMinimumHeight(44)
        self.share.setMaximumWidth(120)
        self.share.editingFinished.connect(self._share_edited)
        top.addWidget(self.share)
        refresh = action_button("Refresh", "Ctrl+R")
        refresh.clicked.connect(self.refresh)
        top.addWidget(refresh)
        return top

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(0, len(HEADERS))
        table.setObjectName("reconcileTable")
        table.setHorizontalHeaderLabels(HEADERS)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(46)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        for col, width in ((0, 120), (2, 130), (3, 85), (4, 80)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        for col in (1, 5):  # the product and the reason share what is left
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        table.itemSelectionChanged.connect(self._selection_changed)
        return table

    def _build_bottom(self) -> QHBoxLayout:
        bottom = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setObjectName("acceptNote")
        self.note.setPlaceholderText("Why it is right as it stands (optional)")
        self.note.setMinimumHeight(44)
        bottom.addWidget(self.note, 1)
        self.recount_button = action_button("Recount", "F6")
        self.recount_button.setObjectName("recountButton")
        self.recount_button.clicked.connect(self.recount)
        self.accept_button = action_button("Accept", "F7", kind="primary")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.clicked.connect(self.accept)
        bottom.addWidget(self.recount_button)
        bottom.addWidget(self.accept_button)
        self._selection_changed()
        return bottom

    # -- reading ------------------------------------------------------------------
    def refresh(self) -> None:
        store = self.ctx.store
        self.ctx.ops.run(lambda: (stock_reconcile.items(store),
                                  stock_reconcile.recount_share_ppm(store),
                                  stock_reconcile.enrolled(store)), success=self._show)

    def _show(self, result: tuple[list[stock_reconcile.Item], int, bool]) -> None:
        rows, share, enrolled = result
        self.rows, self._share_ppm = rows, share
        self.share.blockSignals(True)
        self.share.setValue(max(1, round(share / 10_000)))
        self.share.blockSignals(False)
        # a store setting: an enrolled till shows the server's (the same on every till of
        # the store); a till with no server offers it to those who may change it (the
        # service checks again)
        self.share.setEnabled(not enrolled and allowed(self.ctx.actor.role, Action.SETTINGS_EDIT))
        self.share.setToolTip(SHARE_TIP + (SHARE_FROM_SERVER if enrolled else SHARE_HERE))
        self.table.setRowCount(len(rows))
        for r, item in enumerate(rows):
            moved = qty_text(item.moved_milli, signed=True) if item.moved_milli else ""
            cells = (KIND_TEXT.get(item.kind, item.kind), item.name, item.sku,
                     qty_text(item.on_hand_milli), moved, item.detail)
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if c in (3, 4):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 5:
                    cell.setToolTip(text)
                self.table.setItem(r, c, cell)
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        self._selection_changed()

    def selected(self) -> stock_reconcile.Item | None:
        picked = self.table.selectionModel().selectedRows()
        return self.rows[picked[0].row()] if picked and picked[0].row() < len(self.rows) else None

    def _selection_changed(self) -> None:
        has = self.selected() is not None
        self.recount_button.setEnabled(has)
        self.accept_button.setEnabled(has)

    # -- actions ------------------------------------------------------------------
    def recount(self) -> None:
        item = self.selected()
        if item is not None:
            self.recount_asked.emit(item.product_id)

    def accept(self) -> None:
        item = self.selected()
        if item is None:
            return
        store, actor, note = self.ctx.store, self.ctx.actor, self.note.text().strip() or None
        self.ctx.ops.run(lambda: stock_reconcile.accept(store, actor, item, note),
                         changes=REVIEW_CHANGES, success=lambda _r: self._accepted(item),
                         failure=self._failed)

    def _accepted(self, item: stock_reconcile.Item) -> None:
        self.note.clear()
        self.ctx.info(f"Accepted: {item.name}")
        self.refresh()

    def _share_edited(self) -> None:
        store, actor, ppm = self.ctx.store, self.ctx.actor, self.share.value() * 10_000
        if ppm == self._share_ppm:
            return
        self._share_ppm = ppm
        self.ctx.ops.run(lambda: stock_reconcile.set_recount_share(store, actor, ppm),
                         success=lambda _r: self.refresh(), failure=self._failed)

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ValueError | PermissionError):
            self.ctx.error(str(exc))
            self.refresh()
            return True
        return False
