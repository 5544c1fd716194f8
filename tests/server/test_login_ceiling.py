"""An online sign-in at a till is held to the till's role ceiling (issue 12).

The till's own screen refuses an owner on a manager till; the server must too, or a
stolen manager till could use ``/auth/login`` to test the owner's PIN (whose hash the
till no longer holds) and get an owner's token. The ceiling is checked before the
secret: the refusal is the same for a right and a wrong PIN, and counts no failure.
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain.permissions import Role
from server.db.models import AuditEntry
from tests.server.support import PINS, Tenant


def _login(t: Tenant, role: Role, pin: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with t.server.client() as c:
        r = c.post("/auth/login", json={"staff_id": t.staff[role], "pin": pin}, headers=headers)
    return r.status_code, r.json()


def test_owner_cannot_sign_in_online_at_a_manager_till(tenant: Tenant) -> None:
    till = tenant.enroll(name="Counter", max_role=Role.MANAGER)
    status, body = _login(tenant, Role.OWNER, PINS[Role.OWNER], till.token)
    assert status == 403, body
    assert body["error"]["code"] == "above_ceiling"
    assert "this till takes up to manager" in body["error"]["message"]
    for _ in range(6):  # wrong PINs are not guesses counted against the owner...
        status, body = _login(tenant, Role.OWNER, "000000", till.token)
        assert status == 403, body
    # ...so the owner is not locked out elsewhere, and signs in without the till's token
    assert _login(tenant, Role.OWNER, PINS[Role.OWNER], None)[0] == 200
    # within the ceiling, at the same till: fine
    assert _login(tenant, Role.MANAGER, PINS[Role.MANAGER], till.token)[0] == 200


def test_owner_signs_in_at_an_owner_till(tenant: Tenant) -> None:
    till = tenant.enroll(name="Back office", max_role=Role.OWNER)
    assert _login(tenant, Role.OWNER, PINS[Role.OWNER], till.token)[0] == 200


def test_the_refusal_is_in_the_audit_trail(tenant: Tenant) -> None:
    till = tenant.enroll(name="Counter", max_role=Role.CASHIER)
    assert _login(tenant, Role.MANAGER, PINS[Role.MANAGER], till.token)[0] == 403
    with tenant.server.ctx.writer.begin() as s:
        reasons = list(s.scalars(select(AuditEntry.reason).where(
            AuditEntry.entity_id == tenant.staff[Role.MANAGER],
            AuditEntry.action == "staff.sign_in_failed")))
    assert any("this till takes up to cashier" in (x or "") for x in reasons), reasons
