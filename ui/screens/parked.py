"""Parked sales at the register, on one key: F10 parks the sale being rung up; on an
empty register it lists the sales waiting on this till (when, by whom, label, customer,
total) to recall one (Enter) or throw it away (Delete, with a reason). Its button says
which it will do ("Park sale" / "Parked (2)"). The register calls ``attach`` once and
``park_or_recall`` on F10; the work is app/services/parked_sales.py, off the GUI thread.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QInputDialog,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from app.domain.words import count_of
from app.services import parked_sales
from app.services.changes import Changes
from app.services.customers import CustomerDetails
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.widgets.common import HintedList

if TYPE_CHECKING:
    from ui.screens.register import RegisterScreen

NOTHING = Changes()


def _refused(ctx: AppContext):  # noqa: ANN202
    def failure(exc: BaseException) -> bool:
        if isinstance(exc, parked_sales.ParkError):
            ctx.error(str(exc))
            return True
        return False
    return failure


def button_text(cart_empty: bool, waiting: int) -> str:
    """What F10 will do: park the sale, or list the parked ones."""
    if not cart_empty:
        return "Park sale"
    return f"Parked ({waiting})" if waiting else "Parked"


def attach(register: RegisterScreen) -> None:
    """Keep the F10 button's words in step with the cart and the sales waiting."""
    register.parked_waiting = 0
    register.model.modelReset.connect(lambda: _label(register))
    refresh_count(register)


def _label(register: RegisterScreen) -> None:
    button = register.buttons["park"]
    button.setText(f"{button_text(register.cart.is_empty, register.parked_waiting)}\nF10")


def refresh_count(register: RegisterScreen) -> None:
    ctx = register.ctx

    def counted(n: int) -> None:
        register.parked_waiting = n
        _label(register)

    ctx.ops.run(lambda: len(parked_sales.parked(ctx.store)), success=counted)


def park_or_recall(register: RegisterScreen) -> None:
    """F10: park the sale being rung up; on an empty register, the parked sales."""
    if register.cart.is_empty:
        open_parked(register)
    else:
        park(register)


def park(register: RegisterScreen) -> None:
    """F10: keep the sale being rung up, start a new one."""
    ctx = register.ctx
    cart, customer, actor = copy.deepcopy(register.cart), register.customer_details, ctx.actor

    def parked(_id: str) -> None:
        register.new_sale()
        ctx.info("Sale parked. Press F10 on an empty sale to recall it")
        refresh_count(register)

    ctx.ops.run(lambda: parked_sales.park(ctx.store, actor, cart, customer), changes=NOTHING,
                success=parked, failure=_refused(ctx))


def open_parked(register: RegisterScreen) -> None:
    """The parked sales (on an empty register: a recalled sale never mixes with another)."""
    ctx = register.ctx
    dialog = ParkedDialog(ctx, register)
    register.parked_dialog = dialog
    dialog.recalled.connect(lambda cart, customer: _recalled(register, cart, customer))
    dialog.finished.connect(lambda _r: (refresh_count(register), register.scan.setFocus()))
    dialog.open()


def _recalled(register: RegisterScreen, cart: object, customer: CustomerDetails | None) -> None:
    register.cart.lines[:] = cart.lines  # type: ignore[attr-defined]
    register.cart.order_discount = cart.order_discount  # type: ignore[attr-defined]
    register.customer_details = customer
    register.model.refresh()
    register.ctx.info("Parked sale recalled")


NO_PARKED = "No sale is parked on this till. Park the sale in progress at the register with F10."


class ParkedDialog(FormDialog):
    """The sales parked on this till, oldest first."""

    recalled = Signal(object, object)  # Cart, CustomerDetails | None

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Parked sales", parent, width=560)
        self.setObjectName("parkedDialog")
        self.ctx = ctx
        self.items: list[parked_sales.Parked] = []
        self.list = HintedList(NO_PARKED)
        self.list.setObjectName("parkedList")
        self.list.setMinimumHeight(260)
        self.list.itemActivated.connect(lambda _i: self.recall())
        self.body.addWidget(self.list, 1)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.recall_button = QPushButton("Recall  (Enter)")
        self.recall_button.setObjectName("parkedRecall")
        self.recall_button.setProperty("kind", "primary")
        self.discard_button = QPushButton("Throw away  (Del)")
        self.discard_button.setObjectName("parkedDiscard")
        self.discard_button.setProperty("kind", "danger")
        for b in (self.recall_button, self.discard_button):
            b.setAutoDefault(False)
            buttons.addButton(b, QDialogButtonBox.ButtonRole.ActionRole)
        self.recall_button.clicked.connect(self.recall)
        self.discard_button.clicked.connect(self.discard)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self, activated=self.discard)
        self.reload()

    def reload(self) -> None:
        self.ctx.ops.run(lambda: parked_sales.parked(self.ctx.store), success=self._show)

    def _show(self, items: list[parked_sales.Parked]) -> None:
        self.items = items
        self.list.clear()
        for p in items:
            when = p.parked_at.astimezone().strftime("%H:%M") if p.parked_at.tzinfo else p.parked_at.strftime("%H:%M")
            extra = "  ·  ".join(x for x in (p.label, p.customer_name) if x)
            self.list.addItem(QListWidgetItem(
                f"{when}   {self.ctx.money(p.total)}   {count_of(p.line_count, 'line')}\n"
                f"parked by {p.parked_by}" + (f"  ·  {extra}" if extra else "")))
        if items:
            self.list.setCurrentRow(0)
        self.fail("")  # an empty list says so in its own place, not as an error
        for b in (self.recall_button, self.discard_button):
            b.setEnabled(bool(items))

    @property
    def current(self) -> parked_sales.Parked | None:
        row = self.list.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    def recall(self) -> None:
        chosen, actor = self.current, self.ctx.actor
        if chosen is None:
            return

        def done(result: tuple) -> None:
            self.recalled.emit(*result)
            self.accept()

        self.ctx.ops.run(lambda: parked_sales.recall(self.ctx.store, actor, chosen.id), changes=NOTHING,
                         success=done, failure=self._failed)

    def discard(self) -> None:
        chosen, actor = self.current, self.ctx.actor
        if chosen is None:
            return
        reason, ok = QInputDialog.getText(self, "Throw away a parked sale",
                                          f"Why is the sale of {self.ctx.money(chosen.total)} thrown away?")
        if not ok:
            return
        self.ctx.ops.run(lambda: parked_sales.discard(self.ctx.store, actor, chosen.id, reason), changes=NOTHING,
                         success=lambda _r: self.reload(), failure=self._failed)

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, parked_sales.ParkError):
            self.fail(str(exc))
            return True
        return False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.activateWindow()
        self.list.setFocus()
