"""A scan field with name/SKU search results under it: the register's and the stock screens'.

What someone types there is one of three things: a barcode (or another code the
screen knows), part of a name or SKU, or nothing. Telling them apart, searching as
they type without waiting on the GUI thread, and dropping the answer to a query that
was typed over is this widget's job (the timing and the dropping are live_search.py's,
shared with the catalog screen's list); the screen only hears the outcome. What differs
between screens (what counts as a code, how many results, whether prices show,
whether inactive products are found) is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.services import catalog
from app.services.catalog import ProductRow
from ui import messages
from ui.context import AppContext
from ui.widgets.live_search import DELAY_MS, LiveSearch

#: Results shown under the field: enough to pick from, few enough to read at a glance.
RESULTS_SHOWN = 20
#: Between the separators of a result line: name, SKU and (where shown) price.
SEPARATOR = "    ·    "


def looks_like_barcode(text: str) -> bool:
    """A barcode typed by hand: six digits or more (shorter digits are neither code nor search)."""
    return text.isdigit() and len(text) >= 6


class ProductSearch(QWidget):
    """Emits ``code_entered(code)``, ``product_chosen(row)`` (a ProductRow) or ``empty_entered()``.

    ``is_code`` says which typed texts are codes rather than searches; ``limit`` caps
    the results; ``show_price`` adds the price to each result; ``include_inactive``
    also finds products a manager made inactive, marked "(inactive)" (for screens
    that manage stock, not for the till); ``delay_ms`` is the pause in typing after
    which the search runs.
    """

    code_entered = Signal(str)
    product_chosen = Signal(object)
    empty_entered = Signal()

    def __init__(self, ctx: AppContext, placeholder: str, *, is_code: Callable[[str], bool] = looks_like_barcode,
                 limit: int = RESULTS_SHOWN, show_price: bool = False, include_inactive: bool = False,
                 delay_ms: int = DELAY_MS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.is_code, self.limit = is_code, limit
        self.show_price, self.include_inactive = show_price, include_inactive
        self._answered = ""  # the text the results shown are the answer to
        self.live = LiveSearch(ctx.ops, self.run_search, delay_ms=delay_ms, parent=self)
        self.field = QLineEdit()
        self.field.setObjectName("scanField")
        self.field.setPlaceholderText(placeholder)
        self.field.setClearButtonEnabled(True)
        self.field.textEdited.connect(self.live.typed)
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
        """Down arrow from the field moves into the search results."""
        if (watched is self.field and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Down and self.results.isVisible() and self.results.count()):
            self.results.setFocus()
            self.results.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    @property
    def in_use(self) -> bool:
        """Something typed or results shown (Esc on the register clears these first)."""
        return bool(self.field.text()) or self.results.isVisible()

    def clear(self) -> None:
        """Empty the field and drop results, including searches still running."""
        self.live.drop()
        self.field.clear()
        self._drop_results()

    def _drop_results(self) -> None:
        self._answered = ""
        self.results.clear()
        self.results.hide()

    def result_text(self, row: ProductRow) -> str:
        """One line of the results: name (marked when inactive), SKU, and the price if shown."""
        name = row.name if row.active else messages.inactive_product(row.name)
        price = messages.unit_price(self.ctx.money(row.price), row.sold_by_weight)
        parts = (name, row.sku, price) if self.show_price else (name, row.sku)
        return SEPARATOR.join(parts)

    def _entered(self) -> None:
        text = self.field.text().strip()
        if not text:
            self.empty_entered.emit()
        elif self.is_code(text):
            self.clear()
            self.code_entered.emit(text)
        elif self.results.count() and self._answered == text:
            self._choose(self.results.currentItem() or self.results.item(0))
        else:
            self.run_search(choose_first=True)

    def run_search(self, choose_first: bool = False) -> None:
        """Search for what is typed now (the pause in typing does this); ``choose_first``: Enter did."""
        text = self.field.text().strip()
        if len(text) < 2 or text.isdigit():
            self.live.drop()
            self._drop_results()
            return
        store, limit, include_inactive = self.ctx.store, self.limit, self.include_inactive
        self.live.ask(lambda: catalog.search(store, text, limit, include_inactive=include_inactive),
                      lambda rows: self._show_results(text, rows, choose_first))

    def _show_results(self, text: str, rows: list[ProductRow], choose_first: bool) -> None:
        self.results.clear()
        self._answered = text
        for row in rows:
            item = QListWidgetItem(self.result_text(row))
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.results.addItem(item)
        self.results.setVisible(bool(rows))
        self._fit_results()
        if not rows:
            self.ctx.info(f"Nothing matches “{text}”")
        elif choose_first:
            self._choose(self.results.item(0))

    def _fit_results(self) -> None:
        """As tall as its rows, up to six (then it scrolls): no big empty box under one hit."""
        if self.results.count():
            rows = self.results.sizeHintForRow(0) * min(self.results.count(), 6)
            self.results.setFixedHeight(rows + 2 * self.results.frameWidth() + 4)

    def _choose(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        row = item.data(Qt.ItemDataRole.UserRole)
        self.clear()
        self.field.setFocus()
        self.product_chosen.emit(row)
