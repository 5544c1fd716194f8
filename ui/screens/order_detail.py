"""The full order: header, lines, payments, payment schedule, audit trail, and actions.

Everything shown comes from one read service (``order_detail.order_detail``);
actions by role and state run through :class:`OrderActions` (edit while pending,
pay an installment, ask for a deletion or a refund, print). The screen reloads
when a Changes says orders or approvals changed (after a local action or a sync).
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action
from app.services import order_detail
from app.services.changes import Changes
from app.services.order_detail import OrderDetail
from ui.context import AppContext
from ui.screens.exchange import ExchangeFlow
from ui.screens.order_detail_actions import OrderActions
from ui.screens.order_detail_format import action_name, audit_rows, day, flag_text, qty, when
from ui.widgets.common import heading
from ui.widgets.flow_layout import flow_row

OVERDUE_BG, PAID_FG = QColor("#FDE7E4"), QColor("#1E7A4F")
STATUS_COLOURS = {"pending": "#9A6700", "completed": "#1E7A4F", "refunded": "#2E6F8E", "deleted": "#B42318"}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
SIDE_BY_SIDE = 1000  # the page width (px) from which Lines and Payment schedule both fit in a row


def table(name: str, headers: list[str], stretch: int = 0) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.verticalHeader().setDefaultSectionSize(34)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.setWordWrap(False)
    t.setStyleSheet("QTableView { font-size: 15px; }")
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return t


def fill(t: QTableWidget, rows: list[tuple[str, ...]], right: tuple[int, ...] = (),
         max_height: int = 34 * 9) -> None:
    t.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if c in right:
                item.setTextAlignment(RIGHT)
            t.setItem(r, c, item)
    if t.wordWrap():
        t.resizeRowsToContents()
    rows_height = sum(t.rowHeight(r) for r in range(len(rows))) if rows else 34
    t.setFixedHeight(min(t.horizontalHeader().height() + rows_height + 6, max_height))


def section(title: str, widget: QWidget, extra: QWidget | None = None) -> QFrame:
    frame = QFrame()
    frame.setObjectName("detailSection")
    frame.setStyleSheet("QFrame#detailSection { background: #FFFFFF; border: 1px solid #DCE3E8;"
                        " border-radius: 12px; }")
    box = QVBoxLayout(frame)
    box.setContentsMargins(12, 10, 12, 12)
    top = QHBoxLayout()
    top.addWidget(heading(title, "label"))
    top.addStretch(1)
    if extra is not None:
        top.addWidget(extra)
    box.addLayout(top)
    box.addWidget(widget)
    box.addStretch(1)
    return frame


def small_button(text: str, name: str, kind: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.setMinimumHeight(44)
    b.setStyleSheet("QPushButton { font-size: 15px; padding: 8px 12px; }")
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    if kind:
        b.setProperty("kind", kind)
    return b


class OrderDetailScreen(QWidget):
    """``back`` asks the window to return to where the person came from."""

    back = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("orderDetailScreen")
        self.detail: OrderDetail | None = None
        self.order_id: str | None = None
        self.today = date.today
        self.actions = OrderActions(ctx, self)
        self.actions.done.connect(self.load)
        self.exchange = ExchangeFlow(ctx, self)  # refund and new sale in one (ui/screens/exchange.py)
        self.exchange.done.connect(self.load)  # then shows the new order
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.addLayout(self._build_top())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("orderDetailBody")
        self.grid = QGridLayout(body)
        self.grid.setContentsMargins(0, 0, 4, 0)
        self.grid.setSpacing(12)
        self._build_sections()
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        ctx.ops.changed.connect(self._on_changes)

    # -- layout -----------------------------------------------------------------
    def _build_top(self) -> QVBoxLayout:
        top = QVBoxLayout()
        row = QHBoxLayout()
        self.back_button = small_button("← Back", "detailBack", "flat")
        self.back_button.clicked.connect(self.back.emit)
        self.title = heading("", "title")
        self.title.setObjectName("detailTitle")
        self.status = QLabel("")
        self.status.setObjectName("detailStatus")
        row.addWidget(self.back_button)
        row.addWidget(self.title)
        row.addWidget(self.status)
        row.addStretch(1)
        top.addLayout(row)
        # The actions on a row of their own: beside the title, four of them were wider than
        # a 1024-pixel till's page and the whole page scrolled sideways; and they wrap onto
        # a second line (six of a plan's order with a refund were wider than the page too).
        self.buttons: dict[str, QPushButton] = {}
        for key, text, kind in (("edit", "Edit", ""), ("pay", "Pay installment", "primary"),
                                ("delete", "Request deletion", "danger"), ("refund", "Request refund", "danger"),
                                ("exchange", "Exchange", ""), ("schedule", "Print schedule", ""),
                                ("refund_receipt", "Print refund receipt", ""), ("reprint", "Reprint", "")):
            b = small_button(text, f"detail_{key}", kind)
            b.clicked.connect(lambda _=False, k=key: self._act(k))
            b.hide()  # shown by role and state once an order is loaded (never all at once)
            self.buttons[key] = b
        self.actions_row = flow_row(list(self.buttons.values()))
        top.addWidget(self.actions_row)
        self.summary = QLabel("")
        self.summary.setObjectName("detailSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setStyleSheet("font-size: 16px; color: #33444E; padding: 2px 4px 8px 4px;")
        top.addWidget(self.summary)
        return top

    def _build_sections(self) -> None:
        self.lines = table("detailLines", ["Item", "Qty", "Price", "Total", "Refunded"])
        self.payments = table("detailPayments", ["When", "Method", "Amount", "By"], stretch=3)
        self.schedule = table("detailSchedule", ["#", "Due", "Amount", "Paid", "Outstanding"], stretch=1)
        # "Change" (each value reads "before → after"): at 1024 px the column is narrower
        # than the words "Before → after", which the header cut to "efore → afte"
        self.audit = table("detailAudit", ["When", "Who", "Terminal", "Action", "Field", "Change",
                                           "Reason"], stretch=5)
        self.audit.setWordWrap(True)  # long values (a customer, edited lines) wrap instead of eliding
        # The change and Reason share the room left: at 1024 px a fixed 220 px Reason
        # squeezed the change to nothing.
        self.audit.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.overdue_legend = legend = QLabel("overdue")  # shown only when an installment is late
        legend.setStyleSheet("background: #FDE7E4; color: #B42318; border-radius: 6px; padding: 2px 8px;"
                             " font-size: 13px; font-weight: 600;")
        self.schedule_box = section("Payment schedule", self.schedule, legend)
        self.lines_box = section("Lines", self.lines)
        # Each box as tall as its table: a short order's Lines box leaves no gap beside the schedule.
        self.payments_box = section("Payments", self.payments)
        self.audit_box = section("Audit trail", self.audit)
        self.grid.addWidget(self.lines_box, 0, 0, Qt.AlignmentFlag.AlignTop)
        self.grid.addWidget(self.schedule_box, 0, 1, Qt.AlignmentFlag.AlignTop)
        self.grid.addWidget(self.payments_box, 1, 0, 1, 2)
        self.grid.addWidget(self.audit_box, 2, 0, 1, 2)
        self.grid.setColumnStretch(0, 11)
        self.grid.setColumnStretch(1, 9)
        self.grid.setRowStretch(4, 1)

    def _place_sections(self) -> None:
        """Lines and schedule side by side only where both fit: at 1024 px, beside each
        other, item names read "Riversid…" and the schedule's amounts were off to the
        right (issue 21); there the schedule goes under the lines, full width. With no
        schedule the Lines box takes the whole width."""
        top = Qt.AlignmentFlag.AlignTop
        plan = self.schedule_box.isVisibleTo(self)
        side = plan and self.width() >= SIDE_BY_SIDE
        self.grid.addWidget(self.lines_box, 0, 0, 1, 1 if side else 2, top)
        self.grid.addWidget(self.schedule_box, 0 if side else 1, 1 if side else 0, 1, 1 if side else 2, top)
        for row, box in ((1, self.payments_box), (2, self.audit_box)):
            self.grid.addWidget(box, row + (0 if side or not plan else 1), 0, 1, 2)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_sections()

    # -- loading ----------------------------------------------------------------
    def open_order(self, order_id: str) -> None:
        self.order_id = order_id
        self.load(order_id)

    def load(self, order_id: str | None = None) -> None:
        order_id = order_id or self.order_id
        if order_id is None:
            return
        self.order_id = order_id
        self.ctx.ops.run(lambda: order_detail.order_detail(self.ctx.store, order_id),
                         success=lambda d: self._show(order_id, d))

    def _on_changes(self, changes: Changes) -> None:
        if (changes.orders or changes.approvals) and self.order_id and self.isVisible():
            self.load()

    def _show(self, order_id: str, detail: OrderDetail | None) -> None:
        if order_id != self.order_id:
            return  # an older load finished after another order was opened
        self.detail = detail
        if detail is None:
            self.title.setText("Order not found")
            return
        self.title.setText(detail.reference)
        colour = STATUS_COLOURS.get(detail.status, "#33444E")
        self.status.setText(detail.status.upper())
        self.status.setStyleSheet(f"color: white; background: {colour}; border-radius: 8px; padding: 4px 10px;"
                                  " font-weight: 700; font-size: 14px;")
        self.summary.setText(self._summary(detail))
        self._show_lines(detail)
        self._show_payments(detail)
        self._show_schedule(detail)
        self._show_audit(detail)
        self._show_actions(detail)

    def _summary(self, d: OrderDetail) -> str:
        m = self.ctx.money
        c = d.customer
        who = " · ".join(x for x in ((c.name, c.phone) if c else ()) if x) or "no customer"
        parts = [f"<b>{who}</b>", f"created {when(d.created_at)} by {d.created_by}",
                 f"total <b>{m(d.total)}</b>", f"paid {m(d.paid)}"]
        if d.refunded:
            parts.append(f"refunded <b>{m(d.refunded)}</b>")
        if d.returned and d.returned != d.refunded:  # (a refund capped at what was paid)
            parts.append(f"goods brought back <b>{m(d.returned)}</b>")
        if d.status == "pending":
            parts.append(f"balance <b>{m(max(0, d.balance))}</b>")
        text = "  ·  ".join(parts)
        flags = [flag_text(f) for f in d.flags] + [f"{k} awaiting approval" for k in d.pending_approvals]
        if flags:
            text += "<br><span style='color:#9A6700'>⚑ " + ", ".join(flags) + "</span>"
        if d.note:
            text += f"<br>Note: {d.note}"
        if d.deleted_reason:
            text += f"<br><span style='color:#B42318'>Deleted: {d.deleted_reason}</span>"
        return text

    def _show_lines(self, d: OrderDetail) -> None:
        m = self.ctx.money
        fill(self.lines, [(li.name, qty(li.qty_milli), m(li.unit_price), m(li.total),
                           qty(li.refunded_qty_milli) if li.refunded_qty_milli else "")
                          for li in d.lines], right=(1, 2, 3, 4))

    def _show_payments(self, d: OrderDetail) -> None:
        m = self.ctx.money
        rows = []
        for p in d.payments:
            method = p.method.title() if p.amount >= 0 else f"Refund ({p.method})"
            amount = m(p.amount) + (f"  (tendered {m(p.tendered)}, change {m(p.change)})" if p.change else "")
            rows.append((when(p.at), method, amount, p.by))
        fill(self.payments, rows, right=(2,))

    def _show_schedule(self, d: OrderDetail) -> None:
        plan, m = d.plan, self.ctx.money
        self.schedule_box.setVisible(plan is not None)
        self._place_sections()
        if plan is None:
            return
        today = self.today()
        rows = [("", "down", m(plan.down_payment), m(plan.down_payment), "")]
        rows += [(str(i.number), day(i.due_date), m(i.amount), m(i.paid), m(i.outstanding) if i.outstanding else "paid")
                 for i in plan.installments]
        fill(self.schedule, rows, right=(2, 3, 4))
        self.overdue_legend.setVisible(any(i.outstanding > 0 and i.due_date < today and d.status == "pending"
                                           for i in plan.installments))
        for r, inst in enumerate(plan.installments, start=1):
            late = inst.outstanding > 0 and inst.due_date < today and d.status == "pending"
            for c in range(5):
                item = self.schedule.item(r, c)
                if late:
                    item.setBackground(QBrush(OVERDUE_BG))
                    item.setToolTip("Overdue")
                elif not inst.outstanding:
                    item.setForeground(QBrush(PAID_FG))
            if late:
                self.schedule.item(r, 1).setText(f"{day(inst.due_date)} !")

    def _show_audit(self, d: OrderDetail) -> None:
        here = self.ctx.store.device_id
        rows = []
        for e in reversed(d.audit):  # newest first
            terminal = "this till" if e.device_id == here else e.device_id[-8:]
            fields = [r for r in audit_rows(e, self.ctx.money) if r[1] != r[2]] or [("", "", "")]
            for i, (field, before, after) in enumerate(fields):
                change = f"{before} → {after}" if before else after
                first = i == 0
                rows.append((when(e.at) if first else "", e.by if first else "", terminal if first else "",
                             action_name(e.action) if first else "", field, change,
                             (e.reason or "") if first else ""))
        fill(self.audit, rows, max_height=34 * 16)

    def _show_actions(self, d: OrderDetail) -> None:
        can, pending, b = self.ctx.can, d.status == "pending", self.buttons
        b["edit"].setVisible(pending and can(Action.ORDER_EDIT))
        b["pay"].setVisible(pending and can(Action.PAYMENT_RECORD) and d.balance > 0)
        b["pay"].setText("Pay installment" if d.plan else "Take payment")
        b["delete"].setVisible(pending and can(Action.ORDER_DELETE_REQUEST) and "delete" not in d.pending_approvals)
        refundable = (d.status == "completed" and can(Action.REFUND_REQUEST)
                      and any(li.qty_milli > li.refunded_qty_milli for li in d.lines))
        b["refund"].setVisible(refundable)
        b["exchange"].setVisible(refundable and can(Action.SALE_CREATE))
        printing = self.ctx.printing is not None
        b["schedule"].setVisible(d.plan is not None and printing and d.status != "deleted")
        b["refund_receipt"].setVisible(d.refunded > 0 and printing)
        b["reprint"].setVisible(printing and d.status != "deleted")

    # -- actions ----------------------------------------------------------------
    def _act(self, key: str) -> None:
        d = self.detail
        if d is None:
            return
        a = self.actions
        {"edit": lambda: a.edit(d), "pay": lambda: a.pay(d), "delete": lambda: a.request_deletion(d),
         "refund": lambda: a.request_refund(d), "exchange": lambda: self.exchange.start(d),
         "schedule": lambda: a.print_schedule(d.id),
         "refund_receipt": lambda: a.print_refund(d.id), "reprint": lambda: a.reprint(d.id)}[key]()
