"""A till's role ceiling, completed (issue 12; docs/security.md, 1).

The PIN hashes of staff above a till's ceiling never reach it (pull and snapshot; the
feed is shared by the store's tills, so they are blanked per pulling terminal), the pull
answer tells the till its ceiling, and an owner or admin changes a ceiling without
enrolling the till again (``PATCH /terminals/{id}``, ``tillsync-server
terminal-ceiling``), with an audit entry. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.domain.permissions import Role
from server.cli import main
from server.db.models import AuditEntry, Terminal
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import Tenant
from tests.server.support import Terminal as Till


def _hashes(changes: list[dict[str, Any]], tenant: Tenant) -> dict[Role, str]:
    """The newest pin_hash the changes carry, by role of the tenant's staff."""
    by_id = {sid: role for role, sid in tenant.staff.items()}
    return {by_id[c["entity_id"]]: c["data"]["pin_hash"] for c in changes
            if c["entity_type"] == "staff" and c["entity_id"] in by_id}


def _snapshot(till: Till, limit: int | None = None) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit} if limit else {}
    with till.server.client() as c:
        while True:
            r = c.get("/sync/snapshot", params=params, headers=till.headers)
            assert r.status_code == 200, r.text
            changes += r.json()["changes"]
            if not r.json()["has_more"]:
                return changes
            params["page_token"] = r.json()["next_page_token"]


def _pull_answer(till: Till) -> dict[str, Any]:
    with till.server.client() as c:
        r = c.get("/sync/pull", params={"after": 0, "limit": 1}, headers=till.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


WITHIN_MANAGER = {Role.MANAGER, Role.CASHIER, Role.STOCK}


def test_a_manager_till_gets_no_owner_or_admin_hash(tenant: Tenant) -> None:
    floor = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    office = tenant.enroll(name="Back office", max_role=Role.OWNER)
    for changes in (floor.pull_all()[0], _snapshot(floor), _snapshot(floor, limit=2)):
        hashes = _hashes(changes, tenant)
        assert set(hashes) == set(Role)
        assert {r for r, h in hashes.items() if h} == WITHIN_MANAGER
        assert hashes[Role.OWNER] == hashes[Role.ADMIN] == ""
    for changes in (office.pull_all()[0], _snapshot(office)):
        hashes = _hashes(changes, tenant)
        assert all(h.startswith("$argon2") for h in hashes.values()), hashes
    assert _pull_answer(floor)["max_role"] == "manager"
    assert _pull_answer(office)["max_role"] == "owner"
    cashier_till = tenant.enroll(name="Kiosk", max_role=Role.CASHIER)
    hashes = _hashes(cashier_till.pull_all()[0], tenant)
    assert {r for r, h in hashes.items() if h} == {Role.CASHIER}


def test_a_promotion_above_the_ceiling_blanks_the_hash_from_then_on(tenant: Tenant) -> None:
    floor = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    _, cursor = floor.pull_all()
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{tenant.staff[Role.MANAGER]}", json={"role": "admin"},
                    headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    later, _ = floor.pull_all(cursor)
    assert _hashes(later, tenant) == {Role.MANAGER: ""}


def test_an_admin_changes_a_ceiling_without_reenrolling(tenant: Tenant) -> None:
    office = tenant.enroll(name="Back office", max_role=Role.OWNER)
    floor = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    admin, owner = tenant.login(Role.ADMIN), tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        def patch(term: Till, role: str, who: dict[str, str]) -> Any:
            return c.patch(f"/terminals/{term.device_id}", json={"max_role": role}, headers=who)

        # never above the caller's own role, nor on a till that takes someone above it
        r = patch(floor, "owner", admin)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["message"] == ("An admin may not change a till's ceiling to "
                                                "or from owner")
        assert patch(office, "manager", admin).status_code == 403
        assert patch(floor, "cashier", tenant.login(Role.MANAGER)).status_code == 403
        assert patch(floor, "boss", owner).status_code == 422
        r = c.patch("/terminals/nope", json={"max_role": "manager"}, headers=owner)
        assert r.status_code == 404
        # the owner moves the back-office PC to the shop floor
        r = c.patch(f"/terminals/{office.device_id}",
                    json={"max_role": "manager", "reason": "moved to the floor"}, headers=owner)
        assert r.status_code == 200 and r.json()["max_role"] == "manager", r.text
        # an admin may raise the floor till to admin
        assert patch(floor, "admin", admin).json()["max_role"] == "admin"
    assert _pull_answer(office)["max_role"] == "manager"
    hashes = _hashes(office.pull_all()[0], tenant)
    assert hashes[Role.OWNER] == "" and hashes[Role.MANAGER]
    assert _hashes(floor.pull_all()[0], tenant)[Role.ADMIN].startswith("$argon2")
    # the push path holds the new ceiling at once
    sale = office.order_create(tenant.staff[Role.OWNER])
    assert office.push([sale])["results"][0]["status"] == "rejected"
    with tenant.server.ctx.reader() as s:
        entries = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "terminal.ceiling", AuditEntry.org_id == tenant.org_id)
            .order_by(AuditEntry.id)).all()
        assert [(e.entity_id, e.changes, e.actor_id, e.reason) for e in entries] == [
            (office.device_id, {"max_role": {"before": "owner", "after": "manager"}},
             tenant.staff[Role.OWNER], "moved to the floor"),
            (floor.device_id, {"max_role": {"before": "manager", "after": "admin"}},
             tenant.staff[Role.ADMIN], "Shop floor now takes up to admin")]


def test_terminal_ceiling_on_the_command_line(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    db = tenant.server.settings.database_url
    till = tenant.enroll(name="Back office", max_role=Role.OWNER)
    assert main(["terminal-ceiling", "--db", db, "--terminal", till.device_id,
                 "--max-role", "manager", "--reason", "lent to the floor"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"terminal {till.device_id} Back office takes up to manager (was owner)")
    assert main(["terminal-ceiling", "--db", db, "--terminal", "nope",
                 "--max-role", "manager"]) == 2
    assert capsys.readouterr().err.strip() == "tillsync-server: no terminal nope"
    with tenant.server.ctx.reader() as s:
        assert s.get(Terminal, till.device_id).max_role == "manager"  # type: ignore[union-attr]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == till.device_id,
                                                   AuditEntry.action == "terminal.ceiling")).one()
        assert entry.actor_id is None and entry.reason == "lent to the floor"
    assert _hashes(till.pull_all()[0], tenant)[Role.OWNER] == ""
