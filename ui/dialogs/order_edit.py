"""Edit a pending order: customer name/phone, line quantities, note, and why.

The dialog stays open while the edit is saved: ``submitted`` asks the caller to save,
and the caller either closes it (``saved``) or shows why not (``fail``), so a refused
edit (a quantity the rules do not allow) keeps everything that was typed.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.cart import CartLine
from app.services import catalog
from app.services.customers import CustomerDetails
from app.services.order_detail import LineView, OrderDetail
from app.services.order_edits import LineChange
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.screens.order_detail_format import qty


def _line_name(li: LineView) -> str:
    """The item, and how many of it were refunded (that many cannot be edited away)."""
    if not li.refunded_qty_milli:
        return li.name
    return f"{li.name}  ·  {qty(li.refunded_qty_milli)} refunded"


class EditOrderDialog(FormDialog):
    """What to pass to ``order_edits.edit_order``: only what the person changed."""

    submitted = Signal()

    def __init__(self, detail: OrderDetail, money, parent: QWidget | None = None,  # noqa: ANN001
                 ctx: AppContext | None = None) -> None:
        super().__init__(f"Edit order {detail.reference}", parent, width=680)
        self.setObjectName("editOrderDialog")
        self.detail, self.money, self.ctx = detail, money, ctx
        self.added: list[tuple[CartLine, QDoubleSpinBox]] = []  # new lines and their quantities
        current = detail.customer
        self.name = QLineEdit(current.name or "" if current else "")
        self.name.setObjectName("editCustomerName")
        self.phone = QLineEdit(current.phone or "" if current else "")
        self.phone.setObjectName("editCustomerPhone")
        self.note = QLineEdit(detail.note or "")
        self.note.setObjectName("editNote")
        self.reason = QLineEdit()
        self.reason.setObjectName("editReason")
        self.reason.setPlaceholderText("Why? (shown in the audit trail)")
        self.reason.returnPressed.connect(self._try_accept)
        self.form.addRow("Customer name", self.name)
        self.form.addRow("Phone", self.phone)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("editLines")
        self.table.setHorizontalHeaderLabels(["Item", "Price", "Quantity (0 removes)"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(48)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.spins: dict[str, QDoubleSpinBox] = {}
        for li in detail.lines:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(_line_name(li)))
            self.table.setItem(row, 1, QTableWidgetItem(money(li.unit_price)))
            self.table.setCellWidget(row, 2, self._quantity(row, li))
        self.table.setMinimumHeight(min(300, 60 + 48 * (len(detail.lines) + 1)))
        self.body.insertWidget(2, self.table)
        self.add_item = QLineEdit()
        self.add_item.setObjectName("editAddItem")
        self.add_item.setPlaceholderText("Add an item: name or SKU, then Enter")
        self.add_item.returnPressed.connect(self._find_item)
        self.add_item.setVisible(ctx is not None and detail.plan is None)  # a plan's lines do not change
        self.body.insertWidget(3, self.add_item)
        self.form.addRow("Note", self.note)
        self.form.addRow("Reason", self.reason)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("editSave")
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)

    def _quantity(self, row: int, li: LineView) -> QDoubleSpinBox:
        """The line's quantity, never below what was refunded of it: those items came back
        and their money went back; a line fully refunded is not offered at all."""
        spin = QDoubleSpinBox()
        spin.setObjectName(f"editQty_{row}")
        spin.setDecimals(0 if li.qty_milli % 1000 == 0 and li.refunded_qty_milli % 1000 == 0 else 3)
        spin.setRange(li.refunded_qty_milli / 1000, 9999)
        spin.setValue(li.qty_milli / 1000)
        if li.refunded_qty_milli:
            spin.setToolTip(f"{qty(li.refunded_qty_milli)} of it refunded: the quantity cannot go below that")
            spin.setEnabled(li.refunded_qty_milli < li.qty_milli)
        self.spins[li.id] = spin
        return spin

    def customer(self) -> CustomerDetails | None:
        name, phone = self.name.text().strip() or None, self.phone.text().strip() or None
        c = self.detail.customer
        if (c.name if c else None) == name and (c.phone if c else None) == phone:
            return None
        return CustomerDetails(c.id if c else None, name, phone, c.email if c else None)

    def _find_item(self) -> None:
        """Enter in "Add an item": the first product found, priced now, added with quantity 1."""
        ctx, text = self.ctx, self.add_item.text().strip()
        if ctx is None or not text:
            return

        def first_line() -> CartLine | None:
            found = [p for p in catalog.search(ctx.store, text, 5) if p.active]
            return catalog.line_for_product(ctx.store, found[0].id) if found else None

        ctx.ops.run(first_line, success=self._add_line)

    def _add_line(self, line: CartLine | None) -> None:
        if line is None:
            self.fail(f"No product matches “{self.add_item.text().strip()}”")
            return
        self.fail("")
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(line.name))
        self.table.setItem(row, 1, QTableWidgetItem(self.money(line.unit_price)))
        spin = QDoubleSpinBox()
        spin.setObjectName(f"editQty_{row}")
        spin.setDecimals(0)
        spin.setRange(0, 9999)
        spin.setValue(1)
        self.table.setCellWidget(row, 2, spin)
        self.added.append((line, spin))
        self.add_item.clear()

    def added_lines(self) -> list[CartLine]:
        """The new lines with the quantities typed (0 leaves one out)."""
        return [replace(line, qty_milli=round(spin.value() * 1000)) for line, spin in self.added if spin.value() > 0]

    def line_changes(self) -> list[LineChange]:
        before = {li.id: li.qty_milli for li in self.detail.lines}
        return [LineChange(line_id, round(spin.value() * 1000)) for line_id, spin in self.spins.items()
                if round(spin.value() * 1000) != before[line_id]]

    def note_value(self) -> str | None:
        note = self.note.text().strip()
        return note if note != (self.detail.note or "") else None

    def reason_value(self) -> str | None:
        return self.reason.text().strip() or None

    def _try_accept(self) -> None:
        if not (self.customer() or self.line_changes() or self.added_lines() or self.note_value() is not None):
            self.fail("Nothing was changed")
            return
        if not self.reason_value():
            self.fail("Say why the order is edited")
            self.reason.setFocus()
            return
        self.fail("")
        self.setEnabled(False)  # one save at a time; enabled again if it is refused
        self.submitted.emit()

    def saved(self) -> None:
        self.setEnabled(True)
        self.accept()

    def refused(self, text: str) -> None:
        """The save was refused: say why, keep every field as typed."""
        self.setEnabled(True)
        self.fail(text)
