"""/analytics: the manager's figures, read from the rollups (``report.view``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.domain.limits import ID_LENGTH
from app.domain.permissions import Action
from server.analytics import service
from server.analytics.schemas import (
    Grouping,
    OfflineOrders,
    OrderTypeName,
    Summary,
    TimeZoneIn,
    TimeZoneOut,
)
from server.analytics.zones import set_zone
from server.auth.deps import CtxDep, StaffDep, require
from server.errors import ApiError
from server.pagination import FIRST_DAY, LAST_DAY, Day, IdPath, StoreFilter

router = APIRouter(prefix="/analytics", tags=["analytics"])

MAX_DAYS = 400
_Id = Annotated[str | None, Query(max_length=ID_LENGTH)]


def ask(
    date_from: Annotated[Day, Query(description="first day, in the store's time zone "
                                    f"({FIRST_DAY} to {LAST_DAY})")],
    date_to: Annotated[Day, Query(description="last day (inclusive), store's time zone "
                                  f"({FIRST_DAY} to {LAST_DAY})")],
    group: Grouping = Grouping.DAY,
    store_id: StoreFilter = None,
    terminal_id: _Id = None,
    staff_id: _Id = None,
    order_type: OrderTypeName | None = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> service.Ask:
    if date_to < date_from:
        raise ApiError(422, "validation_error", "date_to is before date_from")
    if (date_to - date_from).days > MAX_DAYS:
        raise ApiError(422, "validation_error", f"At most {MAX_DAYS} days at once")
    return service.Ask(date_from, date_to, group, store_id, terminal_id, staff_id,
                       order_type.value if order_type else None, top)


AskDep = Annotated[service.Ask, Depends(ask)]


@router.get("/summary", response_model=Summary)
def summary(staff: StaffDep, ctx: CtxDep, q: AskDep) -> Summary:
    """Orders, revenue (gross, net, tax) by order type, staff, terminal and period;
    tenders; top products; refunds and deletions with reasons; payment plans. A manager
    reads the stores whose tills they work on; an owner or admin every store."""
    require(staff, Action.REPORT_VIEW)
    return service.summary(ctx, staff, q)


@router.get("/offline-orders", response_model=OfflineOrders)
def offline_orders(staff: StaffDep, ctx: CtxDep, q: AskDep) -> OfflineOrders:
    """Orders recorded on a till (offline) against the back office's (online)."""
    require(staff, Action.REPORT_VIEW)
    return service.offline_orders(ctx, staff, q)


@router.put("/stores/{store_id}/time-zone", response_model=TimeZoneOut)
def put_time_zone(store_id: IdPath, body: TimeZoneIn, staff: StaffDep, ctx: CtxDep
                  ) -> TimeZoneOut:
    """The zone a store's days are counted in (settings.edit). Rollups are UTC, so a
    change needs no rebuild."""
    require(staff, Action.SETTINGS_EDIT)
    return set_zone(ctx, staff, store_id, body.time_zone)
