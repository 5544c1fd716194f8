"""/offline-orders: the back office's view of orders recorded by terminals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.domain.order_status import OrderStatus
from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.backoffice import service
from server.backoffice.schemas import DeleteIn, OrderDetail, OrderPage

router = APIRouter(prefix="/offline-orders", tags=["back office"])


@router.get("", response_model=OrderPage)
def list_orders(
    staff: StaffDep,
    ctx: CtxDep,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    status: OrderStatus | None = None,
    store_id: Annotated[str | None, Query(max_length=64)] = None,
    offline: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrderPage:
    """Orders of the organisation, newest first, filtered by time, status, store, offline."""
    require(staff, Action.ORDER_VIEW)
    return service.list_orders(
        ctx, staff, date_from=date_from, date_to=date_to,
        status=status.value if status else None, store_id=store_id, offline=offline,
        limit=limit, offset=offset,
    )


@router.get("/{order_id}", response_model=OrderDetail)
def get_order(order_id: str, staff: StaffDep, ctx: CtxDep) -> OrderDetail:
    """One order with lines, payments, refunds and its audit trail."""
    require(staff, Action.ORDER_VIEW)
    return service.get_order(ctx, staff, order_id)


@router.delete("/{order_id}", response_model=OrderDetail)
def delete_order(order_id: str, body: DeleteIn, staff: StaffDep, ctx: CtxDep) -> OrderDetail:
    """Delete a pending order with a reason (owner, admin or manager; 403 otherwise)."""
    require(staff, Action.ORDER_DELETE)
    return service.delete_order(ctx, staff, order_id, body.reason)
