"""The register's side panel: who the sale is for, its totals, the action keys and Pay.

It only shows what the register tells it (``show_cart``) and calls the register's handlers
when a key is clicked; the keyboard shortcuts for the same actions are the register's
(they act anywhere on the screen, not only on this panel).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout

from app.domain.totals import OrderTotals
from app.services.customers import CustomerDetails
from ui.widgets.common import action_button, heading

# (name, label, key, button kind)
ACTIONS = (
    ("search", "Search", "F2", ""), ("quantity", "Quantity", "F3", ""),
    ("customer", "Customer", "F4", ""), ("line_discount", "Line discount", "F5", ""),
    ("order_discount", "Order discount", "F6", ""), ("remove", "Remove line", "F8", "danger"),
    ("new_sale", "New sale", "F9", ""), ("cancel", "Cancel", "Esc", ""),
    ("price", "Price", "F7", ""),
    ("park", "Park sale", "F10", ""),  # parks the sale, or lists the parked ones (ui/screens/parked.py)
    ("exchange", "Exchange", "F11", ""),  # the cart's items for returned ones (ui/screens/exchange.py)
)
TOTALS = (("subtotal", "Subtotal"), ("discount", "Discount"), ("tax", "Tax"), ("total", "Total"))


class RegisterPanel(QFrame):
    """``handler(name)`` gives the callable for an action's key; ``pay`` is Pay's."""

    def __init__(self, handler: Callable[[str], Callable[[], None]], pay: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("sidePanel")
        layout = QVBoxLayout(self)
        self.customer_label = heading("", "subtle")
        layout.addWidget(self.customer_label)
        totals = QGridLayout()
        self.totals: dict[str, QLabel] = {}
        for row, (key, label) in enumerate(TOTALS):
            role = "totalBig" if key == "total" else "totalLine"
            totals.addWidget(heading(label, role), row, 0)
            value = heading("", role)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            totals.addWidget(value, row, 1)
            self.totals[key] = value
        layout.addLayout(totals)
        layout.addStretch(1)
        layout.addLayout(self._keys(handler, pay))

    def _keys(self, handler: Callable[[str], Callable[[], None]], pay: Callable[[], None]) -> QGridLayout:
        grid = QGridLayout()
        grid.setSpacing(8)
        self.buttons: dict[str, QPushButton] = {}
        for i, (name, label, key, kind) in enumerate(ACTIONS):
            button = action_button(label, key, kind=kind)
            button.setObjectName(f"register_{name}")
            button.clicked.connect(handler(name))
            self.buttons[name] = button
            if name != "exchange":  # two to a row; Exchange shares Pay's row
                grid.addWidget(button, i // 2, i % 2)
        self.pay_button = action_button("Pay", "F12 / Enter", kind="primary")
        self.pay_button.setObjectName("payButton")
        self.pay_button.setMinimumHeight(70)
        self.pay_button.clicked.connect(pay)
        # Six rows of keys would not fit a 768-pixel screen: Exchange sits beside Pay.
        self.buttons["exchange"].setMinimumHeight(70)
        last = (len(ACTIONS) - 1) // 2  # the row after the other keys' five
        grid.addWidget(self.buttons["exchange"], last, 0)
        grid.addWidget(self.pay_button, last, 1)
        return grid

    def show_cart(self, totals: OrderTotals, money: Callable[[int], str], customer: CustomerDetails | None,
             can_pay: bool) -> None:
        """The cart's totals, its customer (if any) and whether Pay is live."""
        self.totals["subtotal"].setText(money(totals.subtotal))
        self.totals["discount"].setText(f"−{money(totals.discount)}" if totals.discount else money(0))
        self.totals["tax"].setText(money(totals.tax))
        self.totals["total"].setText(money(totals.total))
        self.pay_button.setEnabled(can_pay)
        c = customer
        self.customer_label.setText(f"Customer: {c.name or ''} {c.phone or ''}".strip() if c else "")
        self.customer_label.setVisible(c is not None)
