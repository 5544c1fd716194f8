"""Stock work: count sessions, receiving, adjustments with a reason, the low-stock list,
and the reconciliation list (what to recount or accept).

One tab each (inventory_count.py, inventory_forms.py, inventory_low.py,
inventory_reconcile.py); this screen
holds the tabs, their keys, and routes a scan to whichever tab is open.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.inventory_count import CountPage
from ui.screens.inventory_forms import AdjustPage, ReceivePage
from ui.screens.inventory_low import LowStockPage
from ui.screens.inventory_reconcile import ReconcilePage
from ui.widgets.common import heading

COUNT, RECEIVE, ADJUST, LOW, RECONCILE = range(5)


class InventoryScreen(QWidget):
    """``row_shown(product_id)`` fires after a counted product's row is on screen (tests, benchmark)."""

    row_shown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("inventoryScreen")
        self.counting = CountPage(ctx)
        self.receiving = ReceivePage(ctx)
        self.adjusting = AdjustPage(ctx)
        self.low_stock = LowStockPage(ctx)
        self.reconcile = ReconcilePage(ctx)
        self.reconcile.recount_asked.connect(self.recount)
        # what the stock-count benchmark drives and watches
        self.count_picker, self.count_table, self.model = (self.counting.picker, self.counting.table,
                                                           self.counting.model)
        self.counting.row_shown.connect(self.row_shown)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Inventory"))
        self.tabs = QTabWidget()
        self.tabs.setObjectName("inventoryTabs")
        for i, (page, label) in enumerate(((self.counting, "Count"), (self.receiving, "Receive"),
                                           (self.adjusting, "Adjust"), (self.low_stock, "Low stock"),
                                           (self.reconcile, "Reconcile"))):
            self.tabs.addTab(page, f"{label}  (Ctrl+{i + 1})")
            self.tabs.setTabToolTip(i, f"{label} (Ctrl+{i + 1})")
        self._tab_words = [(self.tabs.tabText(i), self.tabs.tabText(i).split("  (")[0])
                           for i in range(self.tabs.count())]
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self._bind_keys()
        ctx.ops.changed.connect(self._on_changes)

    @property
    def session(self):
        """The count session in progress (a new one after each commit or start-over)."""
        return self.counting.session

    def _bind_keys(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        count, low, rec = self.counting, self.low_stock, self.reconcile
        keys = {"edit_count": ("F3", count.edit_count), "review_key": ("F5", count.review_key),
                "new_count": ("F9", count.new_count), "commit": ("F12", count.commit),
                "submit": ("Ctrl+Return", self.submit), "print_low_labels": ("Ctrl+P", low.print_labels),
                "refresh_low": ("Ctrl+R", self.refresh_list), "focus_scan": ("F2", self.focus_scan),
                "recount": ("F6", rec.recount), "accept": ("F7", rec.accept)}
        self.shortcuts: dict[str, QShortcut] = {}
        for name, (key, slot) in keys.items():
            sc = QShortcut(QKeySequence(key), self, context=context)
            sc.activated.connect(slot)
            self.shortcuts[name] = sc
        for i in range(5):
            sc = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, context=context)
            sc.activated.connect(lambda i=i: self.tabs.setCurrentIndex(i))

    def handle_scan(self, code: str) -> None:
        """A scanner code: counted, or picked for receiving/adjusting, by the open tab."""
        tab = self.tabs.currentIndex()
        if tab == RECEIVE:
            self.receiving.pick_code(code)
        elif tab == ADJUST:
            self.adjusting.pick_code(code)
        else:
            self.tabs.setCurrentIndex(COUNT)
            self.counting.count_scan(code)

    def focus_scan(self) -> None:
        page = self.tabs.currentWidget()
        if page not in (self.low_stock, self.reconcile):
            page.focus_scan()

    def refresh_list(self) -> None:
        """Ctrl+R: the list on screen, read again."""
        (self.reconcile if self.tabs.currentIndex() == RECONCILE else self.low_stock).refresh()

    def recount(self, product_id: str) -> None:
        """From the reconciliation list: count this product again, on the count tab."""
        self.tabs.setCurrentIndex(COUNT)
        self.counting.recount(product_id)

    def submit(self) -> None:
        if self.tabs.currentIndex() in (RECEIVE, ADJUST):
            self.tabs.currentWidget().submit()

    def _tab_changed(self, index: int) -> None:
        if index == LOW:
            self.low_stock.refresh()
        elif index == RECONCILE:
            self.reconcile.refresh()
        self.focus_scan()

    def _on_changes(self, changes: Changes) -> None:
        if changes.catalog:
            self.counting.forget_codes()
        if (changes.stock or changes.catalog) and self.isVisible() and self.tabs.currentIndex() == LOW:
            self.low_stock.refresh()
        if changes.stock and self.isVisible() and self.tabs.currentIndex() == RECONCILE:
            self.reconcile.refresh()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        """Every tab in sight: with no room for the keys in their names (a 1024-pixel till),
        the names alone (the keys in their tooltips), never a tab behind scroll arrows."""
        bar = self.tabs.tabBar()
        for i, (full, _short) in enumerate(self._tab_words):
            self.tabs.setTabText(i, full)
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right() - 4
        if sum(bar.tabSizeHint(i).width() for i in range(bar.count())) > room:
            for i, (_full, short) in enumerate(self._tab_words):
                self.tabs.setTabText(i, short)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.tabs.currentIndex() == LOW:
            self.low_stock.refresh()
        elif self.tabs.currentIndex() == RECONCILE:
            self.reconcile.refresh()
        self.focus_scan()
