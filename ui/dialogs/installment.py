"""Take one payment on a pending order: an installment, more (pays ahead) or less.

Checked with the same domain rule as ``sales.record_payment``
(``apply_tenders`` against the order's balance): cash may exceed the balance and
gives change; card and other may not exceed it. Paying more than the installment
pays the next ones early; paying less leaves the rest of it outstanding.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.domain.money import MoneyError, format_plain, parse
from app.domain.tender import Method, Tender, TenderError, apply_tenders
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.widgets.common import heading


class PaymentDialog(FormDialog):
    """Accepted with ``tender`` set to what to record."""

    def __init__(self, ctx: AppContext, title: str, suggested: int, balance: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(title, parent, width=460)
        self.setObjectName("installmentDialog")
        self.ctx, self.balance = ctx, balance
        self.tender: Tender | None = None
        self.method = Method.CASH
        self.body.insertWidget(1, heading(f"Balance of the order: {ctx.money(balance)}", "subtle"))
        methods = QHBoxLayout()
        self.group = QButtonGroup(self)
        self.method_buttons: dict[Method, QPushButton] = {}
        for method in Method:
            button = QPushButton(method.value.title())
            button.setObjectName(f"payMethod_{method.value}")
            button.setProperty("kind", "method")
            button.setCheckable(True)
            button.setMinimumHeight(52)
            button.clicked.connect(lambda _=False, m=method: self.choose(m))
            self.group.addButton(button)
            methods.addWidget(button)
            self.method_buttons[method] = button
        self.method_buttons[Method.CASH].setChecked(True)
        self.form.addRow("Method", methods)
        self.amount = QLineEdit(format_plain(suggested, ctx.currency))
        self.amount.setObjectName("installmentAmount")
        self.amount.textChanged.connect(self._preview)
        self.amount.returnPressed.connect(self._try_accept)
        self.form.addRow("Amount", self.amount)
        self.info = heading("", "subtle")
        self.info.setObjectName("installmentInfo")
        self.info.setWordWrap(True)
        self.body.addWidget(self.info)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.pay_button = buttons.addButton("Take payment", QDialogButtonBox.ButtonRole.AcceptRole)
        self.pay_button.setObjectName("installmentPay")
        self.pay_button.setProperty("kind", "primary")
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        self._preview()

    def choose(self, method: Method) -> None:
        self.method = method
        self.method_buttons[method].setChecked(True)
        self._preview()

    def _checked(self) -> Tender:
        amount = parse(self.amount.text(), self.ctx.currency, self.ctx.locale)
        tender = Tender(self.method, amount)
        apply_tenders(self.balance, [tender])
        return tender

    def _preview(self) -> None:
        try:
            tender = self._checked()
        except (MoneyError, TenderError) as exc:
            self.info.setText("")
            self.fail(str(exc))
            return
        self.fail("")
        change = max(0, tender.tendered - self.balance)
        left = max(0, self.balance - tender.tendered)
        text = f"Change due: {self.ctx.money(change)}" if change else f"Left to pay after this: {self.ctx.money(left)}"
        self.info.setText(text)

    def _try_accept(self) -> None:
        try:
            self.tender = self._checked()
        except (MoneyError, TenderError) as exc:
            self.fail(str(exc))
            return
        self.accept()
