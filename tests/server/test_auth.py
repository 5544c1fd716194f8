"""Enrollment, sign-in, refresh rotation with reuse detection, lockout, revoke-all."""

from __future__ import annotations

from app.domain.permissions import Role
from server.tenancy import service as tenancy
from tests.server.support import PASSWORD, PINS, RunningServer, Tenant


def test_enrollment_code_is_single_use_and_device_codes_are_unique(tenant: Tenant) -> None:
    second = tenant.enroll(name="Till 2")
    assert second.device_code != tenant.term.device_code
    assert second.store_id == tenant.store_id and second.org_id == tenant.org_id
    with tenant.server.ctx.writer.begin() as s:
        code, _ = tenancy.create_enrollment_code(s, tenant.org_id, tenant.store_id, 600)
    with tenant.server.client() as c:
        assert c.post("/terminals/enroll", json={"code": code, "name": "A"}).status_code == 201
        again = c.post("/terminals/enroll", json={"code": code, "name": "B"})
        assert again.status_code == 400
        assert again.json()["error"]["code"] == "invalid_enrollment_code"
        me = c.get("/terminals/me", headers=second.headers)
        assert me.status_code == 200 and me.json()["device_code"] == second.device_code


def test_admin_creates_enrollment_code_over_http(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.post("/terminals/enrollment-codes", json={"store_id": tenant.store_id},
                   headers=tenant.login(Role.ADMIN))
        assert r.status_code == 201
        code = r.json()["code"]
        r = c.post("/terminals/enrollment-codes", json={"store_id": tenant.store_id},
                   headers=tenant.login(Role.CASHIER))
        assert r.status_code == 403
        enrolled = c.post("/terminals/enroll", json={"code": code.lower(), "name": "New"})
        assert enrolled.status_code == 201
        assert enrolled.json()["terminal_token"].startswith("tt_")


def test_login_with_password_and_pin(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": tenant.staff[Role.MANAGER],
                                        "password": PASSWORD})
        assert r.status_code == 200
        body = r.json()
        assert body["staff"]["role"] == "manager"
        me = c.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["id"] == tenant.staff[Role.MANAGER]
        bad = c.post("/auth/login", json={"staff_id": tenant.staff[Role.MANAGER], "pin": "0000"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_credentials"


def test_refresh_rotation_and_reuse_revokes_family(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        first = c.post("/auth/login", json={"staff_id": tenant.staff[Role.CASHIER],
                                            "pin": PINS[Role.CASHIER]}).json()
        second = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        rotated = second.json()["refresh_token"]
        assert rotated != first["refresh_token"]
        reuse = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reuse.status_code == 401
        assert reuse.json()["error"]["code"] == "refresh_token_reused"
        # the whole family is revoked: the newest token no longer works either
        assert c.post("/auth/refresh", json={"refresh_token": rotated}).status_code == 401


def test_logout_and_revoke_all(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        login = {"staff_id": tenant.staff[Role.OWNER], "pin": PINS[Role.OWNER]}
        a = c.post("/auth/login", json=login).json()
        b = c.post("/auth/login", json=login).json()
        assert c.post("/auth/logout", json={"refresh_token": a["refresh_token"]}).status_code == 204
        assert c.post("/auth/refresh", json={"refresh_token": a["refresh_token"]}).status_code == 401
        auth = {"Authorization": f"Bearer {b['access_token']}"}
        assert c.post("/auth/revoke-all", headers=auth).status_code == 204
        assert c.get("/auth/me", headers=auth).status_code == 401
        assert c.post("/auth/refresh", json={"refresh_token": b["refresh_token"]}).status_code == 401


def test_lockout_after_five_failures(tenant: Tenant, server: RunningServer) -> None:
    staff_id = tenant.staff[Role.STOCK]
    with server.client() as c:
        for _ in range(5):
            r = c.post("/auth/login", json={"staff_id": staff_id, "pin": "9999"})
            assert r.status_code == 401
        locked = c.post("/auth/login", json={"staff_id": staff_id, "pin": PINS[Role.STOCK]})
        assert locked.status_code == 423
        assert locked.json()["error"]["code"] == "account_locked"
        assert int(locked.headers["Retry-After"]) > 0


def test_role_change_applies_at_once(tenant: Tenant) -> None:
    owner = tenant.login(Role.OWNER)
    manager_token = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{tenant.staff[Role.MANAGER]}", json={"role": "cashier"},
                    headers=owner)
        assert r.status_code == 200 and r.json()["role"] == "cashier"
        # the old access token carried the old role: it is no longer accepted
        assert c.get("/auth/me", headers=manager_token).status_code == 401
        cashier = tenant.login(Role.CASHIER)
        denied = c.post("/staff", json={"name": "X", "role": "owner", "pin": "1234"},
                        headers=cashier)
        assert denied.status_code == 403
