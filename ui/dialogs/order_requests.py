"""A cashier's requests: delete a pending order, refund some or all of a paid one.

Each ends in one of two routes: "Approve now with manager PIN" (the screen then
opens the PIN override) or "Send to approvals queue" (any manager decides later,
on any terminal of the store, after sync).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.order_balance import refund_line_amount
from app.domain.order_rules import collected
from app.services.approvals import RefundItem
from app.services.order_detail import OrderDetail
from ui.dialogs.common import FormDialog
from ui.screens.order_detail_format import qty

OVERRIDE, QUEUE = "override", "queue"
METHOD_NAMES = {"cash": "Cash", "card": "Card", "other": "Other"}


def refund_value(detail: OrderDetail, items: list[RefundItem]) -> int:
    """What bringing ``items`` back comes to, priced as approvals.refund_details prices it
    (the refund window and the exchange say the amount the refund records): each line's
    share of its total, at most what was collected on the order."""
    totals = {li.id: (li.total, li.qty_milli, li.refunded_qty_milli) for li in detail.lines}
    priced = sum(refund_line_amount(*totals[item.line_id], item.qty_milli)
                 for item in items if totals[item.line_id][1])
    return min(priced, collected(detail.paid, detail.refunded))


class _RequestDialog(FormDialog):
    """Reason field and the two routes; ``route`` says which one was chosen."""

    def __init__(self, title: str, parent: QWidget | None = None, *, width: int = 480) -> None:
        super().__init__(title, parent, width=width)
        self.route: str | None = None
        self.reason = QLineEdit()
        self.reason.setObjectName("requestReason")
        self.reason.setPlaceholderText("Why? (kept with the order)")

    def add_routes(self, approve_self: bool = False) -> None:
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        label = "Approve now" if approve_self else "Approve now with manager PIN"
        self.override_button = QPushButton(label)
        self.override_button.setObjectName("routeOverride")
        self.override_button.setProperty("kind", "primary")
        # Enter in the reason takes the primary route once (not also the dialog's default button)
        self.reason.returnPressed.connect(self.override_button.click)
        self.queue_button = QPushButton("Send to approvals queue")
        self.queue_button.setObjectName("routeQueue")
        buttons.addButton(self.override_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.queue_button, QDialogButtonBox.ButtonRole.ActionRole)
        for b in (self.override_button, self.queue_button, buttons.button(QDialogButtonBox.StandardButton.Cancel)):
            b.setAutoDefault(False)
        self.override_button.clicked.connect(lambda: self._choose(OVERRIDE))
        self.queue_button.clicked.connect(lambda: self._choose(QUEUE))
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Never narrower than its buttons: at the width it was given, "Send to approvals
        queue" was clipped to "end to approvals queu" (issue 21, looked at 1024x768)."""
        super().showEvent(event)
        need = self.minimumSizeHint().width()
        if self.width() < need:
            self.setMinimumWidth(need)
            self.resize(need, self.height())

    def _choose(self, route: str) -> None:
        try:
            self.validate()
        except ValueError as exc:
            self.fail(str(exc))
            return
        self.route = route
        self.accept()

    def validate(self) -> None:
        if not self.reason.text().strip():
            raise ValueError("A reason is required")

    @property
    def reason_text(self) -> str:
        return self.reason.text().strip()


class DeletionRequestDialog(_RequestDialog):
    """Reason and routes; or, when the order cannot be deleted (``blocked``: the shared
    rule's words, e.g. "€16.23 was collected on this order: refund it before deleting"),
    that message and a Close button only: no route to delete is offered."""

    def __init__(self, reference: str, parent: QWidget | None = None, *, approve_self: bool = False,
                 blocked: str | None = None, can_refund: bool = False) -> None:
        super().__init__(f"Delete order {reference}", parent)
        self.setObjectName("deletionDialog")
        if blocked is not None:
            self.blocked = QLabel(blocked)
            self.blocked.setObjectName("deletionBlocked")
            self.blocked.setProperty("level", "error")
            self.blocked.setWordWrap(True)
            self.body.addWidget(self.blocked)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
            buttons.rejected.connect(self.reject)
            if can_refund:  # the way forward: refund what was collected, then delete
                self.refund_button = QPushButton("Refund first")
                self.refund_button.setObjectName("refundFirst")
                self.refund_button.setProperty("kind", "primary")
                buttons.addButton(self.refund_button, QDialogButtonBox.ButtonRole.ActionRole)
                # Enter takes the way forward (it closed the dialog: Close was the default)
                self.refund_button.setDefault(True)
                self.refund_button.setFocus(Qt.FocusReason.OtherFocusReason)
            self.body.addWidget(buttons)
            return
        self.form.addRow("Reason", self.reason)
        self.add_routes(approve_self)


class RefundRequestDialog(_RequestDialog):
    """Lines and quantities to refund, to the original tender or cash, restock or not."""

    def __init__(self, detail: OrderDetail, money, parent: QWidget | None = None,  # noqa: ANN001
                 *, approve_self: bool = False) -> None:
        super().__init__(f"Refund from order {detail.reference}", parent, width=720)
        self.setObjectName("refundDialog")
        self.detail, self.money = detail, money
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("refundLines")
        self.table.setHorizontalHeaderLabels(["Item", "Sold", "Refunded", "Refund now"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(48)
        self.spins: dict[str, QDoubleSpinBox] = {}
        for li in detail.lines:
            left = li.qty_milli - li.refunded_qty_milli
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(f"{li.name}  ({money(li.total)})"))
            self.table.setItem(row, 1, QTableWidgetItem(qty(li.qty_milli)))
            self.table.setItem(row, 2, QTableWidgetItem(qty(li.refunded_qty_milli)))
            spin = QDoubleSpinBox()
            spin.setObjectName(f"refundQty_{row}")
            spin.setDecimals(0 if li.qty_milli % 1000 == 0 and left % 1000 == 0 else 3)
            spin.setRange(0, left / 1000)
            spin.setEnabled(left > 0)
            self.table.setCellWidget(row, 3, spin)
            self.spins[li.id] = spin
        self.table.setMinimumHeight(min(300, 60 + 48 * len(detail.lines)))
        self.body.insertWidget(1, self.table)
        all_button = QPushButton("Refund everything")
        all_button.setObjectName("refundAll")
        all_button.clicked.connect(self.select_all)
        row = QHBoxLayout()
        row.addWidget(all_button)
        row.addStretch(1)
        self.body.insertLayout(2, row)
        original = detail.payments[0].method if detail.payments else "cash"
        self.method = QComboBox()
        self.method.setObjectName("refundMethod")
        self.method.addItem(f"Original tender ({METHOD_NAMES.get(original, original)})", None)
        self.method.addItem("Cash", "cash")
        self.method.currentIndexChanged.connect(self._show_amount)
        self.amount = QLabel("")
        self.amount.setObjectName("refundAmount")
        self.amount.setProperty("role", "remaining")
        self.body.insertWidget(3, self.amount)
        for spin in self.spins.values():
            spin.valueChanged.connect(self._show_amount)
        self._show_amount()
        self.restock = QCheckBox("Put the items back in stock")
        self.restock.setObjectName("refundRestock")
        self.restock.setChecked(True)
        self.form.addRow("Refund to", self.method)
        self.form.addRow("", self.restock)
        self.no_receipt = QCheckBox("The customer has no receipt")  # a till limit by role
        self.no_receipt.setObjectName("refundNoReceipt")
        self.form.addRow("", self.no_receipt)
        self.form.addRow("Reason", self.reason)
        self.add_routes(approve_self)

    def refund_amount(self) -> int:
        return refund_value(self.detail, self.items())

    def _show_amount(self) -> None:
        original = self.detail.payments[0].method if self.detail.payments else "cash"
        method = self.method_value or original
        amount = self.refund_amount()
        self.amount.setText(f"Refund {self.money(amount)}"
                            + (f" to {METHOD_NAMES.get(method, method.title())}" if amount else ""))

    def select_all(self) -> None:
        for spin in self.spins.values():
            spin.setValue(spin.maximum())

    def set_quantity(self, line_id: str, qty: float) -> None:
        self.spins[line_id].setValue(qty)

    def items(self) -> list[RefundItem]:
        return [RefundItem(line_id, round(spin.value() * 1000))
                for line_id, spin in self.spins.items() if spin.value() > 0]

    @property
    def method_value(self) -> str | None:
        return self.method.currentData()

    @property
    def restock_value(self) -> bool:
        return self.restock.isChecked()

    def validate(self) -> None:
        if not self.items():
            raise ValueError("Choose what to refund")
        super().validate()
