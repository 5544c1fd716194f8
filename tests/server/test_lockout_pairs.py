"""Wrong PINs lock the pair (staff member, client), not the account: an attacker
elsewhere cannot lock the real person out at their own till; many failures from all
places hold the account off only where the person has never signed in (issue 12).

Requests come from several loopback addresses (any 127.x.y.z is this machine)."""

from __future__ import annotations

from typing import Any

import httpx

from app.domain.permissions import Role
from server.auth.lockout import GLOBAL_FACTOR
from tests.server.support import PINS, Tenant

WRONG = "90817263"


def _login(tenant: Tenant, address: str, pin: str, headers: dict[str, str] | None = None,
           role: Role = Role.CASHIER) -> Any:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=tenant.server.base_url, timeout=60, transport=transport) as c:
        return c.post("/auth/login", json={"staff_id": tenant.staff[role], "pin": pin},
                      headers=headers)


def test_wrong_pins_elsewhere_do_not_lock_the_person_out_at_their_till(tenant: Tenant) -> None:
    threshold = tenant.server.settings.lockout_threshold
    for _ in range(threshold):
        assert _login(tenant, "127.0.0.2", WRONG).status_code == 401
    # the attacker's place is locked, even with the right PIN
    locked = _login(tenant, "127.0.0.2", PINS[Role.CASHIER])
    assert locked.status_code == 423, locked.text
    assert locked.json()["error"]["code"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 0
    # the cashier at their till, and at another address, sign in as usual
    at_till = _login(tenant, "127.0.0.3", PINS[Role.CASHIER], tenant.term.headers)
    assert at_till.status_code == 200, at_till.text
    assert _login(tenant, "127.0.0.4", PINS[Role.CASHIER]).status_code == 200
    # and their good sign-ins do not unlock the attacker's place
    assert _login(tenant, "127.0.0.2", PINS[Role.CASHIER]).status_code == 423


def test_wrong_pins_at_a_till_lock_that_till_only(tenant: Tenant) -> None:
    threshold = tenant.server.settings.lockout_threshold
    at_till = tenant.term.headers
    for _ in range(threshold):
        assert _login(tenant, "127.0.0.5", WRONG, at_till).status_code == 401
    assert _login(tenant, "127.0.0.6", PINS[Role.CASHIER], at_till).status_code == 423
    assert _login(tenant, "127.0.0.5", PINS[Role.CASHIER]).status_code == 200


def test_failures_from_many_places_hold_the_account_off_at_unknown_places(
    tenant: Tenant
) -> None:
    threshold = tenant.server.settings.lockout_threshold
    known = "127.0.1.1"
    assert _login(tenant, known, PINS[Role.CASHIER]).status_code == 200
    # a spread-out guesser: a threshold's worth from each of several addresses
    for n in range(GLOBAL_FACTOR):
        for _ in range(threshold):
            assert _login(tenant, f"127.0.2.{n + 1}", WRONG).status_code == 401
    held = _login(tenant, "127.0.3.1", PINS[Role.CASHIER])  # a place never used before
    assert held.status_code == 423, held.text
    assert int(held.headers["Retry-After"]) >= tenant.server.settings.lockout_seconds - 5
    # the person at their till and where they signed in before is not held off
    assert _login(tenant, known, PINS[Role.CASHIER]).status_code == 200
    assert _login(tenant, "127.0.3.2", PINS[Role.CASHIER],
                  tenant.term.headers).status_code == 200
    # nor did those good sign-ins give the guesser a fresh allowance
    assert _login(tenant, "127.0.3.3", PINS[Role.CASHIER]).status_code == 423
    # other staff members are untouched
    assert _login(tenant, "127.0.3.4", PINS[Role.MANAGER], role=Role.MANAGER).status_code == 200
