"""What a person can do to an order from its detail: edit, pay, ask for deletion or refund.

Each request ends either at the till ("Approve now with manager PIN": the PIN
override dialog names the approver, then ``approvals.*_with_override``) or in the
approvals queue, where any manager decides later on any terminal. Printing after
the fact (schedule, refund receipt, reprint) goes through the print queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.domain.order_rules import deletion_blocker
from app.domain.permissions import Action
from app.services import approvals, order_edits, payment_plans, sales
from app.services.changes import Changes
from app.services.order_detail import OrderDetail
from ui import messages
from ui.context import AppContext
from ui.dialogs.common import show_flow_error
from ui.dialogs.installment import PaymentDialog
from ui.dialogs.order_edit import EditOrderDialog
from ui.dialogs.order_requests import QUEUE, DeletionRequestDialog, RefundRequestDialog
from ui.dialogs.pin_override import PinOverrideDialog
from ui.receipts import print_receipt, process_queue

AFTER_SALE = Changes(orders=True, approvals=True, stock=True, outbox=True)
SELF_APPROVED = "Approved at the till by the requesting manager"


class OrderActions(QObject):
    """Runs the flows; ``done(order_id)`` after each change that was recorded."""

    done = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx, self.host = ctx, parent
        self.dialog: Any = None  # the dialog open right now (tests drive it)
        self.override: PinOverrideDialog | None = None

    # -- running ----------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], order_id: str, message: str,
             then: Callable[[Any], None] | None = None) -> None:
        def success(result: Any) -> None:
            self.ctx.info(message)
            self.done.emit(order_id)
            if then is not None:
                then(result)

        self.ctx.ops.run(fn, changes=AFTER_SALE, success=success, failure=show_flow_error(self.ctx.error))

    def _open(self, dialog: Any, accepted: Callable[[], None]) -> None:
        self.dialog = dialog
        dialog.accepted.connect(accepted)
        dialog.open()

    def _with_override(self, action: Action, what: str, fn: Callable[[Any], Any], order_id: str,
                       message: str, then: Callable[[Any], None] | None = None) -> None:
        dialog = PinOverrideDialog(self.ctx, action, what, self.host)
        self.override = dialog
        dialog.accepted.connect(lambda: self._run(lambda: fn(dialog.approver), order_id,
                                                  f"{message} (approved by {dialog.approver.name})", then))
        dialog.open()

    # -- edit -------------------------------------------------------------------
    def edit(self, detail: OrderDetail) -> None:
        dialog = EditOrderDialog(detail, self.ctx.money, self.host, ctx=self.ctx)
        actor, store = self.ctx.actor, self.ctx.store

        def save() -> None:  # the dialog stays open until saved; a refusal keeps what was typed
            customer, lines, note, reason = (dialog.customer(), dialog.line_changes(), dialog.note_value(),
                                             dialog.reason_value())
            added = dialog.added_lines()
            refused = show_flow_error(dialog.refused)

            def failure(exc: BaseException) -> bool:
                dialog.setEnabled(True)  # whatever went wrong, what was typed is still there
                return refused(exc)

            self.ctx.ops.run(lambda: order_edits.edit_order(store, actor, detail.id, customer=customer,
                                                            lines=lines, note=note, reason=reason,
                                                            added=added),
                             changes=AFTER_SALE, success=lambda _r: (dialog.saved(), self._edited(detail)),
                             failure=failure)

        dialog.submitted.connect(save)
        self._open(dialog, lambda: None)

    def _edited(self, detail: OrderDetail) -> None:
        self.ctx.info(f"Order {detail.reference} changed")
        self.done.emit(detail.id)

    # -- payments ---------------------------------------------------------------
    def pay(self, detail: OrderDetail) -> None:
        """Pay the next installment (or the balance of an order without a plan)."""
        plan, installment_id = detail.plan, None
        suggested, title = detail.balance, f"Payment on {detail.reference}"
        if plan is not None:
            installment_id = payment_plans.next_installment_id(plan)
            nxt = next((i for i in plan.installments if i.outstanding), None)
            if nxt is not None:
                suggested = nxt.outstanding
                title = f"Installment {nxt.number} of {len(plan.installments)} — {detail.reference}"
        dialog = PaymentDialog(self.ctx, title, suggested, detail.balance, self.host)
        actor, store = self.ctx.actor, self.ctx.store

        def take() -> None:
            tender = dialog.tender
            self._run(lambda: sales.record_payment(store, actor, detail.id, tender, installment_id),
                      detail.id, f"Payment taken on {detail.reference}", self._paid)

        self._open(dialog, take)

    def _paid(self, result: sales.SaleResult) -> None:
        text = f"{result.reference}: {result.status.value}"
        if result.change:
            text += f". Change due {self.ctx.money(result.change)}"
        self.ctx.info(text)
        print_receipt(self.ctx, result.order_id, open_drawer=result.cash_tendered)

    # -- deletion ---------------------------------------------------------------
    def request_deletion(self, detail: OrderDetail) -> None:
        approve_self = self.ctx.can(Action.ORDER_DELETE)
        # the shared rule (app/domain/order_rules.py): money collected is refunded first
        blocked = deletion_blocker(detail.status, detail.paid, detail.refunded, self.ctx.currency)
        can_refund = (blocked is not None and self.ctx.can(Action.REFUND_REQUEST)
                      and any(li.qty_milli > li.refunded_qty_milli for li in detail.lines))
        dialog = DeletionRequestDialog(detail.reference, self.host, approve_self=approve_self,
                                       blocked=blocked, can_refund=can_refund)
        if can_refund:
            dialog.refund_button.clicked.connect(lambda: (dialog.reject(), self.request_refund(detail)))
        self._open(dialog, lambda: self._deletion_chosen(detail, dialog, approve_self))

    def _deletion_chosen(self, detail: OrderDetail, dialog: DeletionRequestDialog, approve_self: bool) -> None:
        store, actor, reason, ref = self.ctx.store, self.ctx.actor, dialog.reason_text, detail.reference
        if dialog.route == QUEUE:
            self._run(lambda: approvals.request_deletion(store, actor, detail.id, reason), detail.id,
                      f"Deletion of {ref} sent to the approvals queue")
        elif approve_self:
            self._run(lambda: approvals.decide(store, actor, approvals.request_deletion(
                store, actor, detail.id, reason), True, SELF_APPROVED), detail.id, f"Order {ref} deleted")
        else:
            self._with_override(Action.ORDER_DELETE, f"Delete order {ref}: “{reason}”",
                                lambda approver: approvals.delete_with_override(store, actor, approver,
                                                                                detail.id, reason),
                                detail.id, f"Order {ref} deleted")

    # -- refund -----------------------------------------------------------------
    def request_refund(self, detail: OrderDetail) -> None:
        approve_self = self.ctx.can(Action.REFUND_APPROVE)
        dialog = RefundRequestDialog(detail, self.ctx.money, self.host, approve_self=approve_self)
        self._open(dialog, lambda: self._refund_chosen(detail, dialog, approve_self))

    def _refund_chosen(self, detail: OrderDetail, dialog: RefundRequestDialog, approve_self: bool) -> None:
        store, actor, ref = self.ctx.store, self.ctx.actor, detail.reference
        items, reason = dialog.items(), dialog.reason_text
        kw = {"method": dialog.method_value, "restock": dialog.restock_value,
              "without_receipt": dialog.no_receipt.isChecked()}
        printed = lambda _r: self.print_refund(detail.id)  # noqa: E731
        if dialog.route == QUEUE:
            self._run(lambda: approvals.request_refund(store, actor, detail.id, items, reason, **kw), detail.id,
                      f"Refund on {ref} sent to the approvals queue")
        elif approve_self:
            self._run(lambda: approvals.decide(store, actor, approvals.request_refund(
                store, actor, detail.id, items, reason, **kw), True, SELF_APPROVED),
                detail.id, f"Refund on {ref} done", printed)
        else:
            self._with_override(Action.REFUND_APPROVE,
                                f"Refund {self.ctx.money(dialog.refund_amount())} on order {ref}: “{reason}”",
                                lambda approver: approvals.refund_with_override(store, actor, approver, detail.id,
                                                                                items, reason, **kw),
                                detail.id, f"Refund on {ref} done", printed)

    # -- printing ---------------------------------------------------------------
    def _enqueue(self, fn: Callable[[Any], Any], what: str) -> None:
        service = self.ctx.printing
        if service is None:
            self.ctx.warn(messages.PRINTING_UNAVAILABLE)
            return
        self.ctx.ops.run(lambda: fn(service), success=lambda _job: process_queue(self.ctx),
                         failure=show_flow_error(lambda text: self.ctx.warn(f"{what} was not queued: {text}")))

    def print_schedule(self, order_id: str) -> None:
        self._enqueue(lambda service: service.enqueue_schedule(order_id), "The payment schedule")

    def print_refund(self, order_id: str) -> None:
        self._enqueue(lambda service: service.enqueue_latest_refund(order_id), "The refund receipt")

    def reprint(self, order_id: str) -> None:
        print_receipt(self.ctx, order_id, reprint=True)
