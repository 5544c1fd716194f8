"""The receive and adjust tabs: pick a product, say how much and why, keep a log of the session.

Both are the same form around different fields: a delivery has a quantity and the
supplier's reference, an adjustment a signed change, a reason and a note. A scan or a
typed code picks the product like a scan on the count tab (an unknown code offers
quick-add); a name search also finds inactive products, which are still on the shelf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import inventory
from app.services.catalog import ProductRow
from ui.context import AppContext
from ui.screens.inventory_widgets import (
    STOCK_CHANGES,
    ProductPicker,
    explain_scan_failure,
    parse_qty,
    product_for_scan,
    qty_text,
)
from ui.widgets.common import HintedList, action_button, heading

REASONS = (("damage", "Damaged"), ("theft", "Theft / missing"), ("correction", "Correction"),
           ("expired", "Expired"))


@dataclass(frozen=True)
class Entry:
    """One filled-in form: the stock movement to write, and what to say once it is written."""

    write: Callable  # (store, actor) -> the movement
    log_line: str
    notice: str


class StockForm(QWidget):
    """A product picker over a form; ``submit()`` writes the entry the form describes."""

    title = placeholder = log_title = log_hint = button_label = name = ""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.dialog: QWidget | None = None
        layout = QHBoxLayout(self)
        form_box = QVBoxLayout()
        form_box.addWidget(heading(self.title, "title"))
        self.picker = ProductPicker(ctx, self.placeholder)
        self.picker.code_entered.connect(self.pick_code)
        form_box.addWidget(self.picker)
        form = QFormLayout()
        edits = self.build_fields(form)
        # the first field's text selected: typing replaces it (the quantity's "1" then "12"
        # received 112)
        self.picker.picked.connect(lambda _row: (edits[0].setFocus(), edits[0].selectAll()))
        for edit in edits:
            edit.returnPressed.connect(self.submit)
        form_box.addLayout(form)
        self.error = QLabel("")
        self.error.setProperty("level", "error")
        form_box.addWidget(self.error)
        self.button = action_button(self.button_label, "Ctrl+Enter", kind="primary")
        self.button.setObjectName(f"{self.name}Button")
        self.button.clicked.connect(self.submit)
        form_box.addWidget(self.button)
        form_box.addStretch(1)
        layout.addLayout(form_box, 3)
        self.log = HintedList(self.log_hint)  # an empty pane says what fills it
        self.log.setObjectName(f"{self.name}Log")
        log_box = QVBoxLayout()
        log_box.setContentsMargins(0, 0, 0, 0)
        log_box.addWidget(heading(self.log_title, "label"))
        log_box.addWidget(self.log, 1)
        layout.addLayout(log_box, 2)

    def build_fields(self, form: QFormLayout) -> list[QLineEdit]:
        """Add the fields to ``form``; returns the line edits (Enter submits; the first gets
        the keys once a product is picked)."""
        raise NotImplementedError

    def read(self, product: ProductRow) -> Entry:
        """The entry the fields describe (raises ValueError with a message for the person)."""
        raise NotImplementedError

    def clear_fields(self) -> None:
        raise NotImplementedError

    def focus_scan(self) -> None:
        self.picker.field.setFocus()
        self.picker.field.selectAll()

    def pick_code(self, code: str) -> None:
        """A scanned or typed code: the form is about the product it finds."""
        self.ctx.ops.run(lambda: product_for_scan(self.ctx.store, code), success=self.picker.set_product,
                         failure=lambda exc: explain_scan_failure(self, exc, lambda _pid: self.pick_code(code)))

    def submit(self) -> None:
        product = self.picker.current
        try:
            if product is None:
                raise ValueError("Scan or choose the product first")
            entry = self.read(product)
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        store, actor = self.ctx.store, self.ctx.actor
        self.ctx.ops.run(lambda: entry.write(store, actor), changes=STOCK_CHANGES,
                         success=lambda _movement: self._written(entry), failure=self._failed)

    def _written(self, entry: Entry) -> None:
        self.log.insertItem(0, entry.log_line)
        self.picker.reset()
        self.clear_fields()
        self.picker.field.setFocus()
        self.ctx.info(entry.notice)

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ValueError):
            self.error.setText(str(exc))
            return True
        return False


class ReceivePage(StockForm):
    """A delivery: how many came in, and the supplier's reference."""

    # whole in its field at 1024 px ("Scan or search the product rece…" was cut there)
    title, placeholder = "Receive a delivery", "Scan or search the product…"
    log_title, button_label, name = "Received this session", "Receive", "receive"
    log_hint = "Nothing received yet. Scan a product, type the quantity, then Ctrl+Enter."

    def build_fields(self, form: QFormLayout) -> list[QLineEdit]:
        self.qty = QLineEdit("1")
        self.qty.setObjectName("receiveQty")
        self.ref = QLineEdit()
        self.ref.setObjectName("receiveRef")
        self.ref.setPlaceholderText("delivery note / PO number")
        form.addRow("Quantity", self.qty)
        form.addRow("Supplier reference", self.ref)
        return [self.qty, self.ref]

    def read(self, product: ProductRow) -> Entry:
        qty = parse_qty(self.qty.text(), allow_zero=False)
        ref = self.ref.text().strip() or None
        return Entry(lambda store, actor: inventory.receive(store, actor, product.id, qty, ref),
                     f"+{qty_text(qty)}  {product.name}" + (f"   ({ref})" if ref else ""),
                     f"Received {qty_text(qty)} × {product.name}")

    def clear_fields(self) -> None:
        self.qty.setText("1")


class AdjustPage(StockForm):
    """A change found outside a count: damaged, missing, expired or corrected, with a note."""

    title, placeholder = "Adjust stock", "Scan or search the product…"
    log_title, button_label, name = "Adjusted this session", "Adjust", "adjust"
    log_hint = "Nothing adjusted yet. Scan a product, type the change and a reason, then Ctrl+Enter."

    def build_fields(self, form: QFormLayout) -> list[QLineEdit]:
        self.qty = QLineEdit()
        self.qty.setObjectName("adjustQty")
        self.qty.setPlaceholderText("−2 to remove, 3 to add")
        self.reason = QComboBox()
        self.reason.setObjectName("adjustReason")
        for value, label in REASONS:
            self.reason.addItem(label, value)
        self.note = QLineEdit()
        self.note.setPlaceholderText("optional note")
        form.addRow("Change (±)", self.qty)
        form.addRow("Reason", self.reason)
        form.addRow("Note", self.note)
        return [self.qty, self.note]

    def read(self, product: ProductRow) -> Entry:
        qty = parse_qty(self.qty.text(), allow_negative=True, allow_zero=False)
        reason, note = self.reason.currentData(), self.note.text().strip() or None
        signed = qty_text(qty, signed=True)
        return Entry(lambda store, actor: inventory.adjust(store, actor, product.id, qty, reason, note),
                     f"{signed}  {product.name}  ({reason})", f"Adjusted {product.name} by {signed}")

    def clear_fields(self) -> None:
        self.qty.clear()
        self.note.clear()
