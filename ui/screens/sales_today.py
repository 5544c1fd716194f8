"""Today's sales: search by reference, customer or amount; order detail; reprint.

Each sale shows its tenders and what was refunded; the top line is the day so far
(app.services.day_sales: sales made, taken and refunded by tender, net). The detail
is the receipt as the printing service lays it out (its preview text), so what the
screen shows is what the customer got.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.words import count_of
from app.services import day_sales
from app.services.changes import Changes
from ui import messages
from ui.context import AppContext
from ui.receipts import print_receipt
from ui.widgets.common import EmptyState, action_button, heading


def start_of_today() -> datetime:
    return datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


def sale_facts(o: day_sales.SaleRow, money: Callable[[int], str]) -> list[str]:
    """What a list row says after the time: status, tenders, customer (a refund gets a line
    of its own, so a narrow list never cuts it off)."""
    facts = [o.status]
    if o.methods:
        facts.append(" + ".join(m.title() for m in o.methods))
    if o.customer_name:
        facts.append(o.customer_name)
    return facts


def by_tender(amounts: dict[str, int], money: Callable[[int], str]) -> str:
    return ", ".join(f"{m.title()} {money(a)}" for m, a in sorted(amounts.items()))


def day_total_text(t: day_sales.DayTotals, money: Callable[[int], str]) -> str:
    """ "3 sales, €50.00 sold · Net €45.72" over "Taken: Card €20.00, Cash €30.00 · Refunded €4.28 (Card €4.28)"."""
    first = f"{count_of(t.sales, 'sale')}, {money(t.sold)} sold  ·  Net {money(t.net)}"
    money_moved = ([f"Taken: {by_tender(t.taken, money)}"] if t.taken else []) + (
        [f"Refunded {money(sum(t.refunded.values()))} ({by_tender(t.refunded, money)})"] if t.refunded else [])
    return first + ("\n" + "  ·  ".join(money_moved) if money_moved else "")


class SalesTodayScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("salesTodayScreen")
        self.orders: list[day_sales.SaleRow] = []
        self.selected: day_sales.SaleRow | None = None
        self._pending_reference: str | None = None
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.reload)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(16)
        layout.addLayout(self._build_list(), 2)
        layout.addLayout(self._build_detail(), 3)
        QShortcut(QKeySequence("F2"), self, activated=self.query.setFocus,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("F7"), self, activated=self.reprint,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("F8"), self, activated=self.open_detail,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.list.itemActivated.connect(lambda _item: self.open_detail())
        ctx.ops.changed.connect(self._on_changes)

    def _build_list(self) -> QVBoxLayout:
        box = QVBoxLayout()
        box.addWidget(heading("Today's sales", "title"))
        self.day_total = heading("", "subtle")
        self.day_total.setObjectName("salesDayTotal")
        self.day_total.setWordWrap(True)  # never widens the window
        box.addWidget(self.day_total)
        self.query = QLineEdit()
        self.query.setObjectName("salesQuery")
        self.query.setPlaceholderText("Reference, customer or amount (F2)")
        self.query.textEdited.connect(lambda _t: self._timer.start())
        self.list = QListWidget()
        self.list.setObjectName("ordersList")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.currentRowChanged.connect(self._select)
        self.list_stack = QStackedWidget()
        self.empty = EmptyState("receipt", messages.NO_ORDERS)
        self.list_stack.addWidget(self.empty)
        self.list_stack.addWidget(self.list)
        box.addWidget(self.query)
        box.addWidget(self.list_stack, 1)
        return box

    def _build_detail(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.title = heading(messages.NO_ORDER_SELECTED, "title")
        self.summary = heading("", "subtle")
        self.summary.setWordWrap(True)  # never widens the window
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("receiptPreview")
        self.preview.setReadOnly(True)
        self.preview.setFont(QFont("DejaVu Sans Mono", 12))
        self.reprint_button = action_button("Reprint receipt", "F7", icon_name="printer")
        self.reprint_button.clicked.connect(self.reprint)
        self.reprint_button.setEnabled(False)
        self.detail_button = action_button("Order detail and actions", "F8")
        self.detail_button.setObjectName("openOrderDetail")
        self.detail_button.clicked.connect(self.open_detail)
        self.detail_button.setEnabled(False)
        for w in (self.title, self.summary):
            box.addWidget(w)
        box.addWidget(self.preview, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.detail_button)
        box.addLayout(buttons)
        return box

    def _on_changes(self, changes: Changes) -> None:
        if changes.orders and self.isVisible():
            self.reload()

    def reload(self) -> None:
        query, store, since = self.query.text(), self.ctx.store, start_of_today()
        self.ctx.ops.run(lambda: (day_sales.todays_sales(store, since, query), day_sales.day_totals(store, since)),
                         success=lambda result: self._show(*result, query=query.strip()))

    def _show(self, orders: list[day_sales.SaleRow], totals: day_sales.DayTotals | None = None,
              query: str = "") -> None:
        self.orders = orders
        if totals is not None:
            self.day_total.setText(day_total_text(totals, self.ctx.money))
        self.list.clear()
        for o in orders:
            when = o.created_at.astimezone().strftime("%H:%M") if o.created_at.tzinfo else o.created_at.strftime("%H:%M")
            refund = f"\nrefunded {self.ctx.money(o.refunded)}" if o.refunded else ""  # its own line: never cut
            self.list.addItem(QListWidgetItem(f"{o.reference}    {self.ctx.money(o.total)}\n{when}  ·  "
                                              + "  ·  ".join(sale_facts(o, self.ctx.money)) + refund))
        self.empty.title.setText(f"No sale today matches “{query}”" if query else messages.NO_ORDERS)
        self.empty.hint.setText("Try part of the reference, a customer's name or an amount" if query else "")
        self.list_stack.setCurrentIndex(1 if orders else 0)
        if self._pending_reference:
            self._select_reference(self._pending_reference)
        elif orders:
            self.list.setCurrentRow(0)

    def open_reference(self, reference: str) -> None:
        """Show one order (e.g. a scanned receipt): search for it, then select it."""
        self._pending_reference = reference.strip().upper()
        self.query.setText(self._pending_reference)
        self.reload()

    def _select_reference(self, reference: str) -> None:
        self._pending_reference = None
        for i, o in enumerate(self.orders):
            if o.reference == reference:
                self.list.setCurrentRow(i)
                return
        self.ctx.warn(messages.order_not_found(reference))

    def _select(self, row: int) -> None:
        self.selected = self.orders[row] if 0 <= row < len(self.orders) else None
        o = self.selected
        self.reprint_button.setEnabled(o is not None and self.ctx.printing is not None)
        self.detail_button.setEnabled(o is not None)
        if o is None:
            self.title.setText(messages.NO_ORDER_SELECTED)
            self.summary.clear()
            self.preview.clear()
            return
        self.title.setText(o.reference)
        money = self.ctx.money
        self.summary.setText("  ·  ".join([o.status.title(), f"total {money(o.total)}", f"paid {money(o.paid)}"]
                                          + ([f"refunded {money(o.refunded)}"] if o.refunded else [])
                                          + [" + ".join(m.title() for m in o.methods) or "not paid",
                                             count_of(o.lines, "line")]
                                          + ([o.customer_name] if o.customer_name else [])))
        self._load_preview(o.id)

    def _load_preview(self, order_id: str) -> None:
        service = self.ctx.printing
        if service is None:
            self.preview.setPlainText(messages.PRINTING_UNAVAILABLE)
            return
        self.ctx.ops.run(lambda: service.preview_text(order_id, width=42),
                         success=lambda text: self._preview_ready(order_id, text))

    def _preview_ready(self, order_id: str, text: str) -> None:
        if self.selected is not None and self.selected.id == order_id:
            self.preview.setPlainText(text)

    def reprint(self) -> None:
        if self.selected is not None:
            print_receipt(self.ctx, self.selected.id, reprint=True)
            self.ctx.info(f"Reprinting {self.selected.reference}")

    def open_detail(self) -> None:
        if self.selected is not None:
            self.ctx.show_order(self.selected.id)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._pending_reference:
            self.reload()
        self.query.setFocus()
