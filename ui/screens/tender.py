"""Taking payment: cash with quick amounts and change due, card, other, split tender.

Tenders are collected until the order is paid; each is checked with the same
domain rule the sales service uses (app.domain.tender.apply_tenders), so the
dialog never offers a sale the service would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import MoneyError, format_plain, parse
from app.domain.schedule import PaymentPlan
from app.domain.tender import (
    AppliedTender,
    Method,
    Tender,
    TenderError,
    apply_tenders,
    quick_cash_amounts,
)
from app.domain.words import count_of
from app.services.customers import CustomerDetails
from ui.context import AppContext
from ui.widgets.common import action_button, heading

METHOD_KEYS = {Method.CASH: "F1", Method.CARD: "F2", Method.OTHER: "F3"}


def sale_done_text(reference: str, total: int, paid: int, change: int, money: Callable[[int], str]) -> str:
    """The register's banner after a sale: complete, or a plan started with what is still owed."""
    if paid < total:
        text = f"Payment plan started on {reference}: {money(total - paid)} still owed"
    else:
        text = f"Sale {reference} complete"
    return text + (f"\nChange due {money(change)}" if change else "")


class TenderDialog(QDialog):
    """Accepted when paid in full; ``tenders`` then holds what to record.

    With a payment plan, ``customer`` is who owes it (the sale's customer, completed in
    the plan dialog); the register records the sale with that customer.
    """

    def __init__(self, ctx: AppContext, total: int, parent: QWidget | None = None,
                 customer: CustomerDetails | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.total, self.customer = ctx, total, customer
        self.tenders: list[Tender] = []
        self.applied: list[AppliedTender] = []
        self.method = Method.CASH
        self.plan: PaymentPlan | None = None  # set by "Payment plan": the tenders are its down payment
        self.setWindowTitle("Payment")
        self.setObjectName("tenderDialog")
        self.setMinimumSize(820, 660)
        layout = QHBoxLayout(self)
        layout.setSpacing(24)
        layout.addLayout(self._build_left(), 3)
        layout.addLayout(self._build_right(), 2)
        self._shortcuts()
        self._refresh()

    def _build_left(self) -> QVBoxLayout:
        left = QVBoxLayout()
        self.due_label = heading("Amount due", "label")
        left.addWidget(self.due_label)
        self.due = heading("", "due")
        left.addWidget(self.due)
        self.plan_label = heading("", "subtle")
        self.plan_label.setObjectName("tenderPlan")
        self.plan_label.hide()
        left.addWidget(self.plan_label)
        methods = QHBoxLayout()
        self.method_buttons: dict[Method, QPushButton] = {}
        for method, key in METHOD_KEYS.items():
            button = action_button(method.value.title(), key, kind="method")
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, m=method: self.choose(m))
            methods.addWidget(button)
            self.method_buttons[method] = button
        left.addLayout(methods)
        self.amount = QLineEdit()
        self.amount.setObjectName("tenderAmount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount.returnPressed.connect(self.enter)
        left.addWidget(self.amount)
        self.quick = QGridLayout()
        self.quick.setSpacing(8)
        left.addLayout(self.quick)
        self.error = QLabel("")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)
        left.addWidget(self.error)
        left.addStretch(1)
        self.remove_button = action_button("Remove payment", "Ctrl+Del")  # the selected one, else the last
        self.remove_button.setObjectName("tenderRemovePayment")
        self.remove_button.clicked.connect(self.remove_selected)
        left.addWidget(self.remove_button)
        self.plan_button = action_button("Payment plan", "F6")
        self.plan_button.setObjectName("tenderPlanButton")
        self.plan_button.clicked.connect(self.open_plan)
        left.addWidget(self.plan_button)
        return left

    def _build_right(self) -> QVBoxLayout:
        right = QVBoxLayout()
        right.addWidget(heading("Payments", "label"))
        self.taken = QListWidget()
        self.taken.setObjectName("tendersTaken")
        self.taken.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.taken.setWordWrap(True)
        self.taken.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.taken.setMinimumHeight(130)
        right.addWidget(self.taken, 1)
        self.remaining = heading("", "remaining")
        self.remaining.setObjectName("tenderRemaining")
        right.addWidget(self.remaining)
        self.owed = heading("", "subtle")  # with a plan: what is still owed after today
        self.owed.setObjectName("tenderOwed")
        self.owed.hide()
        right.addWidget(self.owed)
        right.addWidget(heading("Change due", "label"))
        self.change = heading("", "change")
        right.addWidget(self.change)
        self.add_button = action_button("Add payment", "Enter")
        self.add_button.clicked.connect(self.add_typed)
        self.complete_button = action_button("Complete sale", "F12", kind="primary")
        self.complete_button.clicked.connect(self.complete)
        cancel = action_button("Cancel", "Esc")
        cancel.clicked.connect(self.reject)
        for b in (self.add_button, self.complete_button, cancel):
            right.addWidget(b)
        return right

    def _shortcuts(self) -> None:
        for method, key in METHOD_KEYS.items():
            QShortcut(QKeySequence(key), self, activated=lambda m=method: self.choose(m))
        QShortcut(QKeySequence("F12"), self, activated=self.complete)
        QShortcut(QKeySequence("F6"), self, activated=self.open_plan)
        QShortcut(QKeySequence("Ctrl+Del"), self, activated=self.remove_selected)
        for i in range(5):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, activated=lambda i=i: self._quick(i))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Take keyboard focus at once so F1-F3/F12/Esc reach the dialog, not the register."""
        super().showEvent(event)
        self.activateWindow()
        self.amount.setFocus()

    # -- state ------------------------------------------------------------------
    @property
    def due_now(self) -> int:
        """What this dialog collects: the total, or a payment plan's down payment."""
        return self.plan.down_payment if self.plan is not None else self.total

    @property
    def paid_in_full(self) -> bool:
        return sum(a.amount for a in self.applied) >= self.due_now

    @property
    def balance(self) -> int:
        return self.due_now - sum(a.amount for a in self.applied)

    @property
    def tenders_to_record(self) -> list[Tender]:
        """The tenders as handed over; with a plan they settle its down payment and the
        sale records what was tendered and the change, as for any sale."""
        return list(self.tenders)

    def open_plan(self) -> None:
        from ui.dialogs.payment_plan import PaymentPlanDialog

        dialog = PaymentPlanDialog(self.ctx, self.total, self, customer=self.customer)
        self.plan_dialog = dialog
        dialog.accepted.connect(lambda: self.set_plan(dialog.plan, dialog.customer()))
        dialog.finished.connect(lambda _r: self.amount.setFocus())
        dialog.open()

    def set_plan(self, plan: PaymentPlan | None, customer: CustomerDetails | None = None) -> None:
        """Take ``plan``'s down payment now (payments taken so far start again)."""
        self.plan = plan
        if customer is not None:
            self.customer = customer
        self.tenders, self.applied = [], []
        self._refresh()

    @property
    def change_due(self) -> int:
        return sum(a.change for a in self.applied)

    def choose(self, method: Method) -> None:
        self.method = method
        self._refresh()

    def add(self, method: Method, amount: int) -> bool:
        """Take one tender; False (with the reason shown) if the rules refuse it."""
        try:
            applied = apply_tenders(self.due_now, [*self.tenders, Tender(method, amount)])
        except TenderError as exc:
            self.error.setText(str(exc))
            return False
        self.tenders.append(Tender(method, amount))
        self.applied = applied
        self.error.clear()
        self._refresh()
        return True

    def remove_selected(self) -> None:
        """Take back one payment line before the sale completes: the selected one, else the last."""
        if not self.tenders:
            return
        row = self.taken.currentRow()
        row = row if 0 <= row < len(self.tenders) else len(self.tenders) - 1
        kept = self.tenders[:row] + self.tenders[row + 1:]
        self.tenders, self.applied = kept, apply_tenders(self.due_now, kept) if kept else []
        self.error.clear()
        self._refresh()

    def add_typed(self) -> None:
        try:
            amount = parse(self.amount.text(), self.ctx.currency, self.ctx.locale)
        except MoneyError as exc:
            self.error.setText(str(exc))
            return
        self.add(self.method, amount)

    def enter(self) -> None:
        """Enter takes the typed amount; once paid in full, Enter completes."""
        if self.paid_in_full:
            self.complete()
        else:
            self.add_typed()

    def complete(self) -> None:
        if self.paid_in_full:
            self.accept()

    def _quick(self, i: int) -> None:
        amounts = quick_cash_amounts(self.balance) if not self.paid_in_full else []
        if i < len(amounts):
            self.add(Method.CASH, amounts[i])

    # -- view -------------------------------------------------------------------
    def _refresh(self) -> None:
        money = self.ctx.money
        self.due.setText(money(self.due_now))
        self._show_plan()
        for method, button in self.method_buttons.items():
            button.setChecked(method is self.method)
            button.setEnabled(not self.paid_in_full)
        self.taken.clear()
        for a in self.applied:
            extra = f"\n  tendered {money(a.tendered)}" if a.change else ""
            self.taken.addItem(f"{a.method.value.title()}   {money(a.amount)}{extra}")
        self.remaining.setText(self._remaining_text())
        self.owed.setText(f"{money(self.plan.financed)} still owed on the plan" if self.plan else "")
        self.owed.setVisible(self.plan is not None)
        self.change.setText(money(self.change_due))
        self.amount.setReadOnly(self.paid_in_full)
        self.amount.setText("" if self.paid_in_full else format_plain(self.balance, self.ctx.currency))
        self.amount.selectAll()
        self.add_button.setEnabled(not self.paid_in_full)
        self.remove_button.setEnabled(bool(self.tenders))
        self.complete_button.setEnabled(self.paid_in_full)
        self._fill_quick()
        QTimer.singleShot(0, self, self._fit_content)  # once the new quick buttons are shown
        self.amount.setFocus()

    def _fit_content(self) -> None:
        """Grow to what the content needs, never past the screen: a plan's two lines
        and a second row of quick cash took 697 px of a 660-px dialog at 1024x768 and the
        quick buttons were squashed into each other."""
        layout = self.layout()
        layout.activate()
        need = layout.minimumSize().height()
        if need <= self.height():
            return
        screen = self.screen().availableGeometry() if self.screen() else None
        frame = self.frameGeometry().height() - self.geometry().height()
        height = need if screen is None else min(need, screen.height() - frame)
        self.resize(self.width(), height)
        if screen is not None and self.frameGeometry().bottom() > screen.bottom():
            self.move(self.x(), max(screen.top(), screen.bottom() - self.frameGeometry().height()))

    def _remaining_text(self) -> str:
        """What is still owed, in words: a plan's down payment is not the whole sale."""
        money = self.ctx.money
        if not self.paid_in_full:
            return f"Still to pay now: {money(self.balance)}"
        if self.plan is not None:
            return "Down payment taken"
        return "Paid in full"

    def _show_plan(self) -> None:
        plan = self.plan
        self.due_label.setText("Down payment" if plan else "Amount due")
        self.plan_label.setVisible(plan is not None)
        self.plan_button.setText(("Change payment plan" if plan else "Payment plan") + "\nF6")
        self.complete_button.setText(("Start payment plan" if plan else "Complete sale") + "\nF12")
        if plan is not None:
            first = plan.installments[0]
            self.plan_label.setText(
                f"Then {count_of(len(plan.installments), 'installment')} of about {self.ctx.money(first.amount)}"
                f"\nfirst due {first.due_date.strftime('%d/%m/%Y')} · order total {self.ctx.money(self.total)}")

    def _fill_quick(self) -> None:
        while self.quick.count():
            item = self.quick.takeAt(0)
            if item.widget():
                item.widget().hide()
                item.widget().deleteLater()
        if self.method is not Method.CASH or self.paid_in_full:
            return
        for i, value in enumerate(quick_cash_amounts(self.balance)):
            button = action_button(self.ctx.money(value), f"Ctrl+{i + 1}", kind="quick")
            button.setObjectName(f"quick_{i + 1}")
            button.clicked.connect(lambda _=False, v=value: self.add(Method.CASH, v))
            button.ensurePolished()  # its 20-px amount and key on two lines are never cut
            button.setMinimumHeight(button.sizeHint().height())
            self.quick.addWidget(button, i // 3, i % 3)
