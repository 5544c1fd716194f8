"""/offline-orders: the back office's view of orders recorded by terminals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.domain.limits import MAX_PHONE
from app.domain.order_status import OrderStatus
from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.backoffice import service
from server.backoffice.schemas import (
    DeleteIn,
    OrderCreateIn,
    OrderDetail,
    OrderPage,
    PaymentIn,
    RefundIn,
    RefundOut,
)
from server.pagination import IdPath, Limit, Offset, StoreFilter
from sync.payloads import EntityUpdate

router = APIRouter(prefix="/offline-orders", tags=["back office"])

_DETAIL_JSON = OrderDetail.__pydantic_serializer__.to_json


def _detail(detail: OrderDetail, status_code: int = 200) -> Response:
    """An order's answer as FastAPI would give it (the same bytes: pydantic's JSON of the
    response model), made here: FastAPI would validate the model it was just given again,
    on a trip to the thread pool of its own for a plain ``def`` route, before dumping it."""
    return Response(_DETAIL_JSON(detail), status_code, media_type="application/json")


@router.get("", response_model=OrderPage)
def list_orders(
    staff: StaffDep,
    ctx: CtxDep,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    status: OrderStatus | None = None,
    store_id: StoreFilter = None,
    offline: bool | None = None,
    phone: Annotated[str | None, Query(max_length=MAX_PHONE,
                                       description="exact customer phone (blind index)")] = None,
    flag: Annotated[str | None, Query(
        max_length=64, pattern="^[a-z_:]+$",
        description="only orders carrying this flag, e.g. duplicate_reference: pushed sales "
        "whose reference another order already holds, applied and kept apart for a manager",
    )] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrderPage:
    """Orders of the stores the caller works at (an owner or admin: every store of the
    organization), newest first, filtered by time, status, store, offline; a ``store_id``
    out of the caller's stores is 403 ``store_scope`` (server/tenancy/scope.py)."""
    require(staff, Action.ORDER_VIEW)
    return service.list_orders(
        ctx, staff, date_from=date_from, date_to=date_to,
        status=status.value if status else None, store_id=store_id, offline=offline, phone=phone,
        flag=flag, limit=limit, offset=offset,
    )


@router.get("/{order_id}", response_model=OrderDetail)
def get_order(order_id: IdPath, staff: StaffDep, ctx: CtxDep) -> Response:
    """One order with lines, payments, refunds and its audit trail."""
    require(staff, Action.ORDER_VIEW)
    return _detail(service.get_order(ctx, staff, order_id))


@router.delete("/{order_id}", response_model=OrderDetail)
def delete_order(order_id: IdPath, body: DeleteIn, staff: StaffDep, ctx: CtxDep) -> Response:
    """Delete a pending order with a reason (owner, admin or manager; 403 otherwise)."""
    require(staff, Action.ORDER_DELETE)
    return _detail(service.delete_order(ctx, staff, order_id, body.reason))


@router.post("", response_model=OrderDetail, status_code=201)
def create_order(body: OrderCreateIn, staff: StaffDep, ctx: CtxDep) -> Response:
    """Record an order (sale.create; payments in it need payment.record). Same checks and
    flags as a terminal's order.create; publishes offline_order.created."""
    require(staff, Action.SALE_CREATE)
    return _detail(service.create_order(ctx, staff, body), 201)


@router.patch("/{order_id}", response_model=OrderDetail,
              responses={409: {"description": "conflict: the same field changed since base"}})
def update_order(order_id: IdPath, body: EntityUpdate, staff: StaffDep, ctx: CtxDep) -> Response:
    """Field edits ``{"fields": {"note": {"base": old, "value": new}}, "reason": ...}``
    (order.edit), merged like order.update; publishes offline_order.updated."""
    require(staff, Action.ORDER_EDIT)
    return _detail(service.update_order(ctx, staff, order_id, body))


@router.post("/{order_id}/payments", status_code=201)
def record_payment(order_id: IdPath, body: PaymentIn, staff: StaffDep, ctx: CtxDep) -> dict[str, Any]:
    """Append a payment (payment.record); publishes payment.received."""
    require(staff, Action.PAYMENT_RECORD)
    return service.record_payment(ctx, staff, order_id, body)


@router.get("/{order_id}/payments")
def list_payments(order_id: IdPath, staff: StaffDep, ctx: CtxDep) -> list[dict[str, Any]]:
    require(staff, Action.ORDER_VIEW)
    return service.list_payments(ctx, staff, order_id)


@router.post("/{order_id}/refunds", response_model=RefundOut, status_code=201,
             responses={202: {"model": RefundOut, "description": "approval requested"}})
def refund(order_id: IdPath, body: RefundIn, staff: StaffDep, ctx: CtxDep,
           response: Response) -> RefundOut:
    """refund.approve: refunded now (201, refund.created). refund.request only: a pending
    approval request (202, approval.requested). Anyone else: 403."""
    require(staff, Action.REFUND_REQUEST)
    out = service.refund(ctx, staff, order_id, body)
    if out.status == "pending_approval":
        response.status_code = 202
    return out
