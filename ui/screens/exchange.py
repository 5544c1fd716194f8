"""The exchange: take items of an earlier order back and sell new ones, one receipt.

Opened from an order's detail ("Exchange") or from the register (F11: the cart's
items are the new items; scan or type the receipt's reference). The dialog picks the
lines to return, takes the new items (scan or search), shows what comes back, what
goes out and the difference, and the tender the difference goes by. The refund needs
a manager as any refund does: a manager approves their own, a cashier's needs a
manager's PIN (app/services/exchanges.py records it; printing/exchange_receipt.py
prints the one slip).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.cart import Cart, CartLine
from app.domain.ids import parse_reference
from app.domain.money import MoneyError, parse
from app.domain.permissions import Action
from app.domain.tender import Method
from app.services import catalog, exchanges, order_detail, sales
from app.services.approvals import RefundItem
from app.services.changes import Changes
from app.services.order_detail import OrderDetail
from app.store.unit_of_work import Actor
from ui.context import AppContext
from ui.dialogs.common import FormDialog, show_flow_error
from ui.dialogs.order_requests import refund_value
from ui.dialogs.pin_override import PinOverrideDialog
from ui.receipts import process_queue
from ui.widgets.cart_table import CartModel
from ui.widgets.common import heading, line_table
from ui.widgets.product_search import ProductSearch

EXCHANGE_CHANGES = Changes(orders=True, approvals=True, stock=True, outbox=True)
NEW_ROW, NEW_ROWS_SHOWN = 36, 3  # the new items' row height; rows always in view
METHODS = (("Cash", Method.CASH), ("Card", Method.CARD), ("Other", Method.OTHER))


def net_text(net: int, money: Callable[[int], str]) -> str:
    """What the difference means at the counter."""
    if net > 0:
        return f"Customer pays {money(net)}"
    if net < 0:
        return f"Give back {money(-net)}"
    return "Even exchange: nothing to pay"


class ExchangeDialog(FormDialog):
    """Lines to return, new items, the difference and its tender, the reason."""

    def __init__(self, ctx: AppContext, detail: OrderDetail, cart: Cart | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Exchange on order {detail.reference}", parent, width=760)
        self.setObjectName("exchangeDialog")
        self.ctx, self.detail, self.money = ctx, detail, ctx.money
        self.cart = cart if cart is not None else Cart(tax_inclusive=ctx.settings.tax_inclusive)
        self.spins: dict[str, QDoubleSpinBox] = {}
        self.body.insertWidget(1, heading("Items coming back", "section"))
        self.body.insertWidget(2, self._returned_table())
        self.body.insertWidget(3, heading("New items", "section"))
        self.finder = ProductSearch(ctx, "Scan or search the new items", show_price=True, delay_ms=120)
        self.finder.setObjectName("exchangeSearch")
        self.finder.field.setObjectName("exchangeScan")
        self.finder.code_entered.connect(self.add_code)
        self.finder.product_chosen.connect(lambda row: self.add_product(row.id))
        self.body.insertWidget(4, self.finder)
        self.model = CartModel(self.cart, ctx.money)
        self.new_table = line_table("exchangeNew", self.model, NEW_ROW)
        # three new items always show, on a 768-pixel till too; more scroll inside
        chrome = self.new_table.horizontalHeader().sizeHint().height() + 2 * self.new_table.frameWidth()
        self.new_table.setMinimumHeight(chrome + NEW_ROW * NEW_ROWS_SHOWN)
        self.new_table.setMaximumHeight(chrome + NEW_ROW * (NEW_ROWS_SHOWN + 1))
        for col in range(1, self.model.columnCount()):
            self.new_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.body.insertWidget(5, self.new_table)
        remove = QShortcut(QKeySequence("Delete"), self.new_table, context=Qt.ShortcutContext.WidgetShortcut)
        remove.activated.connect(self.remove_selected)
        self.body.insertLayout(6, self._summary())
        self.method = QComboBox()
        self.method.setObjectName("exchangeMethod")
        for label, method in METHODS:
            self.method.addItem(label, method)
        original = detail.payments[0].method if detail.payments else "cash"
        self.method.setCurrentIndex(max(0, self.method.findData(Method(original)
                                                                 if original in Method._value2member_map_
                                                                 else Method.CASH)))
        self.method.currentIndexChanged.connect(self._show)
        self.cash = QLineEdit()  # cash handed over for a difference to pay: the change is worked out
        self.cash.setObjectName("exchangeCash")
        self.cash.setPlaceholderText("the exact difference")
        self.cash_label = QLabel("Cash handed over")
        self.restock = QCheckBox("Put the returned items back in stock")
        self.restock.setObjectName("exchangeRestock")
        self.restock.setChecked(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("exchangeReason")
        self.reason.setPlaceholderText("Why? (kept with both orders)")
        # the tender and the cash handed over on one row: the new items keep the room
        by = QHBoxLayout()
        by.addWidget(self.method, 1)
        by.addWidget(self.cash_label)
        by.addWidget(self.cash, 1)
        self.form.addRow("Difference by", by)
        self.form.addRow("Reason", self.reason)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.approve_self = ctx.can(Action.REFUND_APPROVE)
        label = "Exchange" if self.approve_self else "Exchange with manager PIN"
        self.ok_button = QPushButton(label)
        self.ok_button.setObjectName("exchangeOk")
        self.ok_button.setProperty("kind", "primary")
        self.ok_button.setAutoDefault(False)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.ok_button.clicked.connect(self.submit)
        self.reason.returnPressed.connect(self.submit)
        self.cash.returnPressed.connect(self.submit)
        buttons.rejected.connect(self.reject)
        foot = QHBoxLayout()
        foot.addWidget(self.restock)
        foot.addWidget(buttons, 1)
        self.body.addLayout(foot)
        self.model.modelReset.connect(self._show)
        self._show()
        first = next((s for s in self.spins.values() if s.isEnabled()), None)
        (first or self.finder.field).setFocus(Qt.FocusReason.OtherFocusReason)

    # -- parts ------------------------------------------------------------------
    def _returned_table(self) -> QTableWidget:
        table = QTableWidget(0, 3)
        table.setObjectName("exchangeReturned")
        table.setHorizontalHeaderLabels(["Item", "Can return", "Return"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setDefaultSectionSize(40)
        for li in self.detail.lines:
            left = li.qty_milli - li.refunded_qty_milli
            row = table.rowCount()
            table.insertRow(row)
            table.setItem(row, 0, QTableWidgetItem(f"{li.name}  ({self.money(li.total)})"))
            table.setItem(row, 1, QTableWidgetItem(f"{left / 1000:g}"))
            spin = QDoubleSpinBox()
            spin.setObjectName(f"exchangeQty_{row}")
            spin.setDecimals(0 if li.qty_milli % 1000 == 0 and left % 1000 == 0 else 3)
            spin.setRange(0, left / 1000)
            spin.setEnabled(left > 0)
            spin.valueChanged.connect(self._show)
            table.setCellWidget(row, 2, spin)
            self.spins[li.id] = spin
        table.setFixedHeight(min(170, 34 + 40 * max(1, len(self.detail.lines))))
        return table

    def _summary(self) -> QGridLayout:
        grid = QGridLayout()
        self.returned_label = heading("", "totalLine")
        self.returned_label.setObjectName("exchangeReturnedTotal")
        self.new_label = heading("", "totalLine")
        self.new_label.setObjectName("exchangeNewTotal")
        self.net_label = heading("", "totalBig")
        self.net_label.setObjectName("exchangeNet")
        grid.addWidget(self.returned_label, 0, 0)
        grid.addWidget(self.new_label, 1, 0)
        grid.addWidget(self.net_label, 0, 1, 2, 1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(0)
        return grid

    # -- new items --------------------------------------------------------------
    def add_code(self, code: str) -> None:
        self.ctx.ops.run(lambda: catalog.line_for_scan(self.ctx.store, code), success=self._add_line,
                         failure=show_flow_error(self.fail))

    def add_product(self, product_id: str) -> None:
        self.ctx.ops.run(lambda: catalog.line_for_product(self.ctx.store, product_id), success=self._add_line,
                         failure=show_flow_error(self.fail))

    def _add_line(self, line: CartLine) -> None:
        self.fail("")
        row = self.model.add(line)
        self.new_table.selectRow(row)
        self.new_table.scrollTo(self.model.index(row, 0))  # the item just scanned is in view
        self.finder.clear()
        self.finder.field.setFocus()

    def handle_scan(self, code: str) -> None:
        """A scanned item (the window routes scans to the dialog on top)."""
        self.add_code(code)

    def remove_selected(self) -> None:
        rows = self.new_table.selectionModel().selectedRows()
        if rows:
            self.model.remove(rows[0].row())

    # -- figures ----------------------------------------------------------------
    def items(self) -> list[RefundItem]:
        return [RefundItem(line_id, round(spin.value() * 1000))
                for line_id, spin in self.spins.items() if spin.value() > 0]

    def set_quantity(self, line_id: str, qty: float) -> None:
        self.spins[line_id].setValue(qty)

    def returned_amount(self) -> int:
        return refund_value(self.detail, self.items())

    def net(self) -> int:
        return self.cart.totals().total - self.returned_amount()

    def _show(self, *_args: object) -> None:
        self.returned_label.setText(f"Coming back {self.money(self.returned_amount())}")
        self.new_label.setText(f"New items {self.money(self.cart.totals().total)}")
        self.net_label.setText(net_text(self.net(), self.money))
        if not hasattr(self, "cash"):
            return  # still being built
        takes_cash = self.net() > 0 and self.method_value is Method.CASH
        self.cash.setVisible(takes_cash)
        self.cash_label.setVisible(takes_cash)

    @property
    def method_value(self) -> Method:
        return Method(self.method.currentData())

    def cash_given(self) -> int | None:
        """Cash handed over for the difference (None: the exact amount); ValueError in words."""
        text = self.cash.text().strip()
        if not text or self.cash.isHidden():  # hidden: nothing to pay in cash
            return None
        try:
            given = parse(text, self.ctx.currency)
        except MoneyError as exc:
            raise ValueError(f"Cash handed over: {exc}") from None
        if given < self.net():
            raise ValueError(f"Cash handed over: {self.money(given)} is less than the "
                             f"{self.money(self.net())} to pay")
        return given

    def submit(self) -> None:
        try:
            self.cash_given()
        except ValueError as exc:
            self.fail(str(exc))
            self.cash.setFocus()
            return
        if not self.items():
            self.fail("Choose what comes back")
            return
        if self.cart.is_empty:
            self.fail("Add the new items; with nothing new it is a refund")
            return
        if not self.reason.text().strip():
            self.fail("A reason is required")
            self.reason.setFocus()
            return
        self.accept()


class ExchangeFlow(QObject):
    """Opens the dialog, gets the refund approved, records the exchange, prints the slip.

    ``done(new_order_id)`` after it was recorded."""

    done = Signal(str)

    def __init__(self, ctx: AppContext, host: QWidget) -> None:
        super().__init__(host)
        self.ctx, self.host = ctx, host
        self.dialog: ExchangeDialog | None = None
        self.override: PinOverrideDialog | None = None
        self.result: exchanges.ExchangeResult | None = None
        self.sale_approver: Actor | None = None

    def start(self, detail: OrderDetail, cart: Cart | None = None, *,
              sale_approver: Actor | None = None) -> ExchangeDialog:
        """``cart``: the new items so far (the register's); ``sale_approver``: the manager
        whose PIN allowed its discounts past the cashier's till limits, as at the register."""
        dialog = ExchangeDialog(self.ctx, detail, copy.deepcopy(cart) if cart is not None else None, self.host)
        self.dialog = dialog
        self.sale_approver = sale_approver
        dialog.accepted.connect(lambda: self._approve(dialog))
        dialog.open()
        return dialog

    def _approve(self, dialog: ExchangeDialog) -> None:
        if dialog.approve_self:
            self._record(dialog, self.ctx.actor)
            return
        what = (f"Exchange on order {dialog.detail.reference}: {self.ctx.money(dialog.returned_amount())} "
                f"comes back; {net_text(dialog.net(), self.ctx.money).lower()}")
        override = PinOverrideDialog(self.ctx, Action.REFUND_APPROVE, what, self.host)
        self.override = override
        override.accepted.connect(lambda: self._record(dialog, override.approver))
        override.open()

    def _record(self, dialog: ExchangeDialog, approver: Actor) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        order_id, items, cart = dialog.detail.id, dialog.items(), copy.deepcopy(dialog.cart)
        method, reason, restock = dialog.method_value, dialog.reason.text(), dialog.restock.isChecked()
        sale_approver = self.sale_approver
        cash_given = dialog.cash_given()

        def run() -> exchanges.ExchangeResult:  # (no shift open: the service opens or refuses)
            return exchanges.record_exchange(store, actor, approver, order_id, items, cart, method, reason,
                                             restock=restock, sale_approver=sale_approver,
                                             cash_given=cash_given)

        self.ctx.ops.run(run, changes=EXCHANGE_CHANGES, success=self._recorded,
                         failure=show_flow_error(self.ctx.error))

    def _recorded(self, result: exchanges.ExchangeResult) -> None:
        self.result = result
        change = f". Change due {self.ctx.money(result.change)}" if result.change else ""
        self.ctx.info(f"Exchange done: {result.new_reference} for {result.returned_reference}. "
                      f"{net_text(result.net, self.ctx.money)}{change}")
        self.done.emit(result.new_order_id)
        service = self.ctx.printing
        if service is None:
            return
        self.ctx.ops.run(lambda: service.enqueue_exchange(result.refund_id, result.new_order_id,
                                                          open_drawer=result.method == "cash"),
                         success=lambda job: process_queue(self.ctx, job_id=job),
                         failure=show_flow_error(lambda t: self.ctx.warn(f"The exchange receipt was not queued: {t}")))



class ReceiptReferenceDialog(FormDialog):
    """F11 at the register: scan or type the receipt of the items coming back."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Exchange: which receipt?", parent, width=420)
        self.setObjectName("exchangeReferenceDialog")
        self.field = QLineEdit()
        self.field.setObjectName("exchangeReference")
        self.field.setPlaceholderText("Scan the receipt, or type GO-…")
        self.form.addRow("Receipt", self.field)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = QPushButton("Find the order")
        self.ok_button.setObjectName("exchangeFind")
        self.ok_button.setProperty("kind", "primary")
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.ok_button.clicked.connect(self.submit)
        self.field.returnPressed.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        self.field.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def reference(self) -> str:
        return self.field.text().strip().upper()

    def handle_scan(self, code: str) -> None:
        """A scanned receipt (the window routes scans to the dialog on top)."""
        self.field.setText(code)
        self.submit()

    def submit(self) -> None:
        if not parse_reference(self.reference):
            self.fail("That is not a receipt reference (GO-000123)")
            return
        self.accept()


def start_from_register(register) -> None:  # noqa: ANN001 - ui.screens.register.RegisterScreen
    """F11: the register's cart is the new items; the receipt names the order they replace."""
    ctx = register.ctx
    if not (ctx.can(Action.REFUND_REQUEST) and ctx.can(Action.SALE_CREATE)):
        ctx.warn("Exchanges need a role that may sell and ask for refunds")
        return
    if register.tender_dialog is not None and register.tender_dialog.isVisible():
        return
    dialog = ReceiptReferenceDialog(register)
    register.exchange_reference = dialog
    dialog.accepted.connect(lambda: _find(register, dialog.reference))
    dialog.finished.connect(lambda _r: None if dialog.result() else register._refocus())
    dialog.open()


def _find(register, reference: str) -> None:  # noqa: ANN001
    store = register.ctx.store

    def find() -> OrderDetail | None:
        order_id = sales.find_by_reference(store, reference)
        return order_detail.order_detail(store, order_id) if order_id else None

    register.ctx.ops.run(find, success=lambda d: _open(register, reference, d))


def _open(register, reference: str, detail: OrderDetail | None) -> None:  # noqa: ANN001
    if detail is None:
        register.ctx.error(f"No order {reference} on this till")
        register._refocus()
        return
    flow = getattr(register, "exchange_flow", None)
    if flow is None:
        flow = register.exchange_flow = ExchangeFlow(register.ctx, register)
        flow.done.connect(lambda _id: _exchanged(register, flow))
    dialog = flow.start(detail, register.cart, sale_approver=register.guard.approver)
    dialog.finished.connect(lambda _r: register._refocus())


def _exchanged(register, flow: ExchangeFlow) -> None:  # noqa: ANN001
    result = flow.result
    register.new_sale()
    if result is not None:
        change = f", change due {register.ctx.money(result.change)}" if result.change else ""
        register.sale_banner.setText(f"Exchange {result.new_reference} for {result.returned_reference}: "
                                     f"{net_text(result.net, register.ctx.money).lower()}{change}")
        register.sale_banner.show()
    register._refocus()
