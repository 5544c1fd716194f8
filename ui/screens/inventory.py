"""Stock work: count sessions, receiving, adjustments with a reason, the low-stock list.

Scans land on whichever tab is open. Counting keeps the session in memory: the
first scan of a product reads its on-hand off the GUI thread (the *expected*
quantity at count time); later scans of a code already seen are added at once
on the GUI thread, so a burst of scans never waits on the database. Committing
writes one ``count`` movement per product that differs (inventory.commit_count).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.barcode import BarcodeError
from app.domain.permissions import Action
from app.services import catalog, inventory
from app.services.catalog import UnknownBarcode
from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.catalog_dialogs import offer_quick_add, print_labels, refocus_after
from ui.screens.inventory_widgets import (
    COUNTED,
    CountModel,
    ProductInfo,
    ProductPicker,
    parse_qty,
    product_for_scan,
    qty_text,
)
from ui.screens.register_dialogs import _FormDialog
from ui.widgets.common import EmptyState, action_button, heading
from ui.widgets.product_search import ProductSearch

STOCK_CHANGES = Changes(stock=True, outbox=True)
COUNT, RECEIVE, ADJUST, LOW = range(4)
REASONS = (("damage", "Damaged"), ("theft", "Theft / missing"), ("correction", "Correction"),
           ("expired", "Expired"))


@dataclass(frozen=True)
class ScanHit:
    """What the first scan of a product in a count needs: who it is and what the ledger expects."""

    product_id: str
    name: str
    sku: str
    qty_milli: int
    by_weight: bool
    expected_milli: int


def resolve_scan(store, code: str) -> ScanHit:
    line = catalog.line_for_scan(store, code, include_inactive=True)
    return ScanHit(line.product_id, line.name, line.sku or "", line.qty_milli, line.weighed,
                   catalog.on_hand_milli(store, line.product_id))


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


class InventoryScreen(QWidget):
    """``row_shown(product_id)`` fires after a counted product's row is on screen (tests, benchmark)."""

    row_shown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("inventoryScreen")
        self.session = inventory.CountSession(ctx.store)
        self.model = CountModel(self.session)
        self._codes: dict[str, tuple[str, int]] = {}  # code -> (product id, qty) seen in this count
        self._committing = False
        self.dialog: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Inventory"))
        self.tabs = QTabWidget()
        self.tabs.setObjectName("inventoryTabs")
        self.tabs.addTab(self._build_count(), "Count  (Ctrl+1)")
        self.tabs.addTab(self._build_receive(), "Receive  (Ctrl+2)")
        self.tabs.addTab(self._build_adjust(), "Adjust  (Ctrl+3)")
        self.tabs.addTab(self._build_low(), "Low stock  (Ctrl+4)")
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self._bind_keys()
        self.model.rowsInserted.connect(self._count_changed)
        self.model.modelReset.connect(self._count_changed)
        self.model.dataChanged.connect(self._count_changed)
        ctx.ops.changed.connect(self._on_changes)
        self._count_changed()

    # -- layout -----------------------------------------------------------------
    def _build_count(self) -> QWidget:
        page = QWidget()
        outer = QHBoxLayout(page)
        main = QVBoxLayout()
        self.count_picker = ProductSearch(self.ctx, "Scan items to count, or type a name or SKU…",
                                          include_inactive=True)
        self.count_picker.field.setObjectName("countScanField")
        self.count_picker.code_entered.connect(self.count_scan)
        self.count_picker.product_chosen.connect(self._count_picked)
        main.addWidget(self.count_picker)
        self.count_stack = QStackedWidget()
        self.count_empty = EmptyState("scan", "Scan the first item to start counting",
                                      "Each scan adds one; the table shows what the books expect")
        self.count_table = QTableView()
        self.count_table.setObjectName("countTable")
        self.count_table.setModel(self.model)
        self.count_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.count_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.count_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                         | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.count_table.verticalHeader().hide()
        self.count_table.verticalHeader().setDefaultSectionSize(48)
        self.count_table.setAlternatingRowColors(True)
        header = self.count_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 130), (2, 120), (3, 120), (4, 130)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        self.count_stack.addWidget(self.count_empty)
        self.count_stack.addWidget(self.count_table)
        main.addWidget(self.count_stack, 1)
        outer.addLayout(main, 3)
        side = QVBoxLayout()
        self.count_summary = heading("", "subtle")
        self.count_summary.setWordWrap(True)
        side.addWidget(self.count_summary)
        side.addStretch(1)
        self.count_buttons: dict[str, QPushButton] = {}
        for name, label, key, kind in (("edit_count", "Edit count", "F3", ""),
                                       ("review", "Review differences", "F5", ""),
                                       ("new_count", "Start over", "F9", "danger"),
                                       ("commit", "Commit count", "F12", "primary")):
            button = action_button(label, key, kind=kind)
            button.setObjectName(f"count_{name}")
            button.setCheckable(name == "review")
            button.clicked.connect(getattr(self, name))
            side.addWidget(button)
            self.count_buttons[name] = button
        self.count_buttons["commit"].setMinimumHeight(84)
        outer.addLayout(side, 1)
        return page

    def _build_receive(self) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        form_box = QVBoxLayout()
        form_box.addWidget(heading("Receive a delivery", "title"))
        self.receive_picker = ProductPicker(self.ctx, "Scan or search the product received…")
        self.receive_picker.picked.connect(lambda _r: self.receive_qty.setFocus())
        self.receive_picker.code_entered.connect(lambda code: self._pick_scan(self.receive_picker, code))
        form_box.addWidget(self.receive_picker)
        form = QFormLayout()
        self.receive_qty = QLineEdit("1")
        self.receive_qty.setObjectName("receiveQty")
        self.receive_ref = QLineEdit()
        self.receive_ref.setObjectName("receiveRef")
        self.receive_ref.setPlaceholderText("delivery note / PO number")
        form.addRow("Quantity", self.receive_qty)
        form.addRow("Supplier reference", self.receive_ref)
        form_box.addLayout(form)
        self.receive_error = QLabel("")
        self.receive_error.setProperty("level", "error")
        form_box.addWidget(self.receive_error)
        self.receive_button = action_button("Receive", "Ctrl+Enter", kind="primary")
        self.receive_button.setObjectName("receiveButton")
        self.receive_button.clicked.connect(self.receive)
        for w in (self.receive_qty, self.receive_ref):
            w.returnPressed.connect(self.receive)
        form_box.addWidget(self.receive_button)
        form_box.addStretch(1)
        layout.addLayout(form_box, 3)
        self.receive_log = self._log_list("receiveLog")
        layout.addWidget(self._titled("Received this session", self.receive_log), 2)
        return page

    def _build_adjust(self) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        form_box = QVBoxLayout()
        form_box.addWidget(heading("Adjust stock", "title"))
        self.adjust_picker = ProductPicker(self.ctx, "Scan or search the product…")
        self.adjust_picker.picked.connect(lambda _r: self.adjust_qty.setFocus())
        self.adjust_picker.code_entered.connect(lambda code: self._pick_scan(self.adjust_picker, code))
        form_box.addWidget(self.adjust_picker)
        form = QFormLayout()
        self.adjust_qty = QLineEdit()
        self.adjust_qty.setObjectName("adjustQty")
        self.adjust_qty.setPlaceholderText("−2 to remove, 3 to add")
        self.adjust_reason = QComboBox()
        self.adjust_reason.setObjectName("adjustReason")
        for value, label in REASONS:
            self.adjust_reason.addItem(label, value)
        self.adjust_note = QLineEdit()
        self.adjust_note.setPlaceholderText("optional note")
        form.addRow("Change (±)", self.adjust_qty)
        form.addRow("Reason", self.adjust_reason)
        form.addRow("Note", self.adjust_note)
        form_box.addLayout(form)
        self.adjust_error = QLabel("")
        self.adjust_error.setProperty("level", "error")
        form_box.addWidget(self.adjust_error)
        self.adjust_button = action_button("Adjust", "Ctrl+Enter", kind="primary")
        self.adjust_button.setObjectName("adjustButton")
        self.adjust_button.clicked.connect(self.adjust)
        for w in (self.adjust_qty, self.adjust_note):
            w.returnPressed.connect(self.adjust)
        form_box.addWidget(self.adjust_button)
        form_box.addStretch(1)
        layout.addLayout(form_box, 3)
        self.adjust_log = self._log_list("adjustLog")
        layout.addWidget(self._titled("Adjusted this session", self.adjust_log), 2)
        return page

    def _build_low(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        top.addWidget(heading("At or below the reorder level", "title"), 1)
        self.low_labels = action_button("Print labels", "Ctrl+P")
        self.low_labels.setObjectName("lowLabels")
        self.low_labels.clicked.connect(self.print_low_labels)
        refresh = action_button("Refresh", "Ctrl+R")
        refresh.clicked.connect(self.refresh_low)
        top.addWidget(self.low_labels)
        top.addWidget(refresh)
        layout.addLayout(top)
        self.low_stack = QStackedWidget()
        self.low_empty = EmptyState("box", "Nothing is running low",
                                    "Products at or below their reorder level show here")
        self.low_table = QTableWidget(0, 5)
        self.low_table.setObjectName("lowStockTable")
        self.low_table.setHorizontalHeaderLabels(["Product", "SKU", "On hand", "Reorder level", "Short by"])
        self.low_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.low_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.low_table.verticalHeader().hide()
        self.low_table.verticalHeader().setDefaultSectionSize(46)
        self.low_table.setAlternatingRowColors(True)
        header = self.low_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, 150)
        self.low_stack.addWidget(self.low_empty)
        self.low_stack.addWidget(self.low_table)
        layout.addWidget(self.low_stack, 1)
        return page

    @staticmethod
    def _log_list(name: str) -> QListWidget:
        log = QListWidget()
        log.setObjectName(name)
        return log

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading(title, "label"))
        layout.addWidget(widget, 1)
        return box

    def _bind_keys(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.shortcuts: dict[str, QShortcut] = {}
        keys = {"edit_count": "F3", "review_key": "F5", "new_count": "F9", "commit": "F12",
                "submit": "Ctrl+Return", "print_low_labels": "Ctrl+P", "refresh_low": "Ctrl+R",
                "focus_scan": "F2"}
        for name, key in keys.items():
            sc = QShortcut(QKeySequence(key), self, context=context)
            sc.activated.connect(getattr(self, name))
            self.shortcuts[name] = sc
        for i in range(4):
            sc = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, context=context)
            sc.activated.connect(lambda i=i: self.tabs.setCurrentIndex(i))

    # -- scans ------------------------------------------------------------------
    def handle_scan(self, code: str) -> None:
        """A scanner code: counted, or picked for receiving/adjusting, by the open tab."""
        tab = self.tabs.currentIndex()
        if tab == COUNT:
            self.count_scan(code)
        elif tab == RECEIVE:
            self._pick_scan(self.receive_picker, code)
        elif tab == ADJUST:
            self._pick_scan(self.adjust_picker, code)
        else:
            self.tabs.setCurrentIndex(COUNT)
            self.count_scan(code)

    def _pick_scan(self, picker: ProductPicker, code: str) -> None:
        self.ctx.ops.run(lambda: product_for_scan(self.ctx.store, code), success=picker.set_product,
                         failure=lambda exc: self._scan_failed(code, exc, lambda _pid: self._pick_scan(picker, code)))

    def count_scan(self, code: str, qty_milli: int | None = None) -> None:
        """Add one of the product ``code`` finds to the count (the weight, for a weight label)."""
        if self._committing:
            self.ctx.warn("Wait a moment: the count is being saved")
            return
        known = self._codes.get(code)
        if known is not None:  # seen in this count: no database trip
            pid, qty = known
            self._show_row(self.model.count(pid, self.model.info[pid], 0, qty_milli or qty), pid)
            return
        self.ctx.ops.run(lambda: resolve_scan(self.ctx.store, code),
                         success=lambda hit: self._counted(code, hit, qty_milli),
                         failure=lambda exc: self._scan_failed(code, exc, lambda _pid: self.count_scan(code)))

    def _counted(self, code: str, hit: ScanHit, qty_milli: int | None) -> None:
        if self._committing:
            self.ctx.warn("Wait a moment: the count is being saved")
            return
        self._codes[code] = (hit.product_id, hit.qty_milli)
        info = self.model.info.get(hit.product_id) or ProductInfo(hit.name, hit.sku, hit.by_weight)
        row = self.model.count(hit.product_id, info, hit.expected_milli, qty_milli or hit.qty_milli)
        self._show_row(row, hit.product_id)

    def _show_row(self, row: int, pid: str) -> None:
        if row >= 0:
            index = self.model.index(row, 0)
            self.count_table.scrollTo(index)
            self.count_table.selectRow(row)
        self.row_shown.emit(pid)

    def _scan_failed(self, code: str, exc: BaseException, retry) -> bool:
        if isinstance(exc, UnknownBarcode):
            if self.ctx.can(Action.PRODUCT_QUICK_ADD):
                self.ctx.warn(f"No product has barcode {exc.code}: add it now")
                self.dialog = offer_quick_add(self.ctx, self, exc.code, retry)
            else:
                self.ctx.error(f"No product has barcode {exc.code}")
            return True
        if isinstance(exc, BarcodeError):
            self.ctx.error(str(exc))
            return True
        return False

    def _count_picked(self, row) -> None:
        """A product chosen by name: count one of it (by the SKU, which finds it like a code)."""
        self.ctx.ops.run(lambda: _hit_for_product(self.ctx.store, row.id),
                         success=lambda hit: self._counted(f"product:{hit.product_id}", hit, None))
        self.count_picker.field.setFocus()

    # -- count actions ------------------------------------------------------------
    def focus_scan(self) -> None:
        picker = {COUNT: self.count_picker, RECEIVE: self.receive_picker,
                  ADJUST: self.adjust_picker}.get(self.tabs.currentIndex())
        if picker is not None:
            picker.field.setFocus()
            picker.field.selectAll()

    def edit_count(self) -> None:
        rows = self.count_table.selectionModel().selectedRows()
        if rows:
            self.count_table.setFocus()
            self.count_table.edit(self.model.index(rows[0].row(), COUNTED))

    def review_key(self) -> None:
        self.count_buttons["review"].toggle()
        self.review()

    def review(self) -> None:
        self.model.set_only_differences(self.count_buttons["review"].isChecked())

    def new_count(self) -> None:
        if self._committing:
            return
        self.session = inventory.CountSession(self.ctx.store)
        self._codes.clear()
        self.model.reset(self.session)
        self.count_buttons["review"].setChecked(False)
        self.model.only_differences = False
        self.count_picker.field.setFocus()

    def commit(self) -> None:
        if self._committing or not self.session.items:
            return
        counted, differ, _ = self.model.summary()
        up = sum(1 for i in self.session.items.values() if i.difference > 0)
        summary = (f"{counted} product{'s' if counted != 1 else ''} counted; {differ} differ from the books "
                   f"({up} more, {differ - up} fewer). One stock movement is written per product that "
                   "differs; the products that match are left as they are.")
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
        self.ctx.info(f"Count saved: {written} stock movement{'s' if written != 1 else ''} written")
        self.new_count()

    def _commit_failed(self, exc: BaseException) -> bool:
        self._committing = False
        self._count_changed()
        if isinstance(exc, ValueError):
            self.ctx.error(str(exc))
            return True
        return False

    def _count_changed(self, *_args) -> None:
        counted, differ, units = self.model.summary()
        has_rows = bool(self.session.items)
        self.count_stack.setCurrentWidget(self.count_table if has_rows else self.count_empty)
        text = (f"{counted} product{'s' if counted != 1 else ''} counted\n{differ} differ from the books"
                if has_rows else "No items counted yet")
        if text != self.count_summary.text():  # a new label text re-lays out the screen: only when it changed
            self.count_summary.setText(text)
        for name in ("edit_count", "review", "new_count", "commit"):
            self.count_buttons[name].setEnabled(has_rows and not self._committing)

    # -- receive and adjust ---------------------------------------------------------
    def submit(self) -> None:
        if self.tabs.currentIndex() == RECEIVE:
            self.receive()
        elif self.tabs.currentIndex() == ADJUST:
            self.adjust()

    def receive(self) -> None:
        product = self.receive_picker.current
        try:
            if product is None:
                raise ValueError("Scan or choose the product first")
            qty = parse_qty(self.receive_qty.text(), allow_zero=False)
        except ValueError as exc:
            self.receive_error.setText(str(exc))
            return
        self.receive_error.setText("")
        ref, actor = self.receive_ref.text().strip() or None, self.ctx.actor
        self.ctx.ops.run(lambda: inventory.receive(self.ctx.store, actor, product.id, qty, ref),
                         changes=STOCK_CHANGES, failure=lambda e: self._form_failed(self.receive_error, e),
                         success=lambda _m: self._received(product, qty, ref))

    def _received(self, product, qty: int, ref: str | None) -> None:
        self.receive_log.insertItem(0, f"+{qty_text(qty)}  {product.name}" + (f"   ({ref})" if ref else ""))
        self.receive_picker.reset()
        self.receive_qty.setText("1")
        self.receive_picker.field.setFocus()
        self.ctx.info(f"Received {qty_text(qty)} × {product.name}")

    def adjust(self) -> None:
        product = self.adjust_picker.current
        try:
            if product is None:
                raise ValueError("Scan or choose the product first")
            qty = parse_qty(self.adjust_qty.text(), allow_negative=True, allow_zero=False)
        except ValueError as exc:
            self.adjust_error.setText(str(exc))
            return
        self.adjust_error.setText("")
        reason, note = self.adjust_reason.currentData(), self.adjust_note.text().strip() or None
        actor = self.ctx.actor
        self.ctx.ops.run(lambda: inventory.adjust(self.ctx.store, actor, product.id, qty, reason, note),
                         changes=STOCK_CHANGES, failure=lambda e: self._form_failed(self.adjust_error, e),
                         success=lambda _m: self._adjusted(product, qty, reason))

    def _adjusted(self, product, qty: int, reason: str) -> None:
        self.adjust_log.insertItem(0, f"{qty_text(qty, signed=True)}  {product.name}  ({reason})")
        self.adjust_picker.reset()
        self.adjust_qty.clear()
        self.adjust_note.clear()
        self.adjust_picker.field.setFocus()
        self.ctx.info(f"Adjusted {product.name} by {qty_text(qty, signed=True)}")

    def _form_failed(self, label: QLabel, exc: BaseException) -> bool:
        if isinstance(exc, ValueError):
            label.setText(str(exc))
            return True
        return False

    # -- low stock --------------------------------------------------------------------
    def refresh_low(self) -> None:
        self.ctx.ops.run(lambda: inventory.low_stock(self.ctx.store), success=self._show_low)

    def _show_low(self, rows: list[inventory.LowStock]) -> None:
        table = self.low_table
        table.setRowCount(len(rows))
        for r, low in enumerate(rows):
            cells = (low.name, low.sku, qty_text(low.on_hand_milli), qty_text(low.reorder_level_milli),
                     qty_text(low.reorder_level_milli - low.on_hand_milli))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, low.product_id)
                table.setItem(r, c, item)
        self.low_stack.setCurrentWidget(table if rows else self.low_empty)

    def print_low_labels(self) -> None:
        rows = sorted({i.row() for i in self.low_table.selectionModel().selectedRows()})
        ids = [self.low_table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        self.dialog = print_labels(self.ctx, self, ids)

    # -- refresh ------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        if index == LOW:
            self.refresh_low()
        self.focus_scan()

    def _on_changes(self, changes: Changes) -> None:
        if changes.catalog:
            self._codes.clear()  # a barcode may have moved to another product
        if (changes.stock or changes.catalog) and self.isVisible() and self.tabs.currentIndex() == LOW:
            self.refresh_low()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.tabs.currentIndex() == LOW:
            self.refresh_low()
        self.focus_scan()


def _hit_for_product(store, product_id: str) -> ScanHit:
    line = catalog.line_for_product(store, product_id, include_inactive=True)
    return ScanHit(line.product_id, line.name, line.sku or "", line.qty_milli, line.weighed,
                   catalog.on_hand_milli(store, product_id))
