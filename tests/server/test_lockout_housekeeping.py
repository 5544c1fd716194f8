"""Sign-in lock housekeeping (issue 12): a new PIN or password clears the person's
counts and locks; rows of unknown places are pruned once their lock expired or their
count sat idle past the longest back-off; known places stay. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.domain.permissions import Role
from server.auth import lockout
from server.db.base import utcnow
from server.db.models import SignInLock, Staff
from tests.server.support import PASSWORD, PINS, Tenant

WRONG = "90817263"


def _login(tenant: Tenant, address: str, secret: dict[str, str], role: Role = Role.CASHIER) -> Any:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=tenant.server.base_url, timeout=60, transport=transport) as c:
        return c.post("/auth/login", json={"staff_id": tenant.staff[role]} | secret)


def _rows(tenant: Tenant, staff_id: str) -> dict[str, SignInLock]:
    with tenant.server.ctx.writer() as s:
        rows = s.scalars(select(SignInLock).where(SignInLock.staff_id == staff_id)).all()
        for r in rows:
            s.expunge(r)
        return {r.client: r for r in rows}


@pytest.mark.parametrize("change", [{"pin": "86420"}, {"password": "a new long passphrase"}])
def test_a_new_secret_clears_the_persons_locks(tenant: Tenant, change: dict[str, str]) -> None:
    cashier = tenant.staff[Role.CASHIER]
    threshold = tenant.server.settings.lockout_threshold
    assert _login(tenant, "127.0.4.1", {"pin": PINS[Role.CASHIER]}).status_code == 200  # known
    for _ in range(threshold):
        assert _login(tenant, "127.0.4.2", {"pin": WRONG}).status_code == 401
    assert _login(tenant, "127.0.4.2", {"pin": PINS[Role.CASHIER]}).status_code == 423
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{cashier}", json=change, headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    secret = change if "pin" in change else {"password": change["password"]}
    assert _login(tenant, "127.0.4.2", secret).status_code == 200, "still locked"
    rows = _rows(tenant, cashier)
    assert all(r.failures == 0 and r.locked_until is None for r in rows.values())
    assert rows["ip:127.0.4.1"].signed_in_at is not None  # still a place they are known at
    with tenant.server.ctx.writer() as s:
        staff = s.get(Staff, cashier)
        assert staff is not None and staff.failed_attempts == 0 and staff.locked_until is None


def test_a_rename_keeps_the_lock(tenant: Tenant) -> None:
    """Only a new secret clears: other changes (and a sign-out everywhere) keep an attack's
    count, so it gets no fresh allowance."""
    for _ in range(tenant.server.settings.lockout_threshold):
        assert _login(tenant, "127.0.4.3", {"pin": WRONG}).status_code == 401
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{tenant.staff[Role.CASHIER]}", json={"name": "Renamed"},
                    headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    assert _login(tenant, "127.0.4.3", {"password": PASSWORD}).status_code == 423


def test_old_rows_of_unknown_places_are_pruned_on_write(tenant: Tenant) -> None:
    cashier = tenant.staff[Role.CASHIER]
    now = utcnow()
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    rows = {  # client: (failures, locked_until, signed_in_at, updated_at, kept?)
        "ip:10.9.0.1": (0, ago(minutes=1), None, ago(minutes=6), False),  # lock expired
        "ip:10.9.0.2": (0, now + timedelta(minutes=4), None, ago(minutes=1), True),  # locked
        "ip:10.9.0.3": (3, None, None, ago(seconds=lockout.GLOBAL_BACKOFF_MAX_S + 60), False),
        "ip:10.9.0.4": (3, None, None, ago(minutes=1), True),  # counting now
        "ip:10.9.0.5": (2, None, ago(days=30), ago(days=30), True),  # a known place
    }
    with tenant.server.ctx.writer.begin() as s:
        for client, (failures, locked, signed, updated, _) in rows.items():
            s.add(SignInLock(staff_id=cashier, client=client, failures=failures,
                             locked_until=locked, signed_in_at=signed, updated_at=updated))
    lockout._pruned["at"] = float("-inf")  # the server runs in this process: prune now
    # a sign-in from a new place (another person's) writes a new row, and tidies up
    assert _login(tenant, "127.0.4.4", {"pin": PINS[Role.MANAGER]}, Role.MANAGER).status_code == 200
    left = _rows(tenant, cashier)
    assert set(left) == {c for c, spec in rows.items() if spec[-1]}
    assert left["ip:10.9.0.5"].failures == 2
