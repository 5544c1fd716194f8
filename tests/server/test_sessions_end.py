"""A new PIN or password, or a deactivation, ends the person's sign-ins at once: the
old access token answers 401 and the old refresh token is refused (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.permissions import Role
from tests.server.support import PINS, Tenant


def _sign_in(tenant: Tenant, role: Role) -> dict[str, Any]:
    with tenant.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": tenant.staff[role], "pin": PINS[role]})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("change", [{"pin": "86420"}, {"password": "a new long passphrase"},
                                    {"active": False}])
def test_a_new_secret_or_a_deactivation_ends_access_and_refresh_tokens(
    tenant: Tenant, change: dict[str, Any]
) -> None:
    cashier = tenant.staff[Role.CASHIER]
    pair = _sign_in(tenant, Role.CASHIER)
    old = {"Authorization": f"Bearer {pair['access_token']}"}
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        assert c.get("/auth/me", headers=old).status_code == 200
        r = c.patch(f"/staff/{cashier}", json=change, headers=owner)
        assert r.status_code == 200, r.text
        me = c.get("/auth/me", headers=old)
        assert me.status_code == 401 and me.json()["error"]["code"] == "invalid_token"
        refreshed = c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401, refreshed.text
        assert refreshed.json()["error"]["code"] == "invalid_refresh_token"
        # the person who changed it is still signed in
        assert c.get("/auth/me", headers=owner).status_code == 200
        if "pin" in change:  # the new PIN signs in; the old one no longer does
            new = c.post("/auth/login", json={"staff_id": cashier, "pin": change["pin"]})
            assert new.status_code == 200, new.text
            assert c.post("/auth/login", json={"staff_id": cashier,
                                               "pin": PINS[Role.CASHIER]}).status_code == 401


def test_a_name_change_signs_nobody_out(tenant: Tenant) -> None:
    pair = _sign_in(tenant, Role.CASHIER)
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{tenant.staff[Role.CASHIER]}", json={"name": "Renamed"},
                    headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
        assert c.get("/auth/me", headers={
            "Authorization": f"Bearer {pair['access_token']}"}).status_code == 200
        assert c.post("/auth/refresh",
                      json={"refresh_token": pair["refresh_token"]}).status_code == 200
