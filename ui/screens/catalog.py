"""The catalog: find a product, edit its fields, see its price history, import and export CSV.

Edits go through catalog_edit.update_product with only the fields that changed, so
they sync field by field. The CSV import validates the whole file off the GUI
thread with a progress bar; a bad file shows every bad line and imports nothing.
A scan opens the product, or offers to add it when the code is unknown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.barcode import BarcodeError
from app.domain.money import MoneyError, format_plain, parse
from app.domain.permissions import Action
from app.services import catalog, catalog_csv, catalog_edit
from app.services.catalog import UnknownBarcode
from app.services.changes import Changes
from ui import messages
from ui.context import AppContext
from ui.screens.catalog_dialogs import (
    ImportReportDialog,
    offer_quick_add,
    parse_percent,
    percent_text,
    print_labels,
    refocus_after,
)
from ui.screens.inventory_widgets import parse_qty, qty_text
from ui.widgets.common import EmptyState, action_button, heading

CATALOG_CHANGES = Changes(catalog=True, outbox=True)


class _Progress(QObject):
    """Carries import_csv's progress callback from the worker thread to the GUI thread."""

    moved = Signal(int, int)


def split_codes(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").replace("|", " ").split() if c]


class CatalogScreen(QWidget):
    """``import_finished(report)`` fires when an import ends, good or bad (tests)."""

    import_finished = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("catalogScreen")
        self.details: dict | None = None
        self.dialog: QWidget | None = None
        self._seq = 0
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.run_search)
        self._progress = _Progress(self)
        self._progress.moved.connect(self._moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addLayout(self._build_top())
        self.progress = QProgressBar()
        self.progress.setObjectName("importProgress")
        self.progress.setFormat("Importing… %v of %m rows")
        self.progress.hide()
        layout.addWidget(self.progress)
        body = QHBoxLayout()
        body.setSpacing(16)
        body.addLayout(self._build_list(), 1)
        body.addWidget(self._build_editor(), 1)
        layout.addLayout(body, 1)
        self._bind_keys()
        ctx.ops.changed.connect(self._on_changes)

    # -- layout -------------------------------------------------------------------
    def _build_top(self) -> QHBoxLayout:
        top = QHBoxLayout()
        top.addWidget(heading("Catalog"), 1)
        self.top_buttons = {}
        for name, label, key in (("new_product", "New product", "Ctrl+N"),
                                 ("print_selected_labels", "Print labels", "Ctrl+P"),
                                 ("choose_import", "Import CSV", "Ctrl+I"),
                                 ("choose_export", "Export CSV", "Ctrl+E")):
            button = action_button(label, key)
            button.setObjectName(f"catalog_{name}")
            button.setMinimumWidth(150)
            button.clicked.connect(getattr(self, name))
            top.addWidget(button)
            self.top_buttons[name] = button
        return top

    def _build_list(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("scanField")
        self.search.setPlaceholderText("Search by name or SKU, or scan a barcode…")
        self.search.setClearButtonEnabled(True)
        self.search.textEdited.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._entered)
        box.addWidget(self.search)
        self.list_stack = QStackedWidget()
        self.list_empty = EmptyState("search", "Find a product", "Type part of its name or SKU, or scan it")
        self.results = QTableWidget(0, 3)
        self.results.setObjectName("catalogResults")
        self.results.setHorizontalHeaderLabels(["Product", "SKU", "Price"])
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.results.verticalHeader().hide()
        self.results.verticalHeader().setDefaultSectionSize(44)
        self.results.setAlternatingRowColors(True)
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.results.currentCellChanged.connect(lambda row, *_: self._open_row(row))
        self.list_stack.addWidget(self.list_empty)
        self.list_stack.addWidget(self.results)
        box.addWidget(self.list_stack, 1)
        return box

    def _build_editor(self) -> QWidget:
        self.editor_stack = QStackedWidget()
        self.editor_empty = EmptyState("box", "No product open", "Search or scan a product to edit it")
        panel = QFrame()
        panel.setObjectName("sidePanel")
        layout = QVBoxLayout(panel)
        self.editor_title = heading("", "title")
        self.editor_title.setWordWrap(True)
        layout.addWidget(self.editor_title)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for key, label in (("name", "Name"), ("price", "Price"), ("barcodes", "Barcodes"),
                           ("category", "Category"), ("tax", "Tax %"), ("reorder", "Reorder level")):
            edit = QLineEdit()
            edit.setObjectName(f"edit_{key}")
            edit.returnPressed.connect(self.save)
            form.addRow(label, edit)
            self.fields[key] = edit
        self.fields["barcodes"].setPlaceholderText("codes separated by commas")
        self.active = QCheckBox("Active (sold at the till)")
        self.active.setObjectName("edit_active")
        form.addRow("", self.active)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("editError")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.revert_button = action_button("Revert", "Esc")
        self.revert_button.clicked.connect(self.revert)
        self.save_button = action_button("Save", "Ctrl+S", kind="primary")
        self.save_button.setObjectName("saveProduct")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button, 2)
        layout.addLayout(buttons)
        layout.addWidget(heading("Price history", "label"))
        self.history = QListWidget()
        self.history.setObjectName("priceHistory")
        layout.addWidget(self.history, 1)
        self.editor_stack.addWidget(self.editor_empty)
        self.editor_stack.addWidget(panel)
        return self.editor_stack

    def _bind_keys(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, slot in (("Ctrl+S", self.save), ("Escape", self.revert), ("F2", self.focus_search),
                          ("Ctrl+N", self.new_product), ("Ctrl+P", self.print_selected_labels),
                          ("Ctrl+I", self.choose_import), ("Ctrl+E", self.choose_export)):
            QShortcut(QKeySequence(key), self, context=context).activated.connect(slot)

    # -- search and scans ------------------------------------------------------------
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _entered(self) -> None:
        text = self.search.text().strip()
        if text.isdigit() and len(text) >= 6:
            self.handle_scan(text)
        else:
            self._timer.stop()
            self.run_search()

    def run_search(self) -> None:
        text = self.search.text().strip()
        self._seq += 1
        seq = self._seq
        if len(text) < 2:
            return
        self.ctx.ops.run(lambda: catalog.search(self.ctx.store, text, 100, include_inactive=True),
                         success=lambda rows: self._show_results(seq, rows))

    def _show_results(self, seq: int, rows: list) -> None:
        if seq != self._seq:
            return
        self.results.blockSignals(True)
        self.results.setRowCount(len(rows))
        for r, row in enumerate(rows):
            name = row.name if row.active else messages.inactive_product(row.name)
            for c, text in enumerate((name, row.sku, self.ctx.money(row.price))):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.results.setItem(r, c, item)
        self.results.blockSignals(False)
        self.list_stack.setCurrentWidget(self.results if rows else self.list_empty)
        if not rows:
            self.list_empty.title.setText(f"Nothing matches “{self.search.text().strip()}”")

    def handle_scan(self, code: str) -> None:
        """A scanned code opens its product; an unknown one offers the quick-add form."""
        self.ctx.ops.run(lambda: catalog.line_for_scan(self.ctx.store, code, include_inactive=True),
                         success=lambda line: self.open_product(line.product_id),
                         failure=lambda exc: self._scan_failed(exc))

    def _scan_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, UnknownBarcode):
            if self.ctx.can(Action.PRODUCT_QUICK_ADD):
                self.dialog = offer_quick_add(self.ctx, self, exc.code, self.open_product)
            else:
                self.ctx.error(f"No product has barcode {exc.code}")
            return True
        if isinstance(exc, BarcodeError):
            self.ctx.error(str(exc))
            return True
        return False

    def new_product(self) -> None:
        """A product with no barcode yet: the quick-add form with an internal code."""
        from app.domain.ids import new_id

        code = f"IN{new_id()[-10:].upper()}"
        self.dialog = offer_quick_add(self.ctx, self, code, self.open_product)

    # -- the editor --------------------------------------------------------------------
    def _open_row(self, row: int) -> None:
        item = self.results.item(row, 0) if row >= 0 else None
        if item is not None:
            self.open_product(item.data(Qt.ItemDataRole.UserRole))

    def open_product(self, product_id: str) -> None:
        store = self.ctx.store
        self.ctx.ops.run(lambda: (catalog_edit.details(store, product_id),
                                  catalog_edit.price_history(store, product_id)),
                         success=lambda r: self._show_product(*r))

    def _show_product(self, details: dict, history: list) -> None:
        self.details = details
        money = self.ctx.currency
        self.editor_title.setText(f"{details['name']}   ·   {details['sku']}")
        values = {"name": details["name"], "price": format_plain(details["price"], money),
                  "barcodes": ", ".join(details["barcodes"]), "category": details["category"] or "",
                  "tax": percent_text(details["tax_rate_ppm"]),
                  "reorder": qty_text(details["reorder_level_milli"], details["sold_by_weight"]).removesuffix(" kg")}
        for key, value in values.items():
            self.fields[key].setText(value)
        self.active.setChecked(details["active"])
        self.error.setText("")
        self.history.clear()
        for change in reversed(history):
            when = change.changed_at.strftime("%Y-%m-%d %H:%M")
            was = self.ctx.money(change.old_price) if change.old_price is not None else "new"
            self.history.addItem(f"{when}    {was}  →  {self.ctx.money(change.new_price)}")
        self.editor_stack.setCurrentIndex(1)

    def edits(self) -> dict:
        """The fields changed in the form (raises ValueError naming the field that is wrong)."""
        d = self.details
        if d is None:
            return {}
        f = {k: w.text().strip() for k, w in self.fields.items()}
        try:
            price = parse(f["price"], self.ctx.currency)
        except MoneyError as exc:
            raise ValueError(f"Price: {exc}") from None
        tax = parse_percent(f["tax"])  # its message names the tax
        try:
            reorder = parse_qty(f["reorder"] or "0")
        except ValueError as exc:
            raise ValueError(f"Reorder level: {exc}") from None
        wanted = {"name": f["name"], "price": price, "barcodes": sorted(split_codes(f["barcodes"])),
                  "category": f["category"] or None, "tax_rate_ppm": tax, "reorder_level_milli": reorder,
                  "active": self.active.isChecked()}
        if not wanted["name"]:
            raise ValueError("Name: a product needs a name")
        if price < 0:
            raise ValueError("Price: cannot be negative")
        current = {**d, "barcodes": sorted(d["barcodes"])}
        return {k: v for k, v in wanted.items() if current[k] != v}

    def save(self) -> None:
        if self.details is None:
            return
        try:
            changes = self.edits()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        if not changes:
            self.error.setText("Nothing was changed")
            return
        pid, actor = self.details["id"], self.ctx.actor
        self.error.setText("")
        self.ctx.ops.run(lambda: catalog_edit.update_product(self.ctx.store, actor, pid, changes),
                         changes=CATALOG_CHANGES, success=lambda _e: self._saved(pid),
                         failure=self._save_failed)

    def _saved(self, pid: str) -> None:
        self.ctx.info("Product saved")
        self.open_product(pid)

    def _save_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ValueError):  # CatalogError, BarcodeError: they name the field
            self.error.setText(str(exc))
            return True
        return False

    def revert(self) -> None:
        if self.details is not None:
            self.open_product(self.details["id"])

    # -- labels -------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.results.selectionModel().selectedRows()})
        ids = [self.results.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        if not ids and self.details is not None:
            ids = [self.details["id"]]
        return ids

    def print_selected_labels(self) -> None:
        self.dialog = print_labels(self.ctx, self, self.selected_ids())

    # -- CSV ------------------------------------------------------------------------------
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import catalog CSV", str(Path.home()), "CSV (*.csv)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Import ``path`` off the GUI thread; progress shows in the bar; all or nothing."""
        actor, store, emit = self.ctx.actor, self.ctx.store, self._progress.moved.emit

        def run() -> catalog_csv.ImportReport:
            text = Path(path).read_text(encoding="utf-8-sig")
            return catalog_csv.import_csv(store, actor, text, source=Path(path).name, progress=emit)

        self.progress.setRange(0, 0)  # busy until the rows are validated
        self.progress.show()
        self.top_buttons["choose_import"].setEnabled(False)
        self.ctx.ops.run(run, changes=CATALOG_CHANGES, success=lambda r: self._imported(path, r),
                         failure=self._import_failed)

    def _moved(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _imported(self, path: Path, report: catalog_csv.ImportReport) -> None:
        self._import_done()
        if report.ok:
            self.ctx.info(f"Imported {Path(path).name}: {report.created} new, {report.updated} updated, "
                          f"{report.unchanged} unchanged")
            self.run_search()
        else:
            self.ctx.error(f"{Path(path).name} was not imported: {len(report.errors)} line(s) to fix")
            self.dialog = ImportReportDialog(str(path), report, self)
            refocus_after(self.dialog, self)
            self.dialog.open()
        self.import_finished.emit(report)

    def _import_failed(self, exc: BaseException) -> bool:
        self._import_done()
        report = catalog_csv.ImportReport(errors=[catalog_csv.LineError(0, str(exc))])
        self.import_finished.emit(report)
        if isinstance(exc, ValueError | OSError):  # unreadable file, bad encoding, a catalog rule
            self.ctx.error(f"The file was not imported: {exc}")
            return True
        return False

    def _import_done(self) -> None:
        self.progress.hide()
        self.top_buttons["choose_import"].setEnabled(True)

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export catalog CSV", str(Path.home() / "catalog.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_file(Path(path))

    def export_file(self, path: Path) -> None:
        store = self.ctx.store
        self.ctx.ops.run(lambda: catalog_csv.export_csv(store, path).count("\n") - 1,
                         success=lambda n: self.ctx.info(f"Exported {n} products to {path}"))

    # -- refresh --------------------------------------------------------------------------
    def _on_changes(self, changes: Changes) -> None:
        if changes.catalog and self.isVisible() and self.search.text().strip():
            self.run_search()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.search.setFocus()
