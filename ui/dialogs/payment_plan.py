"""Payment plan at the tender step: down payment (amount or %), N installments, interval.

The preview is :func:`app.domain.schedule.make_plan` itself (the one calculator the
server uses too), recomputed on every keystroke, so what the cashier shows the
customer is exactly what is recorded: installments sum to the balance, leftover
cents go one each to the first installments.
"""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.money import MoneyError, parse
from app.domain.order_rules import RuleError, check_plan_customer
from app.domain.schedule import Interval, PaymentPlan, ScheduleError, down_payment_amount, make_plan
from app.domain.totals import percent_to_ppm
from app.services.customers import CustomerDetails
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.widgets.common import heading

AMOUNT, PERCENT = "amount", "percent"
INTERVALS = ((Interval.WEEKLY, "Weekly"), (Interval.FORTNIGHTLY, "Fortnightly"),
             (Interval.MONTHLY, "Monthly"), (Interval.CUSTOM, "Custom dates"))


def parse_dates(text: str) -> list[date]:
    """ "15/02/2026, 2026-03-15" -> dates; a clear message for anything else."""
    result = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y"):
            try:
                result.append(datetime.strptime(part, fmt).date())
                break
            except ValueError:
                continue
        else:
            raise ScheduleError(f"“{part}” is not a date (use dd/mm/yyyy)")
    return result


class PaymentPlanDialog(FormDialog):
    """Accepted with ``plan`` set (a PaymentPlan for ``total``) and ``customer()`` who owes it.

    A plan needs a customer (app.domain.order_rules.check_plan_customer, checked again by
    the sales service and the server): the sale's customer is filled in, else typed here.
    """

    def __init__(self, ctx: AppContext, total: int, parent: QWidget | None = None,
                 today: date | None = None, customer: CustomerDetails | None = None) -> None:
        super().__init__("Payment plan", parent, width=560)
        self.setObjectName("paymentPlanDialog")
        self.ctx, self.total, self.today = ctx, total, today or date.today()
        self.plan: PaymentPlan | None = None
        self.known_customer = customer
        self.body.insertWidget(1, heading(f"Order total {ctx.money(total)}", "subtle"))
        self.customer_name = QLineEdit(customer.name or "" if customer else "")
        self.customer_name.setObjectName("planCustomerName")
        self.customer_phone = QLineEdit(customer.phone or "" if customer else "")
        self.customer_phone.setObjectName("planCustomerPhone")
        self.customer_phone.setPlaceholderText("+353 …")
        self.form.addRow("Customer name", self.customer_name)
        self.form.addRow("Phone", self.customer_phone)
        for field in (self.customer_name, self.customer_phone):
            field.returnPressed.connect(self._try_accept)
        down = QHBoxLayout()
        self.down_kind = QComboBox()
        self.down_kind.setObjectName("planDownKind")
        self.down_kind.addItem("Percent", PERCENT)
        self.down_kind.addItem("Amount", AMOUNT)
        self.down_value = QLineEdit("30")
        self.down_value.setObjectName("planDownValue")
        self.down_value.returnPressed.connect(self._try_accept)
        down.addWidget(self.down_value, 1)
        down.addWidget(self.down_kind)
        self.count = QSpinBox()
        self.count.setObjectName("planCount")
        self.count.setRange(1, 60)
        self.count.setValue(3)
        self.interval = QComboBox()
        self.interval.setObjectName("planInterval")
        for value, label in INTERVALS:
            self.interval.addItem(label, value)
        self.interval.setCurrentIndex(2)
        self.custom = QLineEdit()
        self.custom.setObjectName("planCustomDates")
        self.custom.setPlaceholderText("dd/mm/yyyy, dd/mm/yyyy, …")
        self.form.addRow("Down payment", down)
        self.form.addRow("Installments", self.count)
        self.form.addRow("Every", self.interval)
        self.form.addRow("Dates", self.custom)
        self.summary = heading("", "subtle")
        self.summary.setObjectName("planSummary")
        self.body.addWidget(self.summary)
        self.preview = QTableWidget(0, 3)
        self.preview.setObjectName("planPreview")
        self.preview.setHorizontalHeaderLabels(["#", "Due", "Amount"])
        self.preview.verticalHeader().hide()
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.setMinimumHeight(220)
        self.body.addWidget(self.preview, 1)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = buttons.addButton("Use this plan", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setObjectName("planUse")
        self.use_button.setProperty("kind", "primary")
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        for signal in (self.down_value.textChanged, self.custom.textChanged,
                       self.customer_name.textChanged, self.customer_phone.textChanged):
            signal.connect(self.recompute)
        self.down_kind.currentIndexChanged.connect(self.recompute)
        self.interval.currentIndexChanged.connect(self.recompute)
        self.count.valueChanged.connect(self.recompute)
        self.recompute()

    def set_down(self, text: str, kind: str = PERCENT) -> None:
        self.down_kind.setCurrentIndex(self.down_kind.findData(kind))
        self.down_value.setText(text)

    def set_interval(self, interval: Interval) -> None:
        self.interval.setCurrentIndex(self.interval.findData(interval))

    def _down(self) -> int:
        text = self.down_value.text().strip().rstrip("%")
        if self.down_kind.currentData() == PERCENT:
            try:
                return down_payment_amount(self.total, percent_ppm=percent_to_ppm(text or "0"))
            except (ValueError, ArithmeticError) as exc:
                raise ScheduleError(str(exc) or f"“{text}” is not a percentage") from exc
        try:
            return down_payment_amount(self.total, amount=parse(text or "0", self.ctx.currency, self.ctx.locale))
        except MoneyError as exc:
            raise ScheduleError(str(exc)) from exc

    def build(self) -> PaymentPlan:
        interval = Interval(self.interval.currentData())
        custom = parse_dates(self.custom.text()) if interval is Interval.CUSTOM else None
        return make_plan(self.total, self._down(), self.count.value(), self.today, interval, custom)

    def recompute(self) -> None:
        self.custom.setEnabled(self.interval.currentData() == Interval.CUSTOM)
        try:
            self.plan = self.build()
        except ScheduleError as exc:
            self.plan = None
            self.fail(str(exc))
        else:
            self.fail("")
        self._show()

    def _show(self) -> None:
        plan, money = self.plan, self.ctx.money
        self.use_button.setEnabled(plan is not None)
        self.preview.setRowCount(0)
        if plan is None:
            self.summary.setText("")
            return
        self.summary.setText(f"Now: {money(plan.down_payment)}   ·   then {len(plan.installments)} × "
                             f"about {money(plan.installments[0].amount)}   ·   financed {money(plan.financed)}")
        for inst in plan.installments:
            row = self.preview.rowCount()
            self.preview.insertRow(row)
            for col, text in enumerate((str(inst.number), inst.due_date.strftime("%d/%m/%Y"),
                                        money(inst.amount))):
                self.preview.setItem(row, col, QTableWidgetItem(text))

    def customer(self) -> CustomerDetails:
        """Who owes the plan: the sale's customer with what was typed here."""
        known = self.known_customer
        name, phone = self.customer_name.text().strip() or None, self.customer_phone.text().strip() or None
        return CustomerDetails(known.id if known else None, name, phone, known.email if known else None)

    def _try_accept(self) -> None:
        if self.plan is None:
            return
        try:
            check_plan_customer(self.plan.installments, self.customer())
        except RuleError as exc:
            self.fail(str(exc))
            (self.customer_phone if self.customer_name.text().strip() else self.customer_name).setFocus()
            return
        self.accept()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """The first thing to type: the customer's name if there is none yet, else the down payment."""
        super().showEvent(event)
        self.activateWindow()
        (self.down_value if self.customer_name.text().strip() else self.customer_name).setFocus()
