"""The store scope of /shifts, on SQLite and PostgreSQL: a manager reads the shifts, Z
reports (JSON, PDF), cash counts and store days of the stores whose tills they were seen
working on only (server/tenancy/scope.py), as the back office, the analytics and the
quarantine: another store's shifts are neither listed nor found (404); a store named in
the request out of scope is 403 ``store_scope``. An owner or admin reads every store.

Before, /shifts was organization-wide: a manager of store A1 read A2's Z reports and
every A2 till's counted cash and over/short."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal
from tests.server.test_shifts import open_op
from tests.server.test_trading_day import z_close


@dataclass
class StoreShifts:
    """One store's till with a closed shift (its Z 1, counted 4321) and an open one."""

    store_id: str
    till: Terminal
    closed: str
    open: str


def _shifts(tenant: Tenant, till: Terminal) -> StoreShifts:
    """Pushed by the cashier (so the manager is not seen at the till)."""
    cashier = tenant.staff[Role.CASHIER]
    first = open_op(till, cashier)
    close = z_close(till, cashier, first["entity_id"], 1, 4321, 4321)
    second = open_op(till, cashier)  # (op_seq order: the push's order)
    results = till.push([first, close, second])["results"]
    assert [r["status"] for r in results] == ["applied"] * 3, results
    return StoreShifts(till.store_id, till, first["entity_id"], second["entity_id"])


@pytest.fixture
def stores(tenant: Tenant) -> tuple[StoreShifts, StoreShifts]:
    """Store A1 (the tenant's first, its till) and store A2 (a till of its own)."""
    a2_till = tenant.enroll(tenant.add_store("Store A2"), name="A2 till")
    return _shifts(tenant, tenant.term), _shifts(tenant, a2_till)


def _day(c: httpx.Client, owner: dict[str, str], rec: StoreShifts) -> str:
    """The store's day its Z was closed on (UTC, the store set no zone)."""
    report = c.get(f"/shifts/{rec.closed}/report", headers=owner).json()
    return datetime.fromisoformat(report["closed_at"]).date().isoformat()


def _reads(c: httpx.Client, h: dict[str, str], rec: StoreShifts, day: str
           ) -> dict[str, httpx.Response]:
    """Every /shifts read of one store's shifts, once."""
    return {
        "report": c.get(f"/shifts/{rec.closed}/report", headers=h),
        "pdf": c.get(f"/shifts/{rec.closed}/report.pdf", headers=h),
        "live": c.get(f"/shifts/{rec.open}/report", headers=h),
        "live_pdf": c.get(f"/shifts/{rec.open}/report.pdf", headers=h),
        "day": c.get("/shifts/day", headers=h, params={"store_id": rec.store_id, "date": day}),
    }


def _listed(c: httpx.Client, h: dict[str, str], **params: str) -> set[str]:
    r = c.get("/shifts", headers=h, params=params)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()}


def test_a_manager_seen_at_one_store_reads_only_its_shifts(
        tenant: Tenant, stores: tuple[StoreShifts, StoreShifts]) -> None:
    a1, a2 = stores
    tenant.seen_at(Role.MANAGER, term=a1.till)
    manager, owner = tenant.login(Role.MANAGER), tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        day = _day(c, owner, a2)
        assert _listed(c, manager) == {a1.closed, a1.open}
        assert _listed(c, manager, date_from=day, date_to=day, status="closed") == {a1.closed}
        assert _listed(c, manager, terminal_id=a2.till.device_id) == set()
        for name, r in _reads(c, manager, a2, day).items():
            if name == "day":
                assert r.status_code == 403, r.text
                assert r.json()["error"]["code"] == "store_scope"
                assert r.json()["error"]["details"] == {"store_id": a2.store_id}
            else:
                assert r.status_code == 404, (name, r.text)
                assert r.json()["error"]["code"] == "not_found", (name, r.text)
            assert "counted_cash" not in r.text and b"%PDF" not in r.content, (name, r.text)
        r = c.get("/shifts", headers=manager, params={"store_id": a2.store_id})
        assert r.status_code == 403 and r.json()["error"]["code"] == "store_scope", r.text
        assert r.json()["error"]["details"] == {"store_id": a2.store_id}
        assert c.get("/shifts", headers=manager,
                     params={"store_id": new_id()}).status_code == 404  # not the org's


def test_a_manager_reads_their_own_store_s_shifts(
        tenant: Tenant, stores: tuple[StoreShifts, StoreShifts]) -> None:
    a1, _ = stores
    tenant.seen_at(Role.MANAGER, term=a1.till)
    manager, owner = tenant.login(Role.MANAGER), tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        day = _day(c, owner, a1)
        reads = _reads(c, manager, a1, day)
        assert {name: r.status_code for name, r in reads.items()} == dict.fromkeys(reads, 200)
        assert reads["report"].json()["counted_cash"] == 4321
        assert reads["pdf"].headers["content-type"] == "application/pdf"
        assert reads["day"].json()["counted_cash"] == 4321
        assert _listed(c, manager, store_id=a1.store_id) == {a1.closed, a1.open}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_an_owner_or_admin_reads_every_store_s_shifts(
        tenant: Tenant, stores: tuple[StoreShifts, StoreShifts], role: Role) -> None:
    a1, a2 = stores
    h = tenant.login(role)  # seen at no till
    with tenant.server.client() as c:
        assert _listed(c, h) == {a1.closed, a1.open, a2.closed, a2.open}
        for rec in stores:
            reads = _reads(c, h, rec, _day(c, h, rec))
            got = {name: r.status_code for name, r in reads.items()}
            assert got == dict.fromkeys(reads, 200), (rec.store_id, got)
            assert reads["day"].json()["shifts"] == 1
            assert _listed(c, h, store_id=rec.store_id) == {rec.closed, rec.open}


def test_a_manager_seen_at_no_till_reads_no_shift(
        tenant: Tenant, stores: tuple[StoreShifts, StoreShifts]) -> None:
    a1, _ = stores
    manager = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        assert _listed(c, manager) == set()
        assert c.get(f"/shifts/{a1.closed}/report", headers=manager).status_code == 404
