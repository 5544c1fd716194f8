"""Customers at the till (F4 on the register): find one by phone or name, see their
orders and what is still owed on their plans, and attach them to the sale; or type a
new customer's name and phone (saved with the sale).

A phone is found in any local or international form (app/domain/phone.py asks the blind
index for each form); a name by any part of it. The look-ups are
app/services/customers.py (find_customers, customer_account), run off the GUI thread.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.words import count_of
from app.services import customers
from app.services.customers import CustomerDetails
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.widgets.common import heading

LATE_FG = Qt.GlobalColor.darkRed


class CustomerFinder(FormDialog):
    """Emits ``chosen(details)`` (None: no customer on the sale) and closes."""

    chosen = Signal(object)

    def __init__(self, ctx: AppContext, current: CustomerDetails | None, parent: QWidget | None = None) -> None:
        super().__init__("Customer", parent, width=720)
        self.setObjectName("customerFinder")
        self.ctx, self.current = ctx, current
        self.matches: list[customers.CustomerMatch] = []
        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self.find)
        self.search = QLineEdit()
        self.search.setObjectName("customerSearch")
        self.search.setPlaceholderText("Phone number or name")
        self.search.textEdited.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self.attach)
        self.form.addRow("Find", self.search)
        self.hint = heading("Type a phone number (any form) or part of a name", "subtle")
        self.hint.setObjectName("customerHint")
        self.body.addWidget(self.hint)
        self.results = QListWidget()
        self.results.setObjectName("customerResults")
        self.results.setMaximumHeight(150)
        self.results.currentRowChanged.connect(self._show_account)
        self.results.itemActivated.connect(lambda _i: self.attach())
        self.body.addWidget(self.results)
        self.orders = QTableWidget(0, 6)
        self.orders.setObjectName("customerOrders")
        self.orders.setHorizontalHeaderLabels(["Order", "Date", "Status", "Owed", "Late", "Next due"])
        self.orders.verticalHeader().hide()
        self.orders.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.orders.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.orders.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.orders.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.orders.setMinimumHeight(140)
        self.body.addWidget(self.orders, 1)
        self._build_new(current)
        self.add_error_line()
        self._build_buttons()

    def _build_new(self, current: CustomerDetails | None) -> None:
        row = QHBoxLayout()
        self.new_name = QLineEdit(current.name or "" if current and not current.id else "")
        self.new_name.setObjectName("newCustomerName")
        self.new_name.setPlaceholderText("New customer: name")
        self.new_phone = QLineEdit(current.phone or "" if current and not current.id else "")
        self.new_phone.setObjectName("newCustomerPhone")
        self.new_phone.setPlaceholderText("phone")
        for field in (self.new_name, self.new_phone):
            field.returnPressed.connect(self.use_new)
            row.addWidget(field, 1)
        self.new_button = QPushButton("Use new customer")
        self.new_button.setObjectName("useNewCustomer")
        self.new_button.setAutoDefault(False)
        self.new_button.clicked.connect(self.use_new)
        row.addWidget(self.new_button)
        self.body.addLayout(row)

    def _build_buttons(self) -> None:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.attach_button = QPushButton("Attach to sale  (Enter)")
        self.attach_button.setObjectName("attachCustomer")
        self.attach_button.setProperty("kind", "primary")
        self.remove_button = QPushButton("No customer")
        self.remove_button.setObjectName("removeCustomer")
        for b in (self.attach_button, self.remove_button, buttons.button(QDialogButtonBox.StandardButton.Cancel)):
            b.setAutoDefault(False)
        buttons.addButton(self.attach_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.remove_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.attach_button.clicked.connect(self.attach)
        self.remove_button.clicked.connect(lambda: self._choose(None))
        self.remove_button.setVisible(self.current is not None)
        self.attach_button.setEnabled(False)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)

    # -- finding ---------------------------------------------------------------
    def find(self) -> None:
        text, store = self.search.text(), self.ctx.store
        self.ctx.ops.run(lambda: customers.find_customers(store, text), success=lambda m: self._show(text, m))

    def _show(self, text: str, matches: list[customers.CustomerMatch]) -> None:
        if text != self.search.text():
            return  # typed on since
        self.matches = matches
        self.results.clear()
        money = self.ctx.money
        for m in matches:
            owed = f"  ·  owes {money(m.owed)}" if m.owed else ""
            self.results.addItem(QListWidgetItem(
                f"{m.name or '(no name)'}  ·  {m.phone or 'no phone'}  ·  {count_of(m.orders, 'order')}{owed}"))
        self.hint.setText("" if matches or not text.strip() else
                          f"No customer matches “{text.strip()}”. Type their name and phone below to add one.")
        self.attach_button.setEnabled(bool(matches))
        if matches:
            self.results.setCurrentRow(0)
        else:
            self.orders.setRowCount(0)

    def _show_account(self, row: int) -> None:
        if not 0 <= row < len(self.matches):
            return
        cid, store = self.matches[row].id, self.ctx.store
        self.ctx.ops.run(lambda: customers.customer_account(store, cid, date.today()),
                         success=lambda a: self._fill_orders(cid, a))

    def _fill_orders(self, cid: str, account: customers.CustomerAccount) -> None:
        chosen = self.selected
        if chosen is None or chosen.id != cid:
            return
        money = self.ctx.money
        self.orders.setRowCount(0)
        for o in account.orders:
            r = self.orders.rowCount()
            self.orders.insertRow(r)
            owed = money(o.plan_outstanding) if o.plan_outstanding else ""
            late = f"{money(o.overdue)} late" if o.overdue else ""
            due = o.next_due.strftime("%d/%m/%Y") if o.next_due else ""
            cells = (o.reference, o.created_at.strftime("%d/%m/%Y"), o.status, owed, late, due)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if late and c in (4, 5):
                    item.setForeground(LATE_FG)
                self.orders.setItem(r, c, item)

    @property
    def selected(self) -> customers.CustomerMatch | None:
        row = self.results.currentRow()
        return self.matches[row] if 0 <= row < len(self.matches) else None

    # -- choosing --------------------------------------------------------------
    def attach(self) -> None:
        chosen = self.selected
        if chosen is None:
            self.fail("Find the customer first, or type a new customer's name and phone below")
            return
        self._choose(chosen.details())

    def use_new(self) -> None:
        name, phone = self.new_name.text().strip(), self.new_phone.text().strip()
        if not (name or phone):
            self.fail("Type the new customer's name and phone")
            return
        problem = customers.details_problem(CustomerDetails(None, name or None, phone or None))
        if problem:
            self.fail(problem)
            return
        self._choose(CustomerDetails(None, name or None, phone or None))

    def _choose(self, details: CustomerDetails | None) -> None:
        self.chosen.emit(details)
        self.accept()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.activateWindow()
        self.search.setFocus()
