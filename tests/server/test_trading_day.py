"""The trading day on the server, both databases: cash.move and the close with its Z
through the push (server/sync/cash_movements.py, shifts.py), the refusals in words (a
closed shift is read-only, a Z number used twice, an over/short beyond the threshold
without an approver or their proof), and the managers' /shifts endpoints."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any

from app.domain import shift_report
from app.domain.ids import new_id
from app.domain.operations import OpType
from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal
from tests.server.test_shifts import open_op


def _now() -> str:
    return datetime.now(UTC).isoformat()


def move_op(term: Terminal, actor: str, shift_id: str, kind: str, amount: int,
            reason: str | None = "float") -> dict[str, Any]:
    mid = new_id()
    return term.op(OpType.CASH_MOVE, mid, actor, {
        "movement_id": mid, "shift_id": shift_id, "kind": kind, "amount": amount,
        "reason": reason, "created_at": _now()})


def z_close(term: Terminal, actor: str, shift_id: str, z: int, counted: int, expected: int,
            approved_by: str | None = None, reason: str | None = None,
            report: dict[str, Any] | None = None) -> dict[str, Any]:
    return term.op(OpType.SHIFT_CLOSE, shift_id, approved_by or actor, {
        "shift_id": shift_id, "closed_at": _now(), "counted_cash": counted,
        "expected_cash": expected, "over_short": counted - expected, "reason": reason,
        "z_number": z, "closed_by": actor, "approved_by": approved_by,
        "report": report or _report(z, counted, expected)})


def _report(z: int, counted: int, expected: int) -> dict[str, Any]:
    """A Z report as a till sends it (the figures of an empty shift)."""
    figures = shift_report.ShiftReport(
        shift_id=new_id(), device_id=new_id(), opened_at=datetime.now(UTC), opened_by=new_id(),
        opening_float=expected, as_of=datetime.now(UTC), expected_cash=expected)
    return shift_report.ZReport(
        z_number=z, figures=figures, closed_at=datetime.now(UTC), closed_by=new_id(),
        counted_cash=counted, counted_by_denomination=None, over_short=counted - expected,
        over_short_reason=None, approved_by=None, card_batch_total=None, card_difference=None,
        pending_operations=0, oldest_pending_at=None).as_dict()


def _statuses(term: Terminal, *ops: dict[str, Any]) -> list[dict[str, Any]]:
    return term.push(list(ops))["results"]


def test_cash_moves_and_a_closed_shift_is_read_only(tenant: Tenant) -> None:
    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    opened = open_op(term, cashier, opening_float=1000)
    sid = opened["entity_id"]
    res = _statuses(term, opened, move_op(term, cashier, sid, "pay_in", 500),
                    move_op(term, cashier, sid, "pay_out", 200, reason=" "),
                    move_op(term, cashier, sid, "no_sale", 0, reason=None),
                    move_op(term, tenant.staff[Role.STOCK], sid, "drop", 100),
                    z_close(term, cashier, sid, 1, 1500, 1500),
                    move_op(term, cashier, sid, "drop", 100))
    assert [r["status"] for r in res] == ["applied", "applied", "rejected", "applied",
                                          "rejected", "applied", "rejected"], res
    assert [r["version"] for r in res if r["status"] == "applied"] == [1, 2, 3, 4]
    assert "Say why" in res[2]["reason"]
    assert "may not do cash.move" in res[4]["reason"]
    assert "read-only" in res[6]["reason"]
    tenant.seen_at(Role.MANAGER)  # a manager reads the shifts of the stores they work at
    with tenant.server.client() as c:
        out = c.get(f"/shifts/{sid}/report", headers=tenant.login(Role.MANAGER)).json()
        pdf = c.get(f"/shifts/{sid}/report.pdf", headers=tenant.login(Role.MANAGER))
    assert [m["kind"] for m in out["cash_movements"]] == ["pay_in", "no_sale"]
    assert (out["z_number"], out["status"], out["report"]["z_number"]) == (1, "closed", 1)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content,
                          capture_output=True, check=True).stdout.decode()
    assert "Z REPORT 1" in text and "Counted" in text and "€15.00" in text


def test_z_number_never_reused_and_variance_needs_an_approver(tenant: Tenant) -> None:
    cashier, manager, term = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER], tenant.term
    first = open_op(term, cashier)
    close_first = z_close(term, cashier, first["entity_id"], 1, 0, 0)
    second = open_op(term, cashier)
    res = _statuses(term, first, close_first, second,
                    z_close(term, cashier, second["entity_id"], 1, 0, 0),
                    z_close(term, cashier, second["entity_id"], 2, 0, 2000, reason="lost"),
                    z_close(term, cashier, second["entity_id"], 2, 0, 2000, reason="lost",
                            approved_by=manager) | {"approval_proof": None})  # no PIN typed
    assert [r["status"] for r in res] == ["applied"] * 3 + ["rejected"] * 3, res
    assert "Z number 1 of this till was already used" in res[3]["reason"]
    assert "a manager must approve" in res[4]["reason"]
    assert "approval has no proof" in res[5]["reason"]
    res = _statuses(term, z_close(term, cashier, second["entity_id"], 2, 0, 2000,
                                  reason="lost", approved_by=manager))
    assert res[0]["status"] == "applied", res
    tenant.seen_at(Role.MANAGER)
    with tenant.server.client() as c:
        listed = c.get("/shifts", params={"store_id": tenant.store_id},
                       headers=tenant.login(Role.MANAGER)).json()
    assert sorted((s["z_number"], s["closed_by"], s["approved_by"]) for s in listed) == [
        (1, cashier, None), (2, cashier, manager)]


def test_shifts_endpoints_need_report_view_and_stay_in_the_org(tenant: Tenant) -> None:
    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    opened = open_op(term, cashier)
    _statuses(term, opened)
    tenant.seen_at(Role.MANAGER)
    with tenant.server.client() as c:
        denied = c.get("/shifts", headers=tenant.login(Role.CASHIER))
        assert denied.status_code == 403, denied.text
        mgr = tenant.login(Role.MANAGER)
        assert c.get(f"/shifts/{new_id()}/report", headers=mgr).status_code == 404
        live = c.get(f"/shifts/{opened['entity_id']}/report.pdf", headers=mgr)
        assert live.status_code == 200 and b"X report" in live.content
        assert c.get("/shifts/day", params={"store_id": new_id(), "date": "2026-01-01"},
                     headers=mgr).status_code == 404
        today = datetime.now(UTC).date().isoformat()
        mine = c.get("/shifts", params={"date_from": today, "date_to": today,
                                        "terminal_id": term.device_id}, headers=mgr).json()
        assert [s["id"] for s in mine] == [opened["entity_id"]]


def test_a_no_sale_beyond_the_stores_till_limits_is_refused(tenant: Tenant) -> None:
    from server.db.models import Store

    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    with tenant.server.ctx.writer.begin() as s:
        s.get(Store, tenant.store_id).till_limits = {"no_sale": ["owner", "manager"]}
    opened = open_op(term, cashier)
    sid = opened["entity_id"]
    res = _statuses(term, opened, move_op(term, cashier, sid, "no_sale", 0, reason=None),
                    move_op(term, tenant.staff[Role.MANAGER], sid, "no_sale", 0, reason=None))
    assert [r["status"] for r in res] == ["applied", "rejected", "applied"], res
    assert "beyond a cashier's till limits" in res[1]["reason"]


def test_a_close_sends_the_shift_closed_webhook(tenant: Tenant, receiver) -> None:  # noqa: ANN001
    import json
    import time

    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    opened = open_op(term, cashier)
    sid = opened["entity_id"]
    _statuses(term, opened, z_close(term, cashier, sid, 1, 5000, 5000))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        bodies = [json.loads(r["body"]) for r in receiver.events_of(tenant.org_id)]
        closed = [b for b in bodies if b["type"] == "shift.closed" and b["data"]["id"] == sid]
        if closed:
            break
        time.sleep(0.1)
    assert closed, "no shift.closed event arrived"
    data = closed[0]["data"]
    assert (data["z_number"], data["terminal_id"], data["over_short"]) == (1, term.device_id, 0)


def _shift_at(term: Terminal, actor: str, z: int, opened: str, closed: str,
              counted: int) -> list[dict[str, Any]]:
    """A shift opened and closed at the till's times (UTC), ``counted`` over."""
    opened_op = open_op(term, actor, opening_float=0)
    opened_op["payload"]["opened_at"] = opened
    close = z_close(term, actor, opened_op["entity_id"], z, counted, 0, reason="x",
                    approved_by=None)
    close["payload"]["closed_at"] = closed
    close["payload"]["over_short"] = counted
    return [opened_op, close]


def test_the_store_day_and_date_filters_follow_the_stores_time_zone(tenant: Tenant) -> None:
    """Berlin (east of UTC; 29 March 2026 is 23 hours, 25 October 25) and Tokyo: a
    shift counts in the day of its store's wall clock, not the UTC day."""
    from server.analytics.zones import write_zone

    cashier = tenant.staff[Role.CASHIER]
    tokyo = tenant.add_store("Tokyo")
    with tenant.server.ctx.writer.begin() as session:
        write_zone(session, tenant.store_id, "Europe/Berlin")
        write_zone(session, tokyo, "Asia/Tokyo")
    berlin_till, tokyo_till = tenant.term, tenant.enroll(tokyo, name="Tokyo till")
    times = [  # (opened, closed) in UTC; over by 1, 2, 4, ... cents to tell them apart
        ("2026-03-28T22:00:00+00:00", "2026-03-28T22:30:00+00:00"),  # 28th 23:30 CET
        ("2026-03-28T23:10:00+00:00", "2026-03-28T23:30:00+00:00"),  # 29th 00:30 CET
        ("2026-03-29T21:00:00+00:00", "2026-03-29T21:30:00+00:00"),  # 29th 23:30 CEST
        ("2026-03-29T22:10:00+00:00", "2026-03-29T22:30:00+00:00"),  # 30th 00:30 CEST
        ("2026-10-25T22:00:00+00:00", "2026-10-25T22:30:00+00:00"),  # 25th 23:30 CET
        ("2026-10-25T23:10:00+00:00", "2026-10-25T23:30:00+00:00")]  # 26th 00:30 CET
    ops = [op for z, (o, c) in enumerate(times, 1)
           for op in _shift_at(berlin_till, cashier, z, o, c, 2 ** (z - 1))]
    assert {r["status"] for r in _statuses(berlin_till, *ops)} == {"applied"}
    tokyo_ops = _shift_at(tokyo_till, cashier, 1, "2026-03-28T15:10:00+00:00",
                          "2026-03-28T15:30:00+00:00", 64)  # 29th 00:30 in Tokyo
    assert {r["status"] for r in _statuses(tokyo_till, *tokyo_ops)} == {"applied"}
    mgr = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        def day(store: str, date: str) -> int:
            r = c.get("/shifts/day", params={"store_id": store, "date": date}, headers=mgr)
            assert r.status_code == 200, r.text
            return r.json()["over_short"]

        def listed(**params: str) -> int:
            r = c.get("/shifts", params=params, headers=mgr)
            assert r.status_code == 200, r.text
            return sum(s["over_short"] for s in r.json())

        assert [day(tenant.store_id, d) for d in (
            "2026-03-28", "2026-03-29", "2026-03-30", "2026-10-25", "2026-10-26")] == [
            1, 2 + 4, 8, 16, 32]
        assert day(tokyo, "2026-03-29") == 64 and day(tokyo, "2026-03-28") == 0
        assert listed(store_id=tenant.store_id, date_from="2026-03-29",
                      date_to="2026-03-29") == 2 + 4
        assert listed(store_id=tenant.store_id, date_from="2026-10-25",
                      date_to="2026-10-25") == 16
        # every store of the organization, each by its own days
        assert listed(date_from="2026-03-29", date_to="2026-03-29") == 2 + 4 + 64
        assert listed(date_from="2026-03-28", date_to="2026-03-28") == 1
        assert listed(date_to="2026-03-29") == 1 + 2 + 4 + 64
        assert listed(date_from="2026-03-30") == 8 + 16 + 32
