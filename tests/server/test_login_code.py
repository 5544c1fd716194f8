"""Sign-in with the staff code people type (``1001``), not only the staff UUID.

A code is unique within an organization, so a sign-in by code names the organization:
``org_id`` in the body, or the organization of the till whose terminal token the request
carries. Same lockout, audit and answers as a sign-in by staff id."""

from __future__ import annotations

from typing import Any

import httpx

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import PINS, Tenant, make_tenant


def _code(tenant: Tenant, role: Role) -> str:
    with tenant.server.client() as c:
        me = c.get("/auth/me", headers=tenant.login(role)).json()
        staff = c.get("/staff", headers=tenant.login(Role.OWNER)).json()
    return next(s["code"] for s in staff if s["id"] == me["id"])


def _login(tenant: Tenant, body: dict[str, Any],
           headers: dict[str, str] | None = None) -> httpx.Response:
    with tenant.server.client() as c:
        return c.post("/auth/login", json=body, headers=headers or {})


def test_a_code_with_the_org_id_signs_in(tenant: Tenant) -> None:
    code = _code(tenant, Role.CASHIER)
    r = _login(tenant, {"org_id": tenant.org_id, "code": code, "pin": PINS[Role.CASHIER]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff"]["id"] == tenant.staff[Role.CASHIER]
    assert body["staff"]["code"] == code
    with tenant.server.client() as c:
        me = c.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["id"] == tenant.staff[Role.CASHIER]


def test_a_code_at_an_enrolled_till_needs_no_org_id(tenant: Tenant) -> None:
    code = _code(tenant, Role.MANAGER)
    r = _login(tenant, {"code": code, "pin": PINS[Role.MANAGER]}, tenant.term.headers)
    assert r.status_code == 200, r.text
    assert r.json()["staff"]["id"] == tenant.staff[Role.MANAGER]


def test_a_code_without_an_organization_is_422_naming_what_to_send(tenant: Tenant) -> None:
    r = _login(tenant, {"code": _code(tenant, Role.CASHIER), "pin": PINS[Role.CASHIER]})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "org_required"
    assert "org_id" in err["message"]


def test_the_same_code_in_another_org_is_another_person(tenant: Tenant) -> None:
    code = _code(tenant, Role.CASHIER)
    with make_tenant(tenant.server) as other:
        other_code = _code(other, Role.CASHIER)
        assert other_code == code  # both orgs numbered their staff from 1001
        r = _login(tenant, {"org_id": other.org_id, "code": code, "pin": PINS[Role.CASHIER]})
        assert r.status_code == 200, r.text
        assert r.json()["staff"]["id"] == other.staff[Role.CASHIER]
        # a till of one org signs in that org's person, whatever another org holds
        r = _login(tenant, {"code": code, "pin": PINS[Role.CASHIER]}, other.term.headers)
        assert r.json()["staff"]["id"] == other.staff[Role.CASHIER]


def test_wrong_and_unknown_codes_are_401_and_count_towards_the_lockout(tenant: Tenant) -> None:
    code = _code(tenant, Role.STOCK)
    body = {"org_id": tenant.org_id, "code": code}
    assert _login(tenant, body | {"code": "999999", "pin": "1234"}).status_code == 401
    assert _login(tenant, body | {"org_id": new_id(), "pin": PINS[Role.STOCK]}).status_code == 401
    for _ in range(5):
        r = _login(tenant, body | {"pin": "000000"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    locked = _login(tenant, body | {"pin": PINS[Role.STOCK]})
    assert locked.status_code == 423, locked.text
    assert locked.json()["error"]["code"] == "account_locked"


def test_a_staff_id_and_a_code_together_are_422(tenant: Tenant) -> None:
    r = _login(tenant, {"staff_id": tenant.staff[Role.CASHIER], "org_id": tenant.org_id,
                        "code": _code(tenant, Role.CASHIER), "pin": PINS[Role.CASHIER]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert _login(tenant, {"pin": "1234"}).status_code == 422


def test_the_openapi_schema_documents_sign_in_by_code(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        spec = c.get("/openapi.json").json()
    props = spec["components"]["schemas"]["LoginRequest"]["properties"]
    assert {"staff_id", "code", "org_id", "pin", "password"} <= set(props)
