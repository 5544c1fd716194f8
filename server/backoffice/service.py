"""Back-office reads (and deletes) of orders across the organisation's stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.domain import order_rules
from app.domain.ids import SERVER_DEVICE_CODE, new_id, parse_reference, server_reference
from app.domain.order_status import OrderStatus
from app.domain.permissions import Action, allowed
from server import crypto
from server.backoffice import ops
from server.backoffice.schemas import (
    AuditOut,
    OrderCreateIn,
    OrderDetail,
    OrderPage,
    OrderSummary,
    PaymentIn,
    RefundIn,
    RefundOut,
)
from server.context import AppContext, StaffPrincipal
from server.db.base import utcnow
from server.db.models import AuditEntry, Order, Payment, ServerMeta
from server.errors import ApiError, not_found
from server.feed.serialize import approval_state, order_state, payment_state
from server.sync import approvals, order_edits, order_limits, orders
from server.sync.common import OpContext, Outcome, Rejected
from sync.payloads import ApprovalRequest, EntityUpdate, PaymentData, RefundCreate
from sync.protocol import OpType


def _summary(o: Order) -> OrderSummary:
    return OrderSummary(
        id=o.id, store_id=o.store_id, reference=o.reference, status=o.status,
        is_offline=o.is_offline, currency=o.currency, total=o.total, paid=o.paid,
        refunded=o.refunded, flags=list(o.flags or []), created_at=o.created_at,
        created_by=o.created_by, device_id=o.device_id, version=o.version,
    )


def list_orders(
    ctx: AppContext,
    staff: StaffPrincipal,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    status: str | None,
    store_id: str | None,
    offline: bool | None,
    limit: int,
    phone: str | None = None,
    offset: int,
    flag: str | None = None,
) -> OrderPage:
    """``flag``: only orders carrying it, e.g. ``duplicate_reference`` (a pushed sale
    whose reference another order holds, applied and kept apart for a manager)."""
    conds = [Order.org_id == staff.org_id]
    if flag:
        conds.append(cast(Order.flags, Text).contains(f'"{flag}"', autoescape=True))
    if date_from is not None:
        conds.append(Order.created_at >= date_from)
    if date_to is not None:
        conds.append(Order.created_at < date_to)
    if status:
        conds.append(Order.status == status)
    if store_id:
        conds.append(Order.store_id == store_id)
    if offline is not None:
        conds.append(Order.is_offline.is_(offline))
    with ctx.reader() as session:
        if phone:
            cipher = crypto.cipher_of(session)
            conds.append(Order.customer_phone_index == (cipher.phone_index(phone) if cipher
                                                        else None))
        total = session.scalar(select(func.count()).select_from(Order).where(*conds)) or 0
        rows = session.scalars(
            select(Order).where(*conds).order_by(Order.created_at.desc(), Order.id)
            .limit(limit).offset(offset)
        ).all()
        return OrderPage(items=[_summary(o) for o in rows], total=total, limit=limit,
                         offset=offset)


def get_order(ctx: AppContext, staff: StaffPrincipal, order_id: str) -> OrderDetail:
    with ctx.reader() as session:
        order = session.get(Order, order_id)
        if order is None or order.org_id != staff.org_id:
            raise not_found("Order")
        audit = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "order", AuditEntry.entity_id == order_id)
            .order_by(AuditEntry.id)
        ).all()
        return OrderDetail(
            order=order_state(session, order),
            audit=[AuditOut(id=a.id, action=a.action, actor_id=a.actor_id, device_id=a.device_id,
                            op_id=a.op_id, changes=a.changes, reason=a.reason,
                            created_at=a.created_at) for a in audit],
        )


def _detail_after(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                  outcome: Outcome | None = None) -> OrderDetail:
    if outcome is not None and (err := ops.conflict_error(outcome)) is not None:
        raise err
    return get_order(ctx, staff, order_id)


def create_order(ctx: AppContext, staff: StaffPrincipal, body: OrderCreateIn) -> OrderDetail:
    """Record an order as a terminal would (same checks, flags, stock, events).

    The order's reference is made here, from the server's own code range (``GO-ZZ…``,
    which enrollment never gives a terminal), so it never takes a till's reference; the
    answer carries it. A reference is optional; one sent must have the GO- shape (422),
    and one that another order of the organization holds is refused (409
    ``duplicate_reference``): the order was most likely recorded already."""
    with ctx.reader() as session:
        if session.get(Order, body.id) is not None:
            raise ApiError(409, "exists", f"Order {body.id} already exists")
        if body.reference is not None:
            _check_sent_reference(session, staff, body.reference)
    payload = body.model_dump(mode="json", exclude={"id"})
    reference = take_server_reference(ctx, staff.org_id)

    def create(oc: OpContext) -> Outcome:
        oc.op.payload["reference"] = reference
        return orders.order_create_in(oc, server_reference=True)

    outcome, _ = ops.run(ctx, staff, body.store_id, OpType.ORDER_CREATE, body.id, payload,
                         create)
    return _detail_after(ctx, staff, body.id, outcome)


def _check_sent_reference(session: Session, staff: StaffPrincipal, reference: str) -> None:
    """A reference the caller sent: the GO- shape (422), and not another order's (409)."""
    try:
        with orders.rules():
            order_rules.check_reference(reference, from_server=True)
    except Rejected as exc:
        raise ApiError(422, "rejected", exc.reason) from exc
    held = session.scalars(select(Order.id).where(
        Order.org_id == staff.org_id, Order.reference == reference)).first()
    if held is not None:
        raise ApiError(409, "duplicate_reference",
                       f"Order reference {reference} is already used by another order",
                       {"order_id": held})


REFERENCE_COUNTER = "server_reference:"


def take_server_reference(ctx: AppContext, org_id: str) -> str:
    """The organization's next server-made reference (``GO-ZZ…``), taken in a transaction
    of its own before the order's: the counter's row is locked only for that short
    commit, so back-office creates of one organization no longer wait on each other for
    their whole transaction (they did while the organization's row was locked until the
    order committed: 29 orders/s with 100 users, p95 4.7 s, benchmarks/rest_load.py). A
    create refused afterwards leaves its number unused: references stay unique, not
    gap-free. The counter (``server_meta``) starts from the organization's highest server
    reference the first time."""
    key = (REFERENCE_COUNTER + org_id)[:100]
    bump = (update(ServerMeta).where(ServerMeta.key == key)
            .values(value=cast(cast(ServerMeta.value, Integer) + 1, String))
            .returning(ServerMeta.value))
    with ctx.writer.begin() as session:
        taken = session.scalars(bump).first()
        if taken is None:
            start = last_server_number(session, org_id)
            insert = pg_insert if ctx.engine.dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(ServerMeta).values(key=key, value=str(start))
                            .on_conflict_do_nothing())
            taken = session.scalars(bump).one()
    return server_reference(int(taken))


def last_server_number(session: Session, org_id: str) -> int:
    """The counter of the organization's highest server-made reference (0: none yet)."""
    prefix = f"GO-{SERVER_DEVICE_CODE}"
    last = session.scalars(
        select(Order.reference)
        .where(Order.org_id == org_id, Order.reference.startswith(prefix, autoescape=True))
        .order_by(func.length(Order.reference).desc(), Order.reference.desc()).limit(1)
    ).first()
    parsed = parse_reference(last) if last else None
    return parsed[1] if parsed else 0


def update_order(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                 body: EntityUpdate) -> OrderDetail:
    """Field edits with base values: merged like a terminal's order.update (409 on conflict,
    with the conflict record kept for a manager)."""
    store_id = ops.order_store(ctx, staff, order_id)
    outcome, _ = ops.run(ctx, staff, store_id, OpType.ORDER_UPDATE, order_id,
                         body.model_dump(mode="json"), order_edits.order_update)
    return _detail_after(ctx, staff, order_id, outcome)


def delete_order(ctx: AppContext, staff: StaffPrincipal, order_id: str, reason: str) -> OrderDetail:
    """Soft-delete a pending order with a reason; it reaches terminals through the feed."""
    store_id = ops.order_store(ctx, staff, order_id)

    def body(oc: OpContext) -> Outcome:
        order = orders.load_order(oc, order_id)
        if order.status == OrderStatus.DELETED.value:
            return order_edits.delete_in(oc, order_id, reason, None, None)
        blocker = order_rules.deletion_blocker(order.status, order.paid, order.refunded,
                                               order.currency)
        if blocker is not None:  # not pending, or money collected: refund first
            raise ApiError(409, "not_deletable", blocker)
        return order_edits.delete_in(oc, order_id, reason, None, None)

    outcome, _ = ops.run(ctx, staff, store_id, OpType.ORDER_DELETE, order_id,
                         {"reason": reason}, body)
    return _detail_after(ctx, staff, order_id, outcome)


def record_payment(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                   body: PaymentIn) -> dict[str, Any]:
    store_id = ops.order_store(ctx, staff, order_id)
    payment = PaymentData(
        id=body.id, order_id=order_id, method=body.method, amount=body.amount,
        tendered=body.amount if body.tendered is None else body.tendered, change=body.change,
        installment_id=body.installment_id, created_at=body.created_at or utcnow(),
    )
    payload = payment.model_dump(mode="json")
    ops.run(ctx, staff, store_id, OpType.PAYMENT_RECORD, order_id, payload,
            orders.payment_record)
    with ctx.reader() as session:
        row = session.get(Payment, body.id)
        assert row is not None
        return payment_state(row)


def list_payments(ctx: AppContext, staff: StaffPrincipal, order_id: str) -> list[dict[str, Any]]:
    ops.order_store(ctx, staff, order_id)
    with ctx.reader() as session:
        rows = session.scalars(select(Payment).where(Payment.order_id == order_id)
                               .order_by(Payment.created_at, Payment.id))
        return [payment_state(p) for p in rows]


def refund(ctx: AppContext, staff: StaffPrincipal, order_id: str, body: RefundIn) -> RefundOut:
    """Refund at once (refund.approve) or ask for an approval (refund.request only)."""
    store_id = ops.order_store(ctx, staff, order_id)
    if allowed(staff.role, Action.REFUND_APPROVE):
        data = RefundCreate(
            refund_id=body.refund_id, order_id=order_id, lines=body.lines, amount=body.amount,
            method=body.method, restock=body.restock, reason=body.reason,
            approved_by=staff.staff_id, created_at=utcnow(), without_receipt=body.without_receipt,
        )
        outcome, flags = ops.run(ctx, staff, store_id, OpType.REFUND_CREATE, body.refund_id,
                                 data.model_dump(mode="json"), lambda oc: orders.refund_in(oc, data))
        detail = _detail_after(ctx, staff, order_id, outcome)
        return RefundOut(status="refunded", order=detail.order, flags=outcome.flags)
    request = ApprovalRequest(
        approval_id=new_id(), kind="refund", order_id=order_id, reason=body.reason,
        details={"lines": [li.model_dump() for li in body.lines], "amount": body.amount,
                 "method": body.method, "restock": body.restock, "refund_id": body.refund_id}
        | ({"without_receipt": True} if body.without_receipt else {}),
        requested_at=utcnow(),
    )

    def ask(oc: OpContext) -> Any:
        # a request past the asker's own till limits is refused, not queued (403
        # above_limit): the manager refunds it themselves, on their own limits
        order_limits.check_staff_refund(oc.session, store_id, oc.actor, body.without_receipt,
                                        what="refund request")
        return approvals.request_in(oc, request)

    (approval, _), flags = ops.run(ctx, staff, store_id, OpType.APPROVAL_REQUEST,
                                   request.approval_id, request.model_dump(mode="json"), ask)
    return RefundOut(status="pending_approval", approval=approval_state(approval), flags=flags)
