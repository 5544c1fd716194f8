"""The catalog: find a product, open it in the editor, print labels, import and export CSV.

With nothing typed the list shows every product A to Z, a page at a time as it is
scrolled or walked with the arrow keys, filtered by category
(app/services/catalog_browse.py); a row opens in the editor as it becomes current.

The editor (fields, active or not, price history) is catalog_editor.py. The CSV
import validates the whole file off the GUI thread with a progress bar; a bad file
shows every bad line and imports nothing. A scan opens the product, or offers to add
it when the code is unknown. The search lists inactive products too, marked so. It
searches once typing pauses and never shows the answer to a query typed over, with
the same logic as the register's scan field (ui/widgets/live_search.py).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.barcode import BarcodeError
from app.domain.permissions import Action
from app.domain.words import count_of
from app.services import catalog, catalog_browse, catalog_csv
from app.services.catalog import UnknownBarcode
from app.services.changes import Changes
from ui import messages
from ui.context import AppContext
from ui.screens.catalog_dialogs import (
    ImportReportDialog,
    offer_quick_add,
    print_labels,
    refocus_after,
)
from ui.screens.catalog_editor import CATALOG_CHANGES, ProductEditor
from ui.widgets.common import EmptyState, action_button, heading
from ui.widgets.live_search import LiveSearch


class _Progress(QObject):
    """Carries import_csv's progress callback from the worker thread to the GUI thread."""

    moved = Signal(int, int)


class _Browsing:
    """Where the browsable list is: its category, the last row shown, whether more follow."""

    def __init__(self, category: str | None) -> None:
        self.category = category
        self.after: tuple[str, str] | None = None
        self.more = False
        self.loading = False
        self.shown = 0


class CatalogScreen(QWidget):
    """``import_finished(report)`` fires when an import ends, good or bad (tests)."""

    import_finished = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("catalogScreen")
        self.dialog: QWidget | None = None
        self.browsing: _Browsing | None = None  # None while a search's answer is shown
        self.live = LiveSearch(ctx.ops, self.run_search, parent=self)
        self._progress = _Progress(self)
        self._progress.moved.connect(self._moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)  # fits a 1024x768 till with the editor open
        layout.addLayout(self._build_top())
        self.progress = QProgressBar()
        self.progress.setObjectName("importProgress")
        self.progress.setFormat("Importing… %v of %m rows")
        self.progress.hide()
        layout.addWidget(self.progress)
        body = QHBoxLayout()
        body.setSpacing(16)
        body.addLayout(self._build_list(), 1)
        self.editor = ProductEditor(ctx)
        self.active = self.editor.active
        body.addWidget(self.editor, 1)
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
        # whole in the field at 1024 px ("Search by name or SKU, or scan a barcode…" was cut there)
        self.search.setPlaceholderText("Name or SKU, or scan it")
        self.search.setClearButtonEnabled(True)
        self.search.textEdited.connect(self.live.typed)
        self.search.returnPressed.connect(self._entered)
        box.addWidget(self.search)
        browse = QHBoxLayout()  # the list with nothing typed: every product, by category, A to Z
        self.category = QComboBox()
        self.category.setObjectName("catalogCategory")
        self.category.addItem("All categories", None)
        # as wide as the room, not as the longest category: the page fits a 1024-pixel till
        self.category.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category.setMinimumContentsLength(10)
        self.category.activated.connect(lambda _i: self.browse_first())
        self.browse_info = QLabel("")
        self.browse_info.setObjectName("catalogBrowseInfo")
        self.browse_info.setProperty("role", "subtle")
        browse.addWidget(self.category, 1)
        browse.addWidget(self.browse_info)
        box.addLayout(browse)
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
        # browsing: the next page loads as the list nears its end (scrolled, or by the keys)
        self.results.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.list_stack.addWidget(self.list_empty)
        self.list_stack.addWidget(self.results)
        box.addWidget(self.list_stack, 1)
        return box

    def _bind_keys(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, slot in (("Ctrl+S", self.editor.save), ("Escape", self.editor.revert), ("F2", self.focus_search),
                          ("Ctrl+N", self.new_product), ("Ctrl+P", self.print_selected_labels),
                          ("Ctrl+I", self.choose_import), ("Ctrl+E", self.choose_export)):
            QShortcut(QKeySequence(key), self, context=context).activated.connect(slot)
        # Down from the search field into what it found (Enter only searched again)
        QShortcut(QKeySequence(Qt.Key.Key_Down), self.search,
                  context=Qt.ShortcutContext.WidgetShortcut).activated.connect(self._into_results)

    def _into_results(self) -> None:
        if self.list_stack.currentWidget() is self.results and self.results.rowCount():
            self.results.setFocus(Qt.FocusReason.OtherFocusReason)
            self.results.selectRow(max(0, self.results.currentRow()))

    # -- search and scans ------------------------------------------------------------
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _entered(self) -> None:
        text = self.search.text().strip()
        if text.isdigit() and len(text) >= 6:
            self.live.drop()  # a code typed by hand: its product opens, its digits are not searched
            self.handle_scan(text)
        else:
            self.run_search()

    def run_search(self) -> None:
        """Search for what is typed now (the pause in typing, Enter, or a catalog change does this)."""
        text = self.search.text().strip()
        if not text:
            self.browse_first()  # nothing typed: the browsable list
            return
        if len(text) < 2:
            self.live.drop()  # the list keeps what it shows
            return
        self.browsing = None
        store = self.ctx.store
        self.live.ask(lambda: catalog.search(store, text, 100, include_inactive=True),
                      lambda rows: self._show_results(text, rows))

    # -- browsing -------------------------------------------------------------------
    def browse_first(self) -> None:
        """The first page of the chosen category (every product when "All categories")."""
        self.live.drop()
        store, category = self.ctx.store, self.category.currentData()
        self.browsing = _Browsing(category)
        self.ctx.ops.run(lambda: catalog_browse.browse(store, category),
                         success=lambda page: self._browsed(category, page, append=False))

    def browse_more(self) -> None:
        """The next page, appended (nothing when the list is complete or a page is on its way)."""
        b = self.browsing
        if b is None or not b.more or b.loading or b.after is None:
            return
        b.loading = True
        store, category, after = self.ctx.store, b.category, b.after
        self.ctx.ops.run(lambda: catalog_browse.browse(store, category, after),
                         success=lambda page: self._browsed(category, page, append=True))

    def _browsed(self, category: str | None, page: catalog_browse.BrowsePage, *, append: bool) -> None:
        b = self.browsing
        if b is None or b.category != category or self.search.text().strip():
            return  # a search or another category was asked for meanwhile
        b.loading, b.more = False, page.more
        b.after = page.after or b.after
        self._fill(page.rows, append=append)
        b.shown = self.results.rowCount()
        # "60+ products" while more follow (they load as the list is scrolled): short, to fit 1024 px
        self.browse_info.setText(f"{b.shown}+ products" if page.more else count_of(b.shown, "product"))
        if not b.shown:
            self.list_stack.setCurrentWidget(self.list_empty)
            self.list_empty.title.setText("No products in this category")

    def _scrolled(self, value: int) -> None:
        bar = self.results.verticalScrollBar()
        if self.browsing is not None and value >= bar.maximum() - 2 * self.results.verticalHeader().defaultSectionSize():
            self.browse_more()

    def load_categories(self) -> None:
        store = self.ctx.store
        self.ctx.ops.run(lambda: catalog_browse.categories(store), success=self._show_categories)

    def _show_categories(self, found: list) -> None:
        chosen = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem("All categories", None)
        for c in found:
            self.category.addItem(f"{c.name} ({c.products})", c.id)
        index = self.category.findData(chosen)
        self.category.setCurrentIndex(max(index, 0))
        self.category.blockSignals(False)

    def _show_results(self, text: str, rows: list) -> None:
        self._fill(rows)
        self.browse_info.setText("")
        if not rows:
            self.list_empty.title.setText(f"Nothing matches “{text}”")

    def _fill(self, rows: list, *, append: bool = False) -> None:
        self.results.blockSignals(True)
        start = self.results.rowCount() if append else 0
        self.results.setRowCount(start + len(rows))
        for r, row in enumerate(rows, start):
            name = row.name if row.active else messages.inactive_product(row.name)
            for c, text in enumerate((name, row.sku, messages.unit_price(self.ctx.money(row.price), row.sold_by_weight))):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.results.setItem(r, c, item)
        self.results.blockSignals(False)
        self.list_stack.setCurrentWidget(self.results if self.results.rowCount() else self.list_empty)

    def handle_scan(self, code: str) -> None:
        """A scanned code opens its product; an unknown one offers the quick-add form."""
        self.ctx.ops.run(lambda: catalog.line_for_scan(self.ctx.store, code, include_inactive=True),
                         success=lambda line: self.editor.open_product(line.product_id),
                         failure=lambda exc: self._scan_failed(exc))

    def _scan_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, UnknownBarcode):
            if self.ctx.can(Action.PRODUCT_QUICK_ADD):
                self.dialog = offer_quick_add(self.ctx, self, exc.code, self.editor.open_product)
            else:
                self.ctx.error(messages.unknown_barcode(exc.code, exc.case_hint))
            return True
        if isinstance(exc, BarcodeError):
            self.ctx.error(str(exc))
            return True
        return False

    def new_product(self) -> None:
        """A product with no barcode yet: the quick-add form with an internal code."""
        from app.domain.ids import new_id

        code = f"IN{new_id()[-10:].upper()}"
        self.dialog = offer_quick_add(self.ctx, self, code, self.editor.open_product)

    @property
    def details(self) -> dict | None:
        """The product open in the editor, as loaded."""
        return self.editor.details

    def _open_row(self, row: int) -> None:
        item = self.results.item(row, 0) if row >= 0 else None
        if item is not None:
            self.editor.open_product(item.data(Qt.ItemDataRole.UserRole))
        if row >= self.results.rowCount() - 3:  # the arrow keys near the end: the next page
            self.browse_more()

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

        def run() -> catalog_csv.ImportReport:  # bytes that are not UTF-8 are named by line
            return catalog_csv.import_file(store, actor, Path(path), progress=emit)

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
            self.ctx.error(f"{Path(path).name} was not imported: {count_of(len(report.errors), 'line')} to fix")
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
        if changes.catalog and self.isVisible():
            self.load_categories()
            if self.search.text().strip():
                self.run_search()
            elif self.browsing is not None:
                self._refresh_browse()

    def _refresh_browse(self) -> None:
        """The browsed rows again after a change (as many as were shown), the place kept."""
        b, store = self.browsing, self.ctx.store
        if b is None:
            return
        category, count = b.category, max(b.shown, catalog_browse.PAGE)
        current = self.results.currentRow()
        self.ctx.ops.run(lambda: catalog_browse.browse(store, category, None, count),
                         success=lambda page: self._rebrowsed(category, page, current))

    def _rebrowsed(self, category: str | None, page: catalog_browse.BrowsePage, current: int) -> None:
        self._browsed(category, page, append=False)
        if 0 <= current < self.results.rowCount():
            self.results.blockSignals(True)
            self.results.setCurrentCell(current, 0)
            self.results.blockSignals(False)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.search.setFocus()
        self.load_categories()
        if not self.search.text().strip() and self.browsing is None:
            self.browse_first()
