"""Back-office reads (and deletes) of orders across the organisation's stores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.domain.order_status import OrderStatus
from server.backoffice.schemas import AuditOut, OrderDetail, OrderPage, OrderSummary
from server.context import AppContext, StaffPrincipal
from server.db.base import utcnow
from server.db.models import AuditEntry, Order
from server.errors import ApiError, not_found
from server.feed.serialize import order_state
from server.feed.writer import FeedWriter
from server.webhooks import outbox


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
    offset: int,
) -> OrderPage:
    conds = [Order.org_id == staff.org_id]
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


def delete_order(ctx: AppContext, staff: StaffPrincipal, order_id: str, reason: str) -> OrderDetail:
    """Soft-delete a pending order with a reason; it reaches terminals through the feed."""
    with ctx.writer.begin() as session:
        probe = session.get(Order, order_id)
        if probe is None or probe.org_id != staff.org_id:
            raise not_found("Order")
        feed = FeedWriter.for_store(session, probe.store_id)
        order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
        assert order is not None
        if order.status != OrderStatus.PENDING.value:
            raise ApiError(409, "not_deletable",
                           f"The order is {order.status}; only pending orders can be deleted")
        before = order.status
        order.status = OrderStatus.DELETED.value
        order.deleted_reason, order.deleted_by = reason, staff.staff_id
        order.version += 1
        order.updated_at = utcnow()
        session.add(AuditEntry(
            org_id=order.org_id, store_id=order.store_id, entity_type="order",
            entity_id=order.id, action="order.delete", actor_id=staff.staff_id,
            changes={"status": {"before": before, "after": order.status}}, reason=reason,
        ))
        session.flush()
        state = order_state(session, order)
        feed.append("order", order.id, order.version, state, deleted=True)
        outbox.emit(session, ctx.settings.webhook_urls, order.org_id, "offline_order.deleted",
                    state)
    return get_order(ctx, staff, order_id)
