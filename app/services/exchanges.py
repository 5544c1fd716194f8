"""An exchange: items of an earlier order come back, new items go out, one receipt.

It is the existing operations in a row, each its own mutation (rows, audit entry and
outbox operation), so the server checks each with the rules it already has and
nothing new crosses the wire; all of them commit in one transaction
(app/store/unit_of_work.one_transaction), so a crash or a refusal part-way leaves
neither the refund without the sale nor anything else:

1. the refund of the returned lines, asked for and approved on the spot
   (``approval.request`` then ``refund.create``, within the refund rules: what was sold
   and not yet refunded, at most what was collected; a manager approves, by PIN at the
   till when the cashier may not);
2. the new items as a sale (``order.create`` with its payment), noted
   "Exchange for GO-…".

The money: the refund goes back by the exchange's tender and the new sale is paid by
the same tender, so that tender's net is the difference: positive when the customer
pays it, negative when it is given back to them. What the sale could refuse (an
empty cart, a discount past the till limits, a tender) is checked first, and
anything refused later undoes the whole exchange: a refused exchange writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.domain import order_rules
from app.domain.cart import Cart
from app.domain.order_rules import RuleError
from app.domain.permissions import Action, PermissionDenied, require
from app.domain.tender import Method, Tender, TenderError, apply_tenders
from app.services import approvals, sales, shifts, till_limits
from app.services.approvals import ApprovalError, RefundItem
from app.store.local import LocalStore
from app.store.models import Order
from app.store.models_aftersale import Refund
from app.store.unit_of_work import Actor, one_transaction

#: the note the new sale carries (and the reason the refund carries)
EXCHANGE_NOTE = "Exchange for {reference}"
SELF_APPROVED = "Exchange approved at the till by the manager making it"
PIN_APPROVED = "Exchange approved at the till with a manager's PIN"


class ExchangeError(ValueError):
    """An exchange that cannot be made as asked; the message is for the cashier."""


@dataclass(frozen=True)
class ExchangeResult:
    refund_id: str
    returned_order_id: str
    returned_reference: str
    new_order_id: str
    new_reference: str
    returned: int  # what the returned items are worth (the refund)
    new_total: int  # the new items
    method: str  # the tender the difference went by
    tendered: int  # cash handed over for a positive difference (else the difference)
    change: int

    @property
    def net(self) -> int:
        """Positive: the customer paid this; negative: it was given back to them."""
        return self.new_total - self.returned


def difference(returned: int, new_total: int) -> int:
    return new_total - returned


def tenders_for(returned: int, new_total: int, method: Method, cash_given: int | None = None) -> list[Tender]:
    """The new sale's tenders: the returned items' worth and the difference, by ``method``.

    Cash over the difference (``cash_given``) gives change, as at the register."""
    if new_total <= 0:
        return []
    net = new_total - returned
    if net > 0 and method is Method.CASH and cash_given is not None:
        if cash_given < net:
            raise ExchangeError("The cash handed over is less than the difference to pay")
        return [Tender(method, new_total - net + cash_given)]
    return [Tender(method, new_total)]


def returned_amount(store: LocalStore, order_id: str, items: list[RefundItem]) -> int:
    """What the returned items come to, priced by the refund rules (approvals.refund_details)."""
    with store.db.read() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise ExchangeError("Order not found")
        try:
            return int(approvals.refund_details(order, items, None, True)["amount"])
        except ApprovalError as exc:
            raise ExchangeError(str(exc)) from exc


def _check_first(store: LocalStore, actor: Actor, approver: Actor, cart: Cart,
                 sale_approver: Actor | None, tenders: list[Tender], note: str) -> None:
    try:
        require(actor.role, Action.REFUND_REQUEST)
        require(actor.role, Action.SALE_CREATE)
        require(approver.role, Action.REFUND_APPROVE)
    except PermissionDenied as exc:
        raise ExchangeError(str(exc)) from exc
    if cart.is_empty:
        raise ExchangeError("Add the new items; with nothing new it is a refund")
    try:
        till_limits.check_sale(store, actor, sale_approver, cart)
        apply_tenders(cart.totals().total, tenders)
        order_rules.check_note(note)
    except (till_limits.TillLimitError, TenderError, RuleError) as exc:
        raise ExchangeError(str(exc)) from exc


def record_exchange(store: LocalStore, actor: Actor, approver: Actor, order_id: str,
                    items: list[RefundItem], cart: Cart, method: Method, reason: str, *,
                    restock: bool = True, cash_given: int | None = None,
                    sale_approver: Actor | None = None) -> ExchangeResult:
    """Refund ``items`` of order ``order_id`` and sell ``cart``, the difference by ``method``.

    ``approver`` approves the refund (``actor`` themself when their role may); the
    refund goes back by ``method``, the sale is paid by it. ``sale_approver``: a
    manager whose PIN allowed a discount past the actor's till limits, as at the register.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ExchangeError("A reason is required")
    with store.db.read() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise ExchangeError("Order not found")
        reference = order.reference
    note = EXCHANGE_NOTE.format(reference=reference)
    returned = returned_amount(store, order_id, items)
    new_total = cart.totals().total
    tenders = tenders_for(returned, new_total, method, cash_given)
    _check_first(store, actor, approver, cart, sale_approver, tenders, note)
    # the new sale needs an open shift: opened (or refused) before anything is written
    shifts.require_open(store, actor)
    try:
        with one_transaction(store.db) as session:
            approval_id = approvals.request_refund(store, actor, order_id, items, f"{note}: {reason}",
                                                   method=method.value, restock=restock)
            approvals.decide(store, approver, approval_id, True,
                             SELF_APPROVED if approver.staff_id == actor.staff_id else PIN_APPROVED)
            refund_id = session.scalar(select(Refund.id).where(Refund.approval_id == approval_id))
            if refund_id is None:
                raise ExchangeError("The refund of the returned items was not made")
            sale = sales.record_sale(store, actor, cart, tenders, note=note, approver=sale_approver)
    except (ApprovalError, PermissionDenied, sales.SaleError) as exc:  # nothing was written
        raise ExchangeError(str(exc)) from exc
    net = new_total - returned
    handed = cash_given if net > 0 and method is Method.CASH and cash_given is not None else max(net, 0)
    return ExchangeResult(refund_id, order_id, reference, sale.order_id, sale.reference, returned,
                          new_total, method.value, handed, sale.change)
