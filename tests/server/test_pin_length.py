"""PIN length by role on the server (app/domain/pin_rules.py; docs/security.md, PIN length).

A manager's, admin's or owner's PIN is at least 6 digits: refused with 422 in words when
set through the REST API or ``tillsync-server create-staff``, and on a role raise that
would make a cashier's PIN an approver's. An approver whose PIN was set before the rule
still signs in, and the answer says the PIN must change. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from app.domain.permissions import Role
from server.cli import main
from server.db.models import Staff
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import PINS, Tenant


def _staff_named(tenant: Tenant, name: str) -> list[Staff]:
    with tenant.server.ctx.reader() as s:
        return [p for p in s.query(Staff).filter_by(org_id=tenant.org_id, name=name)]


def test_a_four_digit_approver_pin_is_refused_over_rest(tenant: Tenant) -> None:
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        for role in ("manager", "admin", "owner"):
            r = c.post("/staff", json={"name": f"Short {role}", "role": role, "pin": "1234"},
                       headers=owner)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "pin_rule"
            assert error["message"] == (f"A {role}'s PIN is at least 6 digits "
                                        "(it approves deletions and refunds)")
        assert c.post("/staff", json={"name": "Long manager", "role": "manager",
                                      "pin": "135790"}, headers=owner).status_code == 201
        assert c.post("/staff", json={"name": "Short cashier", "role": "cashier",
                                      "pin": "1234"}, headers=owner).status_code == 201
    assert _staff_named(tenant, "Short manager") == []


def test_a_role_raise_needs_an_approvers_pin(tenant: Tenant) -> None:
    """The server keeps only the hash: a cashier made a manager must be given a new PIN."""
    owner = tenant.login(Role.OWNER)
    cashier = tenant.staff[Role.CASHIER]
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{cashier}", json={"role": "manager"}, headers=owner)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"] == (
            "cashier person's PIN was set for a cashier; a manager's PIN is at least 6 digits "
            "(it approves deletions and refunds): send a new PIN with the role change")
        r = c.patch(f"/staff/{cashier}", json={"role": "manager", "pin": "4321"}, headers=owner)
        assert r.status_code == 422 and "at least 6 digits" in r.text
        with tenant.server.ctx.reader() as s:
            assert s.get(Staff, cashier).role == "cashier"  # type: ignore[union-attr]
        r = c.patch(f"/staff/{cashier}", json={"role": "manager", "pin": "864208"}, headers=owner)
        assert r.status_code == 200 and r.json()["role"] == "manager", r.text
        # a manager's own PIN change is held to the rule too; a lowering needs no new PIN
        manager = tenant.staff[Role.MANAGER]
        r = c.patch(f"/staff/{manager}", json={"pin": "2468"}, headers=owner)
        assert r.status_code == 422, r.text
        r = c.patch(f"/staff/{manager}", json={"role": "cashier"}, headers=owner)
        assert r.status_code == 200, r.text


def test_create_staff_on_the_command_line_refuses_a_short_approver_pin(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    db = tenant.server.settings.database_url
    base = ["create-staff", "--db", db, "--org", tenant.org_id]
    assert main([*base, "--role", "manager", "--pin", "2468", "Mia"]) == 2
    assert capsys.readouterr().err.strip() == (
        "tillsync-server: A manager's PIN is at least 6 digits (it approves deletions and "
        "refunds)")
    assert _staff_named(tenant, "Mia") == []
    assert main([*base, "--role", "manager", "--pin", "246813", "Mia"]) == 0
    assert "role manager" in capsys.readouterr().out
    assert main([*base, "--role", "cashier", "--pin", "12a4", "Ola"]) == 2
    assert "A PIN is digits only" in capsys.readouterr().err


def test_an_approver_with_an_old_short_pin_is_let_in_and_asked_for_a_new_one(
    tenant: Tenant,
) -> None:
    manager = tenant.staff[Role.MANAGER]
    with tenant.server.ctx.writer.begin() as s:  # set before the rule existed
        person = s.get(Staff, manager)
        assert person is not None
        person.pin_hash = tenant.server.ctx.hasher.hash("2222")
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": manager, "pin": "2222"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["pin_change_required"] is True
        assert body["pin_change_reason"] == ("A manager's PIN is at least 6 digits (it "
                                             "approves deletions and refunds); choose a new PIN")
        r = c.post("/auth/login", json={"staff_id": tenant.staff[Role.OWNER],
                                        "pin": PINS[Role.OWNER]})
        assert r.status_code == 200 and r.json()["pin_change_required"] is False
        assert r.json()["pin_change_reason"] is None
        r = c.post("/auth/login", json={"staff_id": tenant.staff[Role.CASHIER],
                                        "pin": PINS[Role.CASHIER]})  # 4 digits: a cashier's
        assert r.status_code == 200 and r.json()["pin_change_required"] is False
        # the owner sets the manager a new PIN; the flag is gone
        r = c.patch(f"/staff/{manager}", json={"pin": "975310"},
                    headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
        r = c.post("/auth/login", json={"staff_id": manager, "pin": "975310"})
        assert r.status_code == 200 and r.json()["pin_change_required"] is False
