"""The register: scan or search items, adjust the cart, take payment, print.

The scan field and its name/SKU search results are the shared product search
(ui/widgets/product_search.py), set up here for the till: a receipt reference is a
code too, results show prices, inactive products are not offered, and Enter on an
empty field means pay. This screen acts on what it reports.

Every action has a key shown on its button (the totals and the keys are the side
panel, ui/screens/register_panel.py). Look-ups and the sale itself run
through ctx.ops off the GUI thread; the sale is committed before the receipt is
queued, so a printer problem never loses a sale.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.barcode import BarcodeError
from app.domain.cart import Cart, CartLine
from app.domain.ids import parse_reference
from app.domain.money import format_plain
from app.domain.permissions import Action
from app.services import catalog, catalog_edit, sales
from app.services.catalog import ProductNotForSale, UnknownBarcode
from app.services.catalog_edit import CatalogError
from app.services.changes import Changes
from app.services.customers import CustomerDetails
from ui import messages
from ui.context import AppContext
from ui.dialogs.shift_gate import shift_ready
from ui.dialogs.till_limit import LimitGuard, PriceDialog
from ui.receipts import print_receipt
from ui.screens import exchange, parked
from ui.screens.customers import CustomerFinder
from ui.screens.register_dialogs import DiscountDialog, QuickAddDialog
from ui.screens.register_panel import ACTIONS, RegisterPanel
from ui.screens.tender import TenderDialog, sale_done_text
from ui.widgets.cart_table import QTY, CartModel, amount_columns_fixed, fit_columns
from ui.widgets.common import EmptyState, heading, line_table
from ui.widgets.product_search import ProductSearch, looks_like_barcode
from ui.widgets.quick_keys import QuickKeys

SALE_CHANGES = Changes(orders=True, stock=True, outbox=True)
DISCOUNT = 3  # the cart table's Discount column
# One line of 18 px text a row (a long name is cut with "…", whole in its tooltip): at
# 1024x768 the cart shows 9 lines beside the quick keys (it showed 4 to 6 with two-line
# rows of 52 px; issue 21).
CART_ROW_PX = 40
NAME_PX = 15  # two lines of it fit a row: a long name wraps instead of being cut at 1024 px
# The last sale's words over the cart, smaller than the role's 22 px: one line at 1366 px,
# two at 1024 px (it took three lines and 107 px there).
BANNER_STYLE = "font-size: 16px; padding: 6px 12px;"


def looks_like_code(text: str) -> bool:
    """A receipt reference or a barcode typed by hand (names and SKUs are searched)."""
    return bool(parse_reference(text)) or looks_like_barcode(text)


class RegisterScreen(QWidget):
    """Emits ``open_order(reference)`` when a receipt's reference is scanned."""

    open_order = Signal(str)
    shift_needed = Signal()  # no open shift: the window shows the shift screen to open one

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("registerScreen")
        self.cart = Cart(tax_inclusive=ctx.settings.tax_inclusive)
        self.model = CartModel(self.cart, ctx.money, incremental=True)  # a scan is a row, not a reset
        self.customer_details: CustomerDetails | None = None
        self.tender_dialog: TenderDialog | None = None
        self.last_sale: sales.SaleResult | None = None
        self.guard = LimitGuard(ctx, self)  # till limits: a manager's PIN past them
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(12)
        layout.addLayout(self._build_main(), 3)
        layout.addWidget(self._build_side(), 2)
        self._bind_keys()
        self.model.changed.connect(self._cart_changed)
        self._measure_all = True  # after a reset: every row's amounts (see _cart_changed)
        self.model.modelReset.connect(lambda: setattr(self, "_measure_all", True))
        self.model.rowsInserted.connect(lambda _p, first, last: fit_columns(self.table, first, last))
        self.model.dataChanged.connect(lambda tl, br, _r=(): fit_columns(self.table, tl.row(), br.row()))
        self._cart_changed()
        parked.attach(self)

    # -- layout -----------------------------------------------------------------
    def _build_main(self) -> QVBoxLayout:
        main = QVBoxLayout()
        self.finder = ProductSearch(self.ctx, messages.SCAN_PLACEHOLDER, is_code=looks_like_code,
                                    show_price=True, delay_ms=120)
        self.scan, self.results = self.finder.field, self.finder.results
        self.finder.code_entered.connect(self.handle_scan)
        self.finder.product_chosen.connect(lambda row: self._add_product(row.id))
        self.finder.empty_entered.connect(self.pay)
        self.stack = QStackedWidget()
        self.empty = EmptyState("scan", messages.EMPTY_CART, messages.EMPTY_CART_HINT)
        self.table = line_table("cartTable", self.model, CART_ROW_PX)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        name_font = QFont(self.table.font())
        name_font.setPixelSize(NAME_PX)
        self.model.name_font = name_font
        amount_columns_fixed(self.table)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        # The last sale's banner spans the wide column: wrapped in the side panel it made
        # the page taller than a 768-pixel screen.
        self.sale_banner = heading("", "saleBanner")
        self.sale_banner.setStyleSheet(BANNER_STYLE)
        self.sale_banner.setWordWrap(True)
        self.sale_banner.hide()
        main.addWidget(self.finder)
        main.addWidget(self.sale_banner)
        main.addWidget(self.stack, 1)
        self.quick_keys = QuickKeys(self.ctx)  # items with no barcode (ui/widgets/quick_keys.py)
        self.quick_keys.product_chosen.connect(self._add_product)
        main.addWidget(self.quick_keys)
        return main

    def _build_side(self) -> QWidget:
        self.panel = RegisterPanel(self._handler, self.pay)
        # its parts by their old names: the window, the parked sales and tests reach them here
        self.customer_label, self.totals = self.panel.customer_label, self.panel.totals
        self.buttons, self.pay_button = self.panel.buttons, self.panel.pay_button
        return self.panel

    def _bind_keys(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.shortcuts: dict[str, QShortcut] = {}
        for name, _label, key, _kind in ACTIONS:
            sc = QShortcut(QKeySequence(key), self, context=context)
            sc.activated.connect(self._handler(name))
            self.shortcuts[name] = sc
        self.shortcuts["pay"] = QShortcut(QKeySequence("F12"), self, context=context)
        self.shortcuts["pay"].activated.connect(self.pay)

    def _handler(self, name: str):  # noqa: ANN202
        """F9 asks before it wipes a cart with items (new_sale itself clears at once)."""
        return self.confirm_new_sale if name == "new_sale" else getattr(self, name)

    # -- role -------------------------------------------------------------------
    def apply_role(self) -> None:
        """Hide what the signed-in role may not do (a courtesy; services enforce)."""
        order_ok = self.ctx.can(Action.SALE_ORDER_DISCOUNT)
        line_ok = self.ctx.can(Action.SALE_LINE_DISCOUNT)
        self.buttons["order_discount"].setVisible(order_ok)
        self.shortcuts["order_discount"].setEnabled(order_ok)
        self.buttons["line_discount"].setEnabled(line_ok)
        self.shortcuts["line_discount"].setEnabled(line_ok)
        self.quick_keys.apply_role()
        self.guard.reload()

    # -- scanning and picking ---------------------------------------------------
    def handle_scan(self, code: str) -> None:
        """A code from a scanner (wedge or serial): an order reference or an item."""
        if self.tender_dialog is not None and self.tender_dialog.isVisible():
            self.ctx.warn(messages.SCAN_WHILE_BUSY)
            return
        if parse_reference(code):
            self.open_order.emit(code.strip().upper())
            return
        self.sale_banner.hide()
        self.ctx.ops.run(lambda: catalog.line_for_scan(self.ctx.store, code),
                         success=self._add_line, failure=self._scan_failed)

    def _scan_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, UnknownBarcode):
            self.ctx.error(messages.unknown_barcode(exc.code, exc.case_hint))
            if self.ctx.can(Action.PRODUCT_QUICK_ADD):
                self._offer_quick_add(exc.code)
            return True
        if isinstance(exc, ProductNotForSale):  # known, so no quick-add: its barcode is taken
            self.ctx.error(messages.not_for_sale(exc.name))
            return True
        if isinstance(exc, BarcodeError):
            self.ctx.error(str(exc))
            return True
        return False

    def _offer_quick_add(self, code: str) -> None:
        dialog = QuickAddDialog(code, self.ctx.currency, self)
        self.quick_add_dialog = dialog
        dialog.accepted.connect(lambda: self._quick_add(dialog))
        dialog.open()

    def _quick_add(self, dialog: QuickAddDialog) -> None:
        """Add the product (catalog_edit.quick_add), then put it in the cart."""
        new, actor = dialog.new_product(), self.ctx.actor
        self.ctx.ops.run(lambda: catalog_edit.quick_add(self.ctx.store, actor, new),
                         changes=Changes(catalog=True, outbox=True),
                         success=lambda pid: self._quick_added(pid, new.name),
                         failure=self._quick_add_failed)

    def _quick_added(self, product_id: str, name: str) -> None:
        self.ctx.info(f"Added “{name}” to the catalog")
        self._add_product(product_id)

    def _quick_add_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, CatalogError):
            self.ctx.error(str(exc))
            return True
        return False

    def _add_product(self, product_id: str) -> None:
        """A product picked from the search results (refused if made inactive meanwhile)."""
        self.ctx.ops.run(lambda: catalog.line_for_product(self.ctx.store, product_id),
                         success=self._add_line, failure=self._scan_failed)

    def _add_line(self, line: CartLine) -> None:
        self.sale_banner.hide()  # the next sale has begun (by scan, search or quick key)
        row = self.model.add(line)
        self.table.selectRow(row)

    # -- cart actions -----------------------------------------------------------
    def _row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return rows[0].row()
        return len(self.cart.lines) - 1 if self.cart.lines else None

    def search(self) -> None:
        self.scan.setFocus()
        self.scan.selectAll()

    def quantity(self) -> None:
        row = self._row()
        if row is not None:
            self.table.setFocus()
            self.table.edit(self.model.index(row, QTY))

    def customer(self) -> None:
        """F4: find a customer by phone or name, or type a new one (ui/screens/customers.py)."""
        dialog = CustomerFinder(self.ctx, self.customer_details, self)
        self.customer_dialog = dialog
        dialog.chosen.connect(self._customer_chosen)
        dialog.finished.connect(self._refocus)
        dialog.open()

    def _customer_chosen(self, details: CustomerDetails | None) -> None:
        self.customer_details = details
        self._cart_changed()

    def line_discount(self) -> None:
        row = self._row()
        if row is None or not self.ctx.can(Action.SALE_LINE_DISCOUNT):
            return
        dialog = DiscountDialog(f"Discount on {self.cart.lines[row].name}", self.ctx.currency, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._apply(lambda: self.cart.set_line_discount(row, dialog.discount))

    def order_discount(self) -> None:
        if self.cart.is_empty or not self.ctx.can(Action.SALE_ORDER_DISCOUNT):
            return
        dialog = DiscountDialog("Discount on the whole sale", self.ctx.currency, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._apply(lambda: self.cart.set_order_discount(dialog.discount))

    def price(self) -> None:
        """F7: sell the line at another price (past the person's limits: a manager's PIN)."""
        row = self._row()
        if row is None:
            return
        line = self.cart.lines[row]
        dialog = PriceDialog(line.name, format_plain(line.unit_price, self.ctx.currency),
                             self.ctx.currency, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._apply(lambda: self.cart.set_price(row, dialog.price))

    def _apply(self, change) -> None:
        before, order_before = copy.deepcopy(self.cart.lines), self.cart.order_discount
        try:
            change()
        except ValueError as exc:
            self.cart.lines[:] = before
            self.ctx.error(str(exc))
            self.model.refresh()
            return
        self.model.refresh()

        def undo() -> None:
            self.cart.lines[:], self.cart.order_discount = before, order_before

        self.guard.check(self.cart, undo, lambda: (self.model.refresh(), self._refocus()))

    def remove(self) -> None:
        row = self._row()
        if row is not None:
            self.model.remove(row)

    def confirm_new_sale(self) -> None:
        """F9: a cart with items is only wiped after a yes (as Esc asks)."""
        if self.cart.is_empty:
            self.new_sale()
            return
        if self.finder.in_use:
            self.finder.clear()
        self.cancel()

    def new_sale(self) -> None:
        self.guard.reset()
        self.cart.clear()
        self.customer_details = None
        self.model.refresh()
        self.finder.clear()
        self.scan.setFocus()

    def cancel(self) -> None:
        """Esc: first clears the search, then offers to cancel the sale."""
        if self.finder.in_use:
            self.finder.clear()
            self.scan.setFocus()
            return
        if self.tender_dialog is not None and self.tender_dialog.isVisible():
            self.tender_dialog.reject()
            return
        if self.cart.is_empty:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Cancel sale", messages.CANCEL_SALE,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.accepted.connect(self.new_sale)
        self.confirm_box = box
        box.open()  # non-blocking, like every dialog of the register

    def park(self) -> None:
        parked.park_or_recall(self)

    def exchange(self) -> None:
        """F11: the cart's items for items of an earlier order (ui/screens/exchange.py)."""
        if shift_ready(self.ctx, self, self.shift_needed.emit):
            exchange.start_from_register(self)

    # -- payment ----------------------------------------------------------------
    def pay(self) -> None:
        if self.cart.is_empty or (self.tender_dialog and self.tender_dialog.isVisible()):
            return
        if not shift_ready(self.ctx, self, self.shift_needed.emit):
            return
        dialog = TenderDialog(self.ctx, self.cart.totals().total, self, customer=self.customer_details)
        self.tender_dialog = dialog
        dialog.accepted.connect(lambda: self._complete(dialog))
        dialog.finished.connect(self._refocus)
        dialog.open()

    def _refocus(self, _result: int = 0) -> None:
        """After a dialog, keys go back to the register's scan field."""
        self.window().activateWindow()
        self.scan.setFocus()

    def _complete(self, dialog: TenderDialog) -> None:
        cart, tenders, customer, actor = (
            copy.deepcopy(self.cart), dialog.tenders_to_record, dialog.customer, self.ctx.actor)
        plan = dialog.plan  # a payment plan: the tenders are its down payment
        self.tender_dialog = None
        approver, store = self.guard.approver, self.ctx.store

        def sell() -> sales.SaleResult:  # (with no shift open, the service opens or refuses)
            return sales.record_sale(store, actor, cart, tenders, customer, plan=plan,
                                     approver=approver)

        self.ctx.ops.run(sell, changes=SALE_CHANGES, success=self._sold)

    def _sold(self, result: sales.SaleResult) -> None:
        self.last_sale = result
        self.sale_banner.setText(sale_done_text(result.reference, result.total, result.paid, result.change,
                                                self.ctx.money))
        self.sale_banner.show()
        self.new_sale()
        print_receipt(self.ctx, result.order_id, open_drawer=result.cash_tendered)

    # -- view -------------------------------------------------------------------
    def _cart_changed(self) -> None:
        self.panel.show_cart(self.model.totals(), self.ctx.money, self.customer_details,
                             can_pay=not self.cart.is_empty)
        self.stack.setCurrentWidget(self.empty if self.cart.is_empty else self.table)
        # the Discount column only when a line has one: the names keep the room at 1024 px
        no_discount = all(li.discount.is_zero for li in self.cart.lines)
        if no_discount != self.table.isColumnHidden(DISCOUNT):
            self.table.setColumnHidden(DISCOUNT, no_discount)
            self._measure_all = True
        if self._measure_all:
            self._measure_all = False
            fit_columns(self.table, 0, len(self.cart.lines) - 1, shrink=True)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.scan.setFocus()
