"""The catalog's product editor: a product's fields, whether it is sold, its price history.

Edits go through catalog_edit.update_product with only the fields that changed, so
they sync field by field. A wrong field is named next to the form; nothing is saved.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import MoneyError, format_plain, parse
from app.services import catalog_edit
from app.services.changes import Changes
from ui import messages
from ui.context import AppContext
from ui.screens.catalog_dialogs import parse_percent, percent_text
from ui.screens.inventory_widgets import parse_qty, qty_text
from ui.widgets.common import EmptyState, action_button, heading

CATALOG_CHANGES = Changes(catalog=True, outbox=True)
FIELDS = (("name", "Name"), ("price", "Price"), ("barcodes", "Barcodes"), ("category", "Category"),
          ("tax", "Tax %"), ("reorder", "Reorder level"))


def split_codes(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").replace("|", " ").split() if c]


class _NameLine(QLabel):
    """One line, cut with "…" to the room it has now (and again whenever that changes),
    the whole name in its tooltip."""

    def set_whole(self, text: str) -> None:
        self.setToolTip(text)
        self._cut()

    def _cut(self) -> None:
        room = max(self.contentsRect().width(), 40)
        self.setText(self.fontMetrics().elidedText(self.toolTip(), Qt.TextElideMode.ElideRight, room))

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self._cut()


class ProductEditor(QStackedWidget):
    """"No product open", or the open product's form; ``details`` is what was loaded."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.details: dict | None = None
        self.empty = EmptyState("box", "No product open", "Pick it from the list, search or scan it to edit it")
        panel = QFrame()
        panel.setObjectName("sidePanel")
        layout = QVBoxLayout(panel)
        self.title = _NameLine()
        self.title.setProperty("role", "title")
        self.title.setObjectName("editorTitle")
        # the name never widens the page (at 1024 px an open product pushed the editor and
        # Import/Export CSV off the right edge): it is cut to the room, whole in its tooltip
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.title)
        layout.addLayout(self._build_form())
        self.error = QLabel("")
        self.error.setObjectName("editError")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self._steady(self.title, 1)
        self._steady(self.error, 2)
        buttons = QHBoxLayout()
        self.revert_button = action_button("Revert", "Esc")
        self.revert_button.clicked.connect(self.revert)
        self.save_button = action_button("Save", "Ctrl+S", kind="primary")
        self.save_button.setText("Save  ·  Ctrl+S")  # one line of its 20 px: two were cut at 768 px
        self.save_button.setObjectName("saveProduct")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button, 2)
        layout.addLayout(buttons)
        layout.addWidget(heading("Price history", "label"))
        self.history = QListWidget()
        self.history.setObjectName("priceHistory")
        # a row at least (it scrolls): the list's own 70-px floor made the catalog page
        # 40 px taller than a 768-pixel till has under the notice bar's kept room
        self.history.setMinimumHeight(self.history.fontMetrics().lineSpacing() + 12)
        layout.addWidget(self.history, 1)
        self.addWidget(self.empty)
        self.addWidget(panel)

    @staticmethod
    def _steady(label: QLabel, lines: int) -> None:
        """A fixed room of ``lines`` lines whatever the label holds: a long name (one line,
        cut, whole in its tooltip) or an error that appears never moves the fields."""
        label.ensurePolished()
        label.setFixedHeight(label.fontMetrics().lineSpacing() * lines + 6)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        label.setWordWrap(lines > 1)

    def _set_title(self, text: str) -> None:
        self.title.set_whole(text)

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for key, label in FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"edit_{key}")
            edit.returnPressed.connect(self.save)
            form.addRow(label, edit)
            self.fields[key] = edit
        self.fields["barcodes"].setPlaceholderText("codes separated by commas")
        self.price_label = form.labelForField(self.fields["price"])
        self.active = QCheckBox("Active (sold at the till)")
        self.active.setObjectName("edit_active")
        form.addRow("", self.active)
        return form

    def open_product(self, product_id: str) -> None:
        store = self.ctx.store
        self.ctx.ops.run(lambda: (catalog_edit.details(store, product_id),
                                  catalog_edit.price_history(store, product_id)),
                         success=lambda r: self._show_product(*r))

    def _show_product(self, details: dict, history: list) -> None:
        self.details = details
        money = self.ctx.currency
        self._set_title(f"{details['name']}   ·   {details['sku']}")
        values = {"name": details["name"], "price": format_plain(details["price"], money),
                  "barcodes": ", ".join(details["barcodes"]), "category": details["category"] or "",
                  "tax": percent_text(details["tax_rate_ppm"]),
                  "reorder": qty_text(details["reorder_level_milli"], details["sold_by_weight"]).removesuffix(" kg")}
        for key, value in values.items():
            self.fields[key].setText(value)
            self.fields[key].setCursorPosition(0)  # a long name shows its start, not its end
        self.active.setChecked(details["active"])
        by_weight = bool(details["sold_by_weight"])
        self.price_label.setText("Price per kg" if by_weight else "Price")  # it read "Price", as for one
        self.error.setText("")
        self.history.clear()
        for change in reversed(history):
            when = change.changed_at.strftime("%Y-%m-%d %H:%M")
            was = (messages.unit_price(self.ctx.money(change.old_price), by_weight)
                   if change.old_price is not None else "new")
            self.history.addItem(f"{when}    {was}  →  {messages.unit_price(self.ctx.money(change.new_price), by_weight)}")
        self.setCurrentIndex(1)

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
