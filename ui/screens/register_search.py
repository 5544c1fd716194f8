"""The register's scan field and the name/SKU search results under it.

What a cashier types there is one of three things: a barcode or receipt reference,
part of a name or SKU, or nothing (Enter then means pay). Telling them apart, searching
as they type without waiting on the GUI thread, and dropping the answer to a query
that was typed over is this widget's job; the register only hears the outcome.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.domain.ids import parse_reference
from app.services import catalog
from app.services.catalog import ProductRow
from ui import messages
from ui.context import AppContext

#: Results shown under the field: enough to pick from, few enough to read at a glance.
RESULTS_SHOWN = 20


def looks_like_code(text: str) -> bool:
    """A receipt reference or a barcode typed by hand (names and SKUs are searched)."""
    return bool(parse_reference(text)) or (text.isdigit() and len(text) >= 6)


class ItemSearch(QWidget):
    """Emits ``code_entered(code)``, ``product_chosen(product_id)`` or ``pay_requested()``."""

    code_entered = Signal(str)
    product_chosen = Signal(str)
    pay_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._seq = 0  # the newest query; answers to older ones are dropped
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self._run_search)
        self.field = QLineEdit()
        self.field.setObjectName("scanField")
        self.field.setPlaceholderText(messages.SCAN_PLACEHOLDER)
        self.field.setClearButtonEnabled(True)
        self.field.textEdited.connect(lambda _t: self._timer.start())
        self.field.returnPressed.connect(self._entered)
        self.field.installEventFilter(self)
        self.results = QListWidget()
        self.results.setObjectName("searchResults")
        self.results.hide()
        self.results.itemActivated.connect(self._choose)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field)
        layout.addWidget(self.results)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Down arrow from the scan field moves into the search results."""
        if (watched is self.field and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Down and self.results.isVisible() and self.results.count()):
            self.results.setFocus()
            self.results.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    @property
    def in_use(self) -> bool:
        """Something typed or results shown: Esc clears these before anything else."""
        return bool(self.field.text()) or self.results.isVisible()

    def clear(self) -> None:
        """Empty the field and drop results, including searches still running."""
        self._seq += 1
        self._timer.stop()
        self.field.clear()
        self.results.clear()
        self.results.hide()

    def _entered(self) -> None:
        text = self.field.text().strip()
        if not text:
            self.pay_requested.emit()
        elif looks_like_code(text):
            self.clear()
            self.code_entered.emit(text)
        elif self.results.count():
            self._choose(self.results.currentItem() or self.results.item(0))
        else:
            self._timer.stop()
            self._run_search(add_first=True)

    def _run_search(self, add_first: bool = False) -> None:
        text = self.field.text().strip()
        self._seq += 1
        seq = self._seq
        if len(text) < 2 or text.isdigit():
            self.results.hide()
            return
        self.ctx.ops.run(lambda: catalog.search(self.ctx.store, text, RESULTS_SHOWN),
                         success=lambda rows: self._show_results(seq, rows, add_first))

    def _show_results(self, seq: int, rows: list[ProductRow], add_first: bool) -> None:
        if seq != self._seq:
            return  # an older query finished after a newer one started
        self.results.clear()
        for row in rows:
            item = QListWidgetItem(f"{row.name}    ·    {row.sku}    ·    {self.ctx.money(row.price)}")
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            self.results.addItem(item)
        self.results.setVisible(bool(rows))
        if not rows:
            self.ctx.info(f"Nothing matches “{self.field.text().strip()}”")
        elif add_first:
            self._choose(self.results.item(0))

    def _choose(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        product_id = item.data(Qt.ItemDataRole.UserRole)
        self.clear()
        self.field.setFocus()
        self.product_chosen.emit(product_id)
