"""The count tab: scan the shelf, see what the books expect, fix a count, commit it.

The count session is kept in memory: the first scan of a product reads its on-hand
off the GUI thread (the *expected* quantity at count time); later scans of a code
already seen are added at once on the GUI thread, so a burst of scans never waits on
the database. Committing writes one ``count`` movement per product that differs
(inventory.commit_count).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.cart import CartLine
from app.services import catalog, inventory
from app.services.catalog import ProductRow
from ui.context import AppContext
from ui.screens.catalog_dialogs import refocus_after
from ui.screens.inventory_widgets import (
    COUNTED,
    STOCK_CHANGES,
    CountModel,
    ProductInfo,
    explain_scan_failure,
)
from ui.screens.register_dialogs import _FormDialog
from ui.widgets.cart_table import amount_columns_fixed, fit_columns
from ui.widgets.common import EmptyState, action_button, heading, line_table
from ui.widgets.product_search import ProductSearch

# (name, label, key, button kind) of the buttons beside the count table
COUNT_ACTIONS = (("edit_count", "Edit count", "F3", ""), ("review", "Review differences", "F5", ""),
                 ("new_count", "Start over", "F9", "danger"), ("commit", "Commit count", "F12", "primary"))
WAIT_FOR_SAVE = "Wait a moment: the count is being saved"


@dataclass(frozen=True)
class ScanHit:
    """What the first scan of a product in a count needs: who it is and what the ledger expects."""

    product_id: str
    name: str
    sku: str
    qty_milli: int
    by_weight: bool
    expected_milli: int
    active: bool

    @property
    def info(self) -> ProductInfo:
        return ProductInfo(self.name, self.sku, self.by_weight, self.active)


def _hit(store, lookup: Callable[..., CartLine], key: str) -> ScanHit:
    # Asked as the till asks, the look-up tells an inactive product by refusing it; only
    # then is it read again, to be counted all the same (an active one costs no extra read).
    try:
        line, active = lookup(store, key), True
    except catalog.ProductNotForSale:
        line, active = lookup(store, key, include_inactive=True), False
    return ScanHit(line.product_id, line.name, line.sku or "", line.qty_milli, line.weighed,
                   catalog.on_hand_milli(store, line.product_id), active)


def resolve_scan(store, code: str) -> ScanHit:
    return _hit(store, catalog.line_for_scan, code)


def hit_for_product(store, product_id: str) -> ScanHit:
    return _hit(store, catalog.line_for_product, product_id)


class CommitDialog(_FormDialog):
    def __init__(self, summary: str, parent: QWidget | None = None) -> None:
        super().__init__("Commit this count?", parent)
        self.setObjectName("commitCountDialog")
        text = QLabel(summary)
        text.setWordWrap(True)
        self.form.addRow(text)
        self.reason = QComboBox()
        self.reason.setObjectName("countReason")
        self.reason.setEditable(True)
        self.reason.addItems(["stock count", "shelf count", "cycle count", "year-end stocktake"])
        self.form.addRow("Reason", self.reason)

    def validate(self) -> None:
        if not self.reason.currentText().strip():
            raise ValueError("Say why the stock is being counted")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class CountPage(QWidget):
    """``row_shown(product_id)`` fires after a counted product's row is on screen (tests, benchmark)."""

    row_shown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = inventory.CountSession(ctx.store)
        self.model = CountModel(self.session)
        self._codes: dict[str, tuple[str, int]] = {}  # code -> (product id, qty) seen in this count
        self._committing = False
        self.dialog: QWidget | None = None
        outer = QHBoxLayout(self)
        outer.addLayout(self._build_table(), 3)
        outer.addLayout(self._build_side(), 1)
        self.model.rowsInserted.connect(self._count_changed)
        self.model.modelReset.connect(self._count_changed)
        self.model.dataChanged.connect(self._count_changed)
        self._count_changed()

    def _build_table(self) -> QVBoxLayout:
        main = QVBoxLayout()
        self.picker = ProductSearch(self.ctx, "Scan items to count, or type a name or SKU…", include_inactive=True)
        self.picker.field.setObjectName("countScanField")
        self.picker.code_entered.connect(self.count_scan)
        self.picker.product_chosen.connect(self._count_picked)
        main.addWidget(self.picker)
        self.stack = QStackedWidget()
        self.empty = EmptyState("scan", "Scan the first item to start counting",
                                "Each scan adds one; the table shows what the books expect")
        self.table = line_table("countTable", self.model, 48)
        self.table.setAlternatingRowColors(True)
        # the SKU and the figures as wide as their header and cells (the register's cart
        # does the same): fixed widths of 500 px left a product's name 40 px at 1024x768
        amount_columns_fixed(self.table)
        self.model.rowsInserted.connect(lambda _p, first, last: fit_columns(self.table, first, last))
        self.model.dataChanged.connect(lambda tl, br, _r=(): fit_columns(self.table, tl.row(), br.row()))
        self.model.modelReset.connect(lambda: fit_columns(self.table, 0, self.model.rowCount() - 1,
                                                          shrink=True))
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        main.addWidget(self.stack, 1)
        return main

    def _build_side(self) -> QVBoxLayout:
        side = QVBoxLayout()
        self.summary = heading("", "subtle")
        self.summary.setWordWrap(True)
        side.addWidget(self.summary)
        side.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for name, label, key, kind in COUNT_ACTIONS:
            button = action_button(label, key, kind=kind)
            button.setObjectName(f"count_{name}")
            button.setCheckable(name == "review")
            button.clicked.connect(getattr(self, name))
            side.addWidget(button)
            self.buttons[name] = button
        self.buttons["commit"].setMinimumHeight(84)
        return side

    # -- scans ------------------------------------------------------------------
    def focus_scan(self) -> None:
        self.picker.field.setFocus()
        self.picker.field.selectAll()

    def count_scan(self, code: str, qty_milli: int | None = None) -> None:
        """Add one of the product ``code`` finds to the count (the weight, for a weight label)."""
        if self._committing:
            self.ctx.warn(WAIT_FOR_SAVE)
            return
        known = self._codes.get(code)
        if known is not None:  # seen in this count: no database trip
            pid, qty = known
            self._show_row(self.model.count(pid, self.model.info[pid], 0, qty_milli or qty), pid)
            return
        self.ctx.ops.run(lambda: resolve_scan(self.ctx.store, code),
                         success=lambda hit: self._counted(code, hit, qty_milli),
                         failure=lambda exc: explain_scan_failure(self, exc, lambda _pid: self.count_scan(code)))

    def forget_codes(self) -> None:
        """The catalog changed: a barcode may have moved to another product."""
        self._codes.clear()

    def _counted(self, code: str, hit: ScanHit, qty_milli: int | None) -> None:
        if self._committing:
            self.ctx.warn(WAIT_FOR_SAVE)
            return
        self._codes[code] = (hit.product_id, hit.qty_milli)
        info = self.model.info.get(hit.product_id) or hit.info
        row = self.model.count(hit.product_id, info, hit.expected_milli, qty_milli or hit.qty_milli)
        self._show_row(row, hit.product_id)

    def _show_row(self, row: int, pid: str) -> None:
        if row >= 0:
            index = self.model.index(row, 0)
            self.table.scrollTo(index)
            self.table.selectRow(row)
        self.row_shown.emit(pid)

    def _count_picked(self, row: ProductRow) -> None:
        """A product chosen by name: count one of it (keyed by its id, as a code would be)."""
        self.ctx.ops.run(lambda: hit_for_product(self.ctx.store, row.id),
                         success=lambda hit: self._counted(f"product:{hit.product_id}", hit, None))
        self.picker.field.setFocus()

    def recount(self, product_id: str) -> None:
        """Put a product on the count at 0 (from the reconciliation list), ready to count."""
        if self._committing:
            self.ctx.warn(WAIT_FOR_SAVE)
            return
        self.ctx.ops.run(lambda: hit_for_product(self.ctx.store, product_id),
                         success=self._recount_shown)

    def _recount_shown(self, hit: ScanHit) -> None:
        info = self.model.info.get(hit.product_id) or hit.info
        self._show_row(self.model.count(hit.product_id, info, hit.expected_milli, 0), hit.product_id)
        self.picker.field.setFocus()

    # -- actions ------------------------------------------------------------------
    def edit_count(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.setFocus()
            self.table.edit(self.model.index(rows[0].row(), COUNTED))

    def review_key(self) -> None:
        self.buttons["review"].toggle()
        self.review()

    def review(self) -> None:
        self.model.set_only_differences(self.buttons["review"].isChecked())

    def new_count(self) -> None:
        """F9 "Start over": a count holding counted items is only dropped after a yes, and
        the default (Enter) keeps counting (it was cleared at once, without a word)."""
        if self._committing:
            return
        if not self.session.items:
            self._clear_count()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Start over?",
                          f"Drop this count of {plural(len(self.session.items), 'product')}? "
                          "Nothing of it is saved.", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("startOverBox")
        keep = box.addButton("Keep counting", QMessageBox.ButtonRole.RejectRole)
        drop = box.addButton("Start over", QMessageBox.ButtonRole.DestructiveRole)
        keep.setObjectName("keepCounting")
        drop.setObjectName("dropCount")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.finished.connect(lambda _r: self._clear_count() if box.clickedButton() is drop else None)
        self.dialog = box
        refocus_after(box, self)
        box.open()

    def _clear_count(self) -> None:
        if self._committing:
            return
        self.session = inventory.CountSession(self.ctx.store)
        self._codes.clear()
        self.model.reset(self.session)
        self.buttons["review"].setChecked(False)
        self.model.only_differences = False
        self.picker.field.setFocus()

    def commit(self) -> None:
        if self._committing or not self.session.items:
            return
        counted, differ, _ = self.model.summary()
        up = sum(1 for i in self.session.items.values() if i.difference > 0)
        summary = (f"{plural(counted, 'product')} counted; {differ} differ from the books "
                   f"({up} more, {differ - up} fewer). The whole count is saved at once, with the "
                   "time each product was counted; sales made after that are not undone by it.")
        dialog = CommitDialog(summary, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._commit(dialog.reason.currentText().strip()))
        refocus_after(dialog, self)
        dialog.open()

    def _commit(self, reason: str) -> None:
        self._committing = True
        self._count_changed()
        session, actor = self.session, self.ctx.actor
        self.ctx.ops.run(lambda: inventory.commit_count(self.ctx.store, actor, session, reason),
                         changes=STOCK_CHANGES, success=self._committed, failure=self._commit_failed)

    def _committed(self, written: int) -> None:
        self._committing = False
        self.ctx.info(f"Count saved: {plural(written, 'product')} changed")
        self._clear_count()

    def _commit_failed(self, exc: BaseException) -> bool:
        self._committing = False
        self._count_changed()
        if isinstance(exc, ValueError):
            self.ctx.error(str(exc))
            return True
        return False

    def _count_changed(self, *_args) -> None:
        counted, differ, _units = self.model.summary()
        has_rows = bool(self.session.items)
        self.stack.setCurrentWidget(self.table if has_rows else self.empty)
        text = (f"{plural(counted, 'product')} counted\n{differ} differ from the books"
                if has_rows else "No items counted yet")
        if text != self.summary.text():  # a new label text re-lays out the screen: only when it changed
            self.summary.setText(text)
        for name in ("edit_count", "review", "new_count", "commit"):
            self.buttons[name].setEnabled(has_rows and not self._committing)
