"""Deletions and refunds: a cashier asks, a manager or owner decides.

Decided at the till with a PIN override (:func:`delete_with_override`,
:func:`refund_with_override`) or later from the approvals queue on any terminal
(:func:`decide`). Deletion is soft: the order stays, marked deleted with the
reason. A refund goes back to the original tender or cash, restocking or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.domain import order_balance, order_rules, stock_rules, till_limits
from app.domain.ids import new_id
from app.domain.limits import MAX_DECISION_NOTE, MAX_REASON
from app.domain.operations import OpType
from app.domain.order_rules import RuleError, SoldLine
from app.domain.order_status import OrderStatus, StatusError, check_transition
from app.domain.payloads import ApprovalDecide, ApprovalRequest, OrderDelete, RefundCreate
from app.domain.payloads import RefundLine as RefundLineData
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.services import till_ceiling
from app.store.local import LocalStore
from app.store.models import Order, OrderLine, Payment, StockMovement, StoreSettings
from app.store.models_aftersale import Approval, Refund, RefundLine
from app.store.rows import payment_row
from app.store.unit_of_work import Actor, Mutation, mutation


class ApprovalError(ValueError):
    """A request or decision that cannot be made; the message is for the person."""


@dataclass(frozen=True)
class RefundItem:
    line_id: str
    qty_milli: int


def _order(m: Mutation, order_id: str) -> Order:
    order = m.session.get(Order, order_id)
    if order is None:
        raise ApprovalError("Order not found")
    return order


def _need_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ApprovalError("A reason is required")
    problem = too_long("The reason", reason.strip(), MAX_REASON)
    if problem:
        raise ApprovalError(problem)
    return reason.strip()


def request_deletion(store: LocalStore, actor: Actor, order_id: str, reason: str) -> str:
    require(actor.role, Action.ORDER_DELETE_REQUEST)
    reason = _need_reason(reason)
    with mutation(store.db, store.device_id, actor, Action.ORDER_DELETE_REQUEST) as m:
        order = _order(m, order_id)
        _check_deletable(order)
        return _new_request(m, "delete", order, reason, {})


def _check_deletable(order: Order) -> None:
    """Pending, and no money collected on it (refund that first): the shared rule."""
    try:
        check_transition(OrderStatus(order.status), OrderStatus.DELETED)
    except StatusError as exc:
        raise ApprovalError(f"{exc}; a paid order is corrected by a refund") from exc
    try:
        order_rules.check_deletable(order.status, order.paid, order.refunded, order.currency)
    except RuleError as exc:
        raise ApprovalError(str(exc)) from exc


def refund_details(order: Order, items: list[RefundItem], method: str | None, restock: bool) -> dict:
    """Validate refund lines against what was sold and not yet refunded (the shared
    rules); price them. The amount is at most what was collected."""
    lines = {li.id: li for li in order.lines}
    sold = {li.id: SoldLine(li.name, li.qty_milli, li.refunded_qty_milli) for li in order.lines}
    if not items:
        raise ApprovalError("Choose what to refund")
    priced: list[dict[str, int | str]] = []
    taken: dict[str, int] = {}  # (one line named twice: priced on from the first)
    for item in items:
        line = lines.get(item.line_id)
        already = (line.refunded_qty_milli or 0) + taken.get(item.line_id, 0) if line else 0
        amount = (order_balance.refund_line_amount(line.total, line.qty_milli, already,
                                                   item.qty_milli) if line else 0)
        taken[item.line_id] = taken.get(item.line_id, 0) + item.qty_milli
        priced.append({"line_id": item.line_id, "qty_milli": item.qty_milli, "amount": amount})
    original = order.payments[0].method if order.payments else "cash"
    amount = min(sum(int(p["amount"]) for p in priced), order_rules.collected(order.paid, order.refunded))
    details = {"lines": priced, "amount": amount, "method": method or original, "restock": restock}
    _check_refund(order, details, sold)
    return details


def _check_refund(order: Order, details: dict, sold: dict[str, SoldLine] | None = None) -> None:
    lines = [RefundItemIn(i["line_id"], i["qty_milli"], i["amount"]) for i in details["lines"]]
    if sold is None:
        sold = {li.id: SoldLine(li.name, li.qty_milli, li.refunded_qty_milli) for li in order.lines}
    try:
        order_rules.check_method(details["method"])
        order_rules.check_refund_lines(lines, sold)
        order_rules.check_refund_money(details["amount"], order.paid, order.refunded, order.currency)
    except RuleError as exc:
        raise ApprovalError(str(exc)) from exc


@dataclass(frozen=True)
class RefundItemIn:
    line_id: str
    qty_milli: int
    amount: int


def request_refund(store: LocalStore, actor: Actor, order_id: str, items: list[RefundItem], reason: str,
                   *, method: str | None = None, restock: bool = True,
                   without_receipt: bool = False) -> str:
    """Ask for a refund; ``without_receipt``: the customer has no receipt (a till limit by
    role: who approves it must be allowed one, app/domain/till_limits.py)."""
    require(actor.role, Action.REFUND_REQUEST)
    reason = _need_reason(reason)
    with mutation(store.db, store.device_id, actor, Action.REFUND_REQUEST) as m:
        order = _order(m, order_id)
        refundable = order.status == OrderStatus.COMPLETED.value or (
            order.status == OrderStatus.PENDING.value
            and order_rules.collected(order.paid, order.refunded) > 0)
        if not refundable:
            raise ApprovalError(f"Order {order.reference} is {order.status}; "
                                "only money collected on an order is refunded")
        details = refund_details(order, items, method, restock)
        if without_receipt:
            details["without_receipt"] = True
        return _new_request(m, "refund", order, reason, details)


def _new_request(m: Mutation, kind: str, order: Order, reason: str, details: dict) -> str:
    approval = Approval(id=new_id(), kind=kind, order_id=order.id, status="pending", reason=reason,
                        details=details, requested_by=m.actor.staff_id, requested_at=m.at, device_id=m.device.id)
    m.session.add(approval)
    m.audit("approval", approval.id, {"kind": {"before": None, "after": kind},
                                      "order": {"before": None, "after": order.reference}}, reason=reason)
    m.emit(OpType.APPROVAL_REQUEST, approval.id, ApprovalRequest(
        approval_id=approval.id, kind=kind, order_id=order.id, reason=reason, details=details,
        requested_at=m.at))
    return approval.id


def _apply_deletion(m: Mutation, approval: Approval, requested_by: str) -> None:
    order = _order(m, approval.order_id)
    _check_deletable(order)  # a payment may have been taken since the request
    before = order.status
    order.status, order.deleted_reason, order.updated_at = OrderStatus.DELETED.value, approval.reason, m.at
    m.audit("order", order.id, {"status": {"before": before, "after": order.status}}, reason=approval.reason)
    m.emit(OpType.ORDER_DELETE, order.id, OrderDelete(
        reason=approval.reason, approved_by=m.actor.staff_id, approval_id=approval.id,
        requested_by=requested_by), base_version=order.version)


def _apply_refund(m: Mutation, approval: Approval) -> None:
    order = _order(m, approval.order_id)
    d = approval.details
    _check_refund(order, d)  # still within what was sold and collected when approved
    without_receipt = bool(d.get("without_receipt"))
    if without_receipt:  # the store's till limits: who may allow a refund with no receipt
        limits = till_limits.from_dict(m.session.scalar(select(StoreSettings.till_limits).limit(1)))
        why = till_limits.refund_breach(limits, m.actor.role, True)
        if why is not None:
            raise ApprovalError(f"{m.actor.name}: {why}; a manager whose limits allow it approves it")
    refund = Refund(id=new_id(), order_id=order.id, approval_id=approval.id, amount=d["amount"],
                    method=d["method"], restock=d["restock"], reason=approval.reason,
                    requested_by=approval.requested_by, approved_by=m.actor.staff_id, created_at=m.at)
    lines = {li.id: li for li in order.lines}
    for item in d["lines"]:
        line: OrderLine = lines[item["line_id"]]
        line.refunded_qty_milli += item["qty_milli"]
        refund.lines.append(RefundLine(id=new_id(), order_line_id=line.id, qty_milli=item["qty_milli"],
                                       amount=item["amount"]))
        if d["restock"] and line.product_id:
            m.session.add(StockMovement(id=new_id(), product_id=line.product_id, kind=stock_rules.REFUND,
                                        qty_delta_milli=item["qty_milli"], reason=approval.reason,
                                        reference=order.reference, order_id=order.id, actor_id=m.actor.staff_id,
                                        device_id=m.device.id, created_at=m.at, synced=True))
    m.session.add(refund)
    m.session.add(Payment(**payment_row(order.id, d["method"], -d["amount"], actor_id=m.actor.staff_id,
                                        device_id=m.device.id, created_at=m.at)))
    before = {"refunded": order.refunded, "status": order.status}
    order.refunded += d["amount"]
    order.status = order_rules.next_status(order.status, order.total, order.paid, order.refunded,
                                           order.returned).value
    order.updated_at = m.at
    m.audit("order", order.id, {"refunded": {"before": before["refunded"], "after": order.refunded},
                                "status": {"before": before["status"], "after": order.status}},
            reason=approval.reason)
    m.emit(OpType.REFUND_CREATE, refund.id, RefundCreate(
        refund_id=refund.id, order_id=order.id, lines=[RefundLineData(**i) for i in d["lines"]],
        amount=d["amount"], method=d["method"], restock=d["restock"], reason=approval.reason,
        approved_by=m.actor.staff_id, approval_id=approval.id, created_at=m.at,
        without_receipt=without_receipt))


def decide(store: LocalStore, approver: Actor, approval_id: str, approve: bool, note: str | None = None) -> None:
    """A manager's decision from the approvals queue (or right after an override).

    An approved refund pays money back from this till, so, like a sale, it belongs to
    an open shift: with none, the store's ``auto_open_shift`` opens one and the decision
    is made again, else shifts.NoOpenShift with the request left pending."""
    from app.services import shifts  # shifts reaches the reports, which read refunds

    require(approver.role, Action.APPROVAL_DECIDE)
    problem = too_long("The note", note, MAX_DECISION_NOTE)
    if problem:
        raise ApprovalError(problem)
    try:
        _decide(store, approver, approval_id, approve, note)
    except shifts.NoOpenShift:
        shifts.require_open(store, approver)  # opened, or refused in words
        _decide(store, approver, approval_id, approve, note)


def _decide(store: LocalStore, approver: Actor, approval_id: str, approve: bool, note: str | None) -> None:
    from app.services import shifts

    with mutation(store.db, store.device_id, approver, OpType.APPROVAL_DECIDE) as m:
        above = till_ceiling.refusal(approver.name, approver.role, till_ceiling.read_ceiling(m.session))
        if above is not None:  # the server would quarantine the decision: say so here
            raise ApprovalError(above)
        approval = m.session.get(Approval, approval_id)
        if approval is None:
            raise ApprovalError("Approval request not found")
        if approval.status != "pending":
            raise ApprovalError(f"This request was already {approval.status}")
        if approve and approval.kind == "refund":
            shifts.still_open(m)  # read once, under the write lock: nothing written without one
        _record_decision(m, approval, approve, note)
        if not approve:
            m.emit(OpType.APPROVAL_DECIDE, approval.id, ApprovalDecide(
                approval_id=approval.id, approved=False, note=note, decided_at=m.at))
        elif approval.kind == "delete":
            require(approver.role, Action.ORDER_DELETE)
            _apply_deletion(m, approval, approval.requested_by)
        else:
            require(approver.role, Action.REFUND_APPROVE)
            _apply_refund(m, approval)


def _record_decision(m: Mutation, approval: Approval, approve: bool, note: str | None) -> None:
    approval.status = "approved" if approve else "rejected"
    approval.decided_by, approval.decided_at, approval.decision_note = m.actor.staff_id, m.at, note
    m.audit("approval", approval.id, {"status": {"before": "pending", "after": approval.status}}, reason=note)


def delete_with_override(store: LocalStore, cashier: Actor, approver: Actor, order_id: str, reason: str) -> None:
    """Delete at the till: the cashier asks, the manager's PIN approves on the spot."""
    approval_id = request_deletion(store, cashier, order_id, reason)
    decide(store, approver, approval_id, True, note="PIN override at the till")


def refund_with_override(store: LocalStore, cashier: Actor, approver: Actor, order_id: str,
                         items: list[RefundItem], reason: str, *, method: str | None = None,
                         restock: bool = True, without_receipt: bool = False) -> str:
    approval_id = request_refund(store, cashier, order_id, items, reason, method=method, restock=restock,
                                 without_receipt=without_receipt)
    decide(store, approver, approval_id, True, note="PIN override at the till")
    return approval_id


@dataclass(frozen=True)
class PendingApproval:
    id: str
    kind: str
    order_id: str
    order_reference: str
    reason: str
    amount: int | None
    requested_by: str
    requested_at: datetime


def pending(store: LocalStore) -> list[PendingApproval]:
    """The approvals queue: every undecided request of this store, oldest first."""
    with store.db.read() as s:
        rows = s.execute(select(Approval, Order.reference).join(Order, Order.id == Approval.order_id)
                         .where(Approval.status == "pending").order_by(Approval.requested_at))
        return [PendingApproval(a.id, a.kind, a.order_id, ref, a.reason, a.details.get("amount"),
                                a.requested_by, a.requested_at) for a, ref in rows]
