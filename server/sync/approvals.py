"""approval.request and approval.decide; order.delete / refund.create settle approvals.

A cashier asks (``approval.request``); a manager decides from the approvals queue on
any terminal. A rejection syncs as ``approval.decide`` with ``approved: false``; an
approval syncs as the ``order.delete`` or ``refund.create`` it caused, carrying the
``approval_id``, which marks the approval approved here. Approvals are store-scoped
entities of the change feed (``entity_type: approval``), so every terminal of the
store shows the same queue.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from app.domain.ids import new_id
from app.domain.operations import CATALOGUE, Entity, OpType
from app.domain.order_status import OrderStatus
from app.domain.permissions import Action
from server.db.base import utcnow
from server.db.models import Approval, Customer
from server.feed.serialize import approval_state
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from server.sync.merge import record_conflict
from server.sync.orders import load_order
from sync.payloads import ApprovalDecide, ApprovalRequest, CustomerUpsert, RefundCreate
from sync.protocol import OpStatus, describe_errors

#: an approval's kind -> the action asking for it needs (the catalogue's permission)
KIND_ACTION = CATALOGUE[OpType.APPROVAL_REQUEST].permission.by_value


def publish_approval(oc: OpContext, approval: Approval) -> dict[str, object]:
    oc.session.flush()
    state = approval_state(approval)
    oc.publish(Entity.APPROVAL, approval.id, approval.version, state,
               store_id=approval.store_id)
    return state


def request_in(oc: OpContext, p: ApprovalRequest) -> tuple[Approval, bool]:
    """Record a request (idempotent by id); (approval, created)."""
    action = KIND_ACTION.get(p.kind)
    if action is None:
        raise Rejected(f"unknown approval kind {p.kind!r} (delete, refund)")
    oc.require(action)
    if not p.reason.strip():
        raise Rejected("an approval request needs a reason")
    existing = oc.session.get(Approval, p.approval_id)
    if existing is not None:
        # the same request again is a duplicate; that id on another request (another
        # order's, kind's or organization's) would swallow this one
        if (existing.org_id != oc.terminal.org_id or existing.order_id != p.order_id
                or existing.kind != p.kind):
            raise Rejected(f"approval {p.approval_id} already exists")
        return existing, False
    order = load_order(oc, p.order_id)
    status = OrderStatus(order.status)
    if p.kind == "delete" and status is not OrderStatus.PENDING:
        oc.flags.append(f"order_{status.value}")
    if p.kind == "refund" and order.paid - order.refunded <= 0:
        oc.flags.append("nothing_to_refund")
    approval = Approval(
        id=p.approval_id, org_id=order.org_id, store_id=order.store_id, kind=p.kind,
        order_id=order.id, status="pending", reason=p.reason.strip(),
        details=jsonable(p.details), requested_by=oc.actor.id, requested_at=p.requested_at,
        device_id=oc.terminal.terminal_id,
    )
    oc.session.add(approval)
    oc.audit(Entity.APPROVAL, approval.id, OpType.APPROVAL_REQUEST,
             {"kind": {"before": None, "after": p.kind},
              "order": {"before": None, "after": order.reference}},
             reason=approval.reason, store_id=approval.store_id)
    state = publish_approval(oc, approval)
    oc.emit("approval.requested", state)
    return approval, True


def approval_request(oc: OpContext) -> Outcome:
    p = oc.payload_as(ApprovalRequest)
    if p.approval_id != oc.op.entity_id:
        raise Rejected("entity_id must be the approval_id")
    approval, created = request_in(oc, p)
    flags = list(oc.flags) if created else ["approval_already_recorded"]
    return Outcome(OpStatus.APPLIED, approval.version, flags=flags)


def _decided(oc: OpContext, approval: Approval, status: str, note: str | None,
             decided_at: datetime | None) -> None:
    before = approval.status
    approval.status = status
    approval.decided_by = oc.actor.id
    approval.decided_at = decided_at or utcnow()
    approval.decision_note = note
    approval.version += 1
    oc.audit(Entity.APPROVAL, approval.id, OpType.APPROVAL_DECIDE,
             {"status": {"before": before, "after": status}}, reason=note,
             store_id=approval.store_id)
    state = publish_approval(oc, approval)
    oc.emit("approval.decided", state)


def _load(oc: OpContext, approval_id: str) -> Approval:
    approval = oc.session.get(Approval, approval_id, with_for_update=True)
    if approval is None or approval.org_id != oc.terminal.org_id:
        raise Rejected(f"approval {approval_id} does not exist on the server")
    if approval.store_id != oc.terminal.store_id:
        raise Rejected(f"approval {approval_id} belongs to another store")
    return approval


def _already(oc: OpContext, approval: Approval, wanted: str) -> Outcome:
    """The approval was decided before: the same decision is a no-op, another a conflict."""
    if approval.status == wanted:
        return Outcome(OpStatus.APPLIED, approval.version, flags=["already_decided"])
    conflict = record_conflict(
        oc, Entity.APPROVAL, approval.id, "approval_already_decided",
        {"status": {"base": "pending", "server": approval.status, "terminal": wanted},
         "decided_by": {"base": None, "server": approval.decided_by, "terminal": oc.actor.id}},
        store_id=approval.store_id)
    return Outcome(OpStatus.CONFLICT, approval.version, conflict_id=conflict.id,
                   reason=f"the request was already {approval.status} on the server")


def reject_in(oc: OpContext, approval: Approval, note: str | None,
              decided_at: datetime | None) -> Outcome:
    oc.require(Action.APPROVAL_DECIDE)
    if approval.status != "pending":
        return _already(oc, approval, "rejected")
    _decided(oc, approval, "rejected", note, decided_at)
    return Outcome(OpStatus.APPLIED, approval.version)


def approval_decide(oc: OpContext) -> Outcome:
    """A manager's decision. ``approved: true`` here also carries the change out."""
    p = oc.payload_as(ApprovalDecide)  # (the dispatch checked approval.decide)
    if p.approval_id != oc.op.entity_id:
        raise Rejected("entity_id must be the approval_id")
    approval = _load(oc, p.approval_id)
    if not p.approved:
        return reject_in(oc, approval, p.note, p.decided_at)
    if approval.status != "pending":
        return _already(oc, approval, "approved")
    return carry_out(oc, approval, p.note, p.decided_at)


def carry_out(oc: OpContext, approval: Approval, note: str | None,
              decided_at: datetime | None) -> Outcome:
    """Approve a pending request and make the change: delete the order or refund it."""
    from server.sync.order_edits import delete_in
    from server.sync.orders import refund_in

    if approval.kind == "delete":
        oc.require(Action.ORDER_DELETE)
        outcome = delete_in(oc, approval.order_id, approval.reason, oc.actor.id, approval.id)
    else:
        oc.require(Action.REFUND_APPROVE)
        d = approval.details or {}
        try:
            refund = RefundCreate(
                refund_id=d.get("refund_id") or new_id(), order_id=approval.order_id, lines=d.get("lines") or [],
                amount=d.get("amount", 0), method=d.get("method") or "cash",
                restock=bool(d.get("restock", True)), reason=approval.reason,
                approved_by=oc.actor.id, created_at=decided_at or utcnow(),
                approval_id=approval.id, without_receipt=d.get("without_receipt") is True)
        except ValidationError as exc:
            raise Rejected("the refund request's details are not valid: "
                           + describe_errors(exc, whole="details")) from exc
        outcome = refund_in(oc, refund)
    if approval.status == "pending":
        _decided(oc, approval, "approved", note, decided_at)
    outcome.flags = list(dict.fromkeys(outcome.flags + oc.flags))
    return outcome


def settle(oc: OpContext, approval_id: str | None, kind: str, order_id: str,
           note: str | None = None) -> None:
    """Mark the approval an ``order.delete`` / ``refund.create`` carried out as approved."""
    if not approval_id:
        return
    approval = oc.session.get(Approval, approval_id, with_for_update=True)
    if approval is None or approval.org_id != oc.terminal.org_id:
        oc.flags.append("unknown_approval")
        return
    if approval.kind != kind or approval.order_id != order_id:
        oc.flags.append("approval_mismatch")
        return
    if approval.status == "approved":
        return
    if approval.status == "rejected":
        oc.flags.append("approval_was_rejected")
        oc.audit(Entity.APPROVAL, approval.id, "approval.overridden",
                 {"status": {"before": "rejected", "after": "rejected"}},
                 reason=f"{kind} carried out by {oc.actor.id} after a rejection",
                 store_id=approval.store_id)
        return
    _decided(oc, approval, "approved", note, oc.op.created_at)


def customer_upsert(oc: OpContext) -> Outcome:
    """Create or update a customer (sealed at rest); fields not given are kept. Only a
    push applies it: the dispatch checked the right (the catalogue's, sale.create)."""
    p = oc.payload_as(CustomerUpsert)
    customer = oc.session.get(Customer, oc.op.entity_id, with_for_update=True)
    given = {k: v for k, v in p.model_dump().items() if v is not None}
    if customer is None:
        customer = Customer(id=oc.op.entity_id, org_id=oc.terminal.org_id, data=given)
        oc.session.add(customer)
        oc.audit(Entity.CUSTOMER, customer.id, "customer.create",
                 {k: {"before": None, "after": "(sealed)"} for k in given})
        return Outcome(OpStatus.APPLIED, 1)
    if customer.org_id != oc.terminal.org_id:
        raise Rejected(f"customer {oc.op.entity_id} belongs to another organization")
    merged = dict(customer.data or {}) | given
    if merged == customer.data:
        return Outcome(OpStatus.APPLIED, customer.version, flags=["no_change"])
    customer.data = merged
    customer.version += 1
    customer.updated_at = utcnow()
    oc.audit(Entity.CUSTOMER, customer.id, "customer.update",
             {k: {"before": "(sealed)", "after": "(sealed)"} for k in given})
    return Outcome(OpStatus.APPLIED, customer.version)
