"""The hourly and daily analytics rollups (issue 15): analytics_hourly is the quarter-hour
sales summed by UTC hour, the analytics_daily_* twins the quarter-hour sales and
tenders summed by UTC day; kept by the consumer and filled by migration 0018. The
dashboard reads the hourly rows for a store whose hours each fall in one period and the
quarter-hours for a zone a half or three quarters of an hour off UTC (or a terminal or
staff filter); the whole UTC days of any range from the daily twins, the ragged ends
from the quarter-hours. Every figure still equals a plain recomputation, on both
databases."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.analytics import repository as repo
from server.analytics import service
from server.analytics.consumer import DAILY, HOURLY, SALES, SHAPES
from server.analytics.schemas import Grouping
from server.analytics.zones import write_zone
from server.db.engine import make_engine, run_migrations
from tests.server.analytics_check import compare, recompute
from tests.server.support import Tenant
from tests.server.test_analytics import _offline_order, _online_order, _summary

DAY = date(2026, 3, 29)  # Europe's spring DST day: 23 hours in Dublin


def hours_of_slots(session: Any, stores: list[str]
                   ) -> dict[tuple[str, datetime, str], list[int]]:
    """analytics_sales summed by UTC hour: what analytics_hourly must hold."""
    out: dict[tuple[str, datetime, str], list[int]] = defaultdict(lambda: [0] * 5)
    c = SALES.c
    for row in session.execute(select(c.store_id, c.slot, c.order_type, c.orders, c.gross,
                                      c.tax, c.plans_started, c.plan_amount)
                               .where(c.store_id.in_(stores))):
        acc = out[(row[0], row[1].replace(minute=0), row[2])]
        for i, v in enumerate(row[3:]):
            acc[i] += int(v)
    return {k: v for k, v in out.items() if any(v)}


def hourly(session: Any, stores: list[str]) -> dict[tuple[str, datetime, str], list[int]]:
    c = HOURLY.c
    return {(r[0], r[1], r[2]): [int(v) for v in r[3:]] for r in session.execute(
        select(c.store_id, c.hour, c.order_type, c.orders, c.gross, c.tax, c.plans_started,
               c.plan_amount).where(c.store_id.in_(stores))) if any(r[3:])}


def days_of_slots(session: Any, table: Any, stores: list[str]) -> dict[tuple[Any, ...], list[int]]:
    """A quarter-hour rollup summed by UTC day: what its daily twin must hold."""
    keys, sums, _latest = SHAPES[table.name]
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(sums))
    for row in session.execute(select(*[table.c[k] for k in (*keys, *sums)])
                               .where(table.c.store_id.in_(stores))):
        key = (row[0], row[1].replace(hour=0, minute=0), *row[2:len(keys)])
        for i, v in enumerate(row[len(keys):]):
            out[key][i] += int(v)
    return {k: v for k, v in out.items() if any(v)}


def daily(session: Any, table: Any, stores: list[str]) -> dict[tuple[Any, ...], list[int]]:
    twin = DAILY[table]
    keys, sums, _latest = SHAPES[table.name]
    return {tuple(r[:len(keys)]): [int(v) for v in r[len(keys):]] for r in session.execute(
        select(*[twin.c[k] for k in (*keys, *sums)]).where(twin.c.store_id.in_(stores)))
        if any(r[len(keys):])}


def assert_twins_hold(session: Any, stores: list[str]) -> None:
    assert hourly(session, stores) == hours_of_slots(session, stores)
    for table in DAILY:
        assert daily(session, table, stores) == days_of_slots(session, table, stores), table


def _play(tenant: Tenant) -> None:
    """Sales in every quarter of a few hours around the DST change, online and on the
    till, one deleted, one refunded, one paid later."""
    owner, cashier = tenant.login(Role.OWNER), tenant.staff[Role.CASHIER]
    ops = []
    with tenant.server.client() as c:
        for hour in (0, 1, 2, 4, 18, 19, 23):
            for minute in (5, 20, 35, 50):
                at = datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)
                if minute == 35:
                    _online_order(c, tenant, owner, 100 * hour + minute, at.isoformat(), "card")
                else:
                    ops.append(_offline_order(tenant.term, cashier, 100 * hour + minute + 7,
                                              at.isoformat(), "cash" if minute != 50 else None))
        results = tenant.term.push(ops)["results"]
        assert {r["status"] for r in results} == {"applied"}
        unpaid = [op["entity_id"] for op in ops if not op["payload"]["payments"]]
        r = c.request("DELETE", f"/offline-orders/{unpaid[0]}", headers=owner,
                      json={"reason": "mistake"})
        assert r.status_code == 200, r.text
        r = c.post(f"/offline-orders/{unpaid[1]}/payments", headers=owner,
                   json={"id": new_id(), "method": "card", "amount": 150})
        assert r.status_code == 201, r.text
        paid = ops[0]["entity_id"]
        r = c.post(f"/offline-orders/{paid}/refunds", headers=owner, json={
            "refund_id": new_id(), "amount": 10, "method": "cash", "reason": "broken"})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("zone,group,by_hour", [
    ("UTC", Grouping.DAY, True), ("Europe/Dublin", Grouping.DAY, True),
    ("Europe/Dublin", Grouping.HOUR, True), ("America/New_York", Grouping.WEEK, True),
    ("Asia/Kolkata", Grouping.DAY, False), ("Asia/Kolkata", Grouping.MONTH, False),
    ("Asia/Kathmandu", Grouping.HOUR, False), ("Asia/Kathmandu", Grouping.WEEK, False),
    # +11:00 in its summer time (until 5 April), +10:30 after: decided per window
    ("Australia/Lord_Howe", Grouping.DAY, True),
])
def test_the_hourly_rows_serve_whole_hour_zones_and_the_quarter_hours_the_rest(
        tenant: Tenant, zone: str, group: Grouping, by_hour: bool) -> None:
    with tenant.server.ctx.writer.begin() as session:
        write_zone(session, tenant.store_id, zone)
    _play(tenant)
    with tenant.server.ctx.reader() as session:
        assert hours_of_slots(session, [tenant.store_id]) != {}
        assert_twins_hold(session, [tenant.store_id])
        w = service.window(tenant.store_id, ZoneInfo(zone),
                           service.Ask(DAY - timedelta(days=1), DAY + timedelta(days=1)))
        assert repo.whole_days(w) is not None  # three days hold at least one UTC day
        assert service.window(tenant.store_id, ZoneInfo("Europe/Dublin"), service.Ask(
            DAY, DAY)).end == datetime(2026, 3, 29, 23, tzinfo=UTC)  # 23 hours:
        assert repo.whole_days(service.window(  # no whole UTC day, quarter-hours only
            tenant.store_id, ZoneInfo("Europe/Dublin"), service.Ask(DAY, DAY))) is None
        rows = service._hourly_rows(session, w, ZoneInfo(zone), group)
        assert (rows is not None) is by_hour
        if rows is not None:  # a terminal or staff filter is not among its keys
            assert rows
            for dim in ({"terminal_id": tenant.term.device_id}, {"staff_id": new_id()}):
                narrow = repo.Window(w.store_id, w.start, w.end, **dim)
                assert service._hourly_rows(session, narrow, ZoneInfo(zone), group) is None
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        for lo, hi in ((DAY, DAY), (DAY - timedelta(days=1), DAY + timedelta(days=1))):
            s = _summary(c, owner, date_from=lo.isoformat(), date_to=hi.isoformat(),
                         store_id=tenant.store_id, group=group.value, top=100)
            assert s["totals"]["orders"] > 0
            with tenant.server.ctx.reader() as session:
                compare(s, recompute(session, tenant.store_id, zone, lo, hi, group.value,
                                     datetime.now(ZoneInfo(zone)).date()))
            for kind in ("online", "offline"):  # the order-type filter is a key
                s = _summary(c, owner, date_from=lo.isoformat(), date_to=hi.isoformat(),
                             store_id=tenant.store_id, group=group.value, order_type=kind)
                assert {b["key"] for b in s["by_order_type"]} == {kind}


def _migration_fills_the_hours(url: str) -> None:
    run_migrations(url, "0017")
    store, other = new_id(), new_id()
    at = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    rows = []
    for n, (minute, terminal, kind) in enumerate([(0, "a", "offline"), (15, "b", "offline"),
                                                 (45, "a", "offline"), (30, "", "online"),
                                                 (60, "a", "offline"), (75, "", "online")]):
        rows.append({"store_id": store, "slot": at + timedelta(minutes=minute),
                     "terminal_id": terminal, "staff_id": f"s{n % 2}", "order_type": kind,
                     "orders": 1 + n, "gross": 100 * (n + 1), "tax": 10 * n,
                     "plans_started": n % 2, "plan_amount": 50 * (n % 2)})
    rows.append(rows[0] | {"store_id": other, "orders": 0, "gross": 0, "tax": 0,
                           "plans_started": 0, "plan_amount": 0})  # all undone: no row
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(SALES), rows)
        run_migrations(url)
        with engine.connect() as conn:
            got = hourly(conn, [store, other])
            by_day = daily(conn, SALES, [store, other])
    finally:
        engine.dispose()
    h0, h1 = at, at + timedelta(hours=1)
    assert got == {
        (store, h0, "offline"): [1 + 2 + 3, 100 + 200 + 300, 0 + 10 + 20, 1, 50],
        (store, h0, "online"): [4, 400, 30, 1, 50],
        (store, h1, "offline"): [5, 500, 40, 0, 0],
        (store, h1, "online"): [6, 600, 50, 1, 50],
    }
    assert by_day == {  # one UTC day: a row per terminal, staff member and type
        (store, h0, "a", "s0", "offline"): [1 + 3 + 5, 100 + 300 + 500, 0 + 20 + 40, 0, 0],
        (store, h0, "b", "s1", "offline"): [2, 200, 10, 1, 50],
        (store, h0, "", "s1", "online"): [4 + 6, 400 + 600, 30 + 50, 2, 100],
    }


def test_the_migration_fills_the_hourly_rollup_from_the_quarter_hours(tmp_path: Any) -> None:
    _migration_fills_the_hours(f"sqlite:///{tmp_path}/m.db")


@pytest.mark.postgres
def test_the_migration_fills_the_hourly_rollup_on_postgres(pg_database: str) -> None:
    _migration_fills_the_hours(pg_database)

