"""A store's time zone for its figures (analytics_store_zones)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from server.analytics.schemas import TimeZoneOut
from server.context import AppContext, StaffPrincipal
from server.db.analytics import StoreTimeZone
from server.db.tenancy import Store
from server.errors import ApiError, not_found


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, "validation_error",
                       f"{name!r} is not a time zone (e.g. Europe/Dublin)") from None
    return name


def write_zone(session: Session, store_id: str, name: str) -> None:
    row = session.get(StoreTimeZone, store_id)
    if row is None:
        session.add(StoreTimeZone(store_id=store_id, time_zone=check_zone(name)))
    else:
        row.time_zone = check_zone(name)


def set_zone(ctx: AppContext, staff: StaffPrincipal, store_id: str, name: str) -> TimeZoneOut:
    with ctx.writer.begin() as session:
        store = session.get(Store, store_id)
        if store is None or store.org_id != staff.org_id:
            raise not_found("Store")
        write_zone(session, store_id, name)
    return TimeZoneOut(store_id=store_id, time_zone=name)
