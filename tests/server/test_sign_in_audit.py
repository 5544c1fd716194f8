"""Refused staff sign-ins and lockouts leave an audit trail (who, from which till or
address, why), committed although the request fails, and never the PIN or password."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry
from tests.server.support import PASSWORD, PINS, Tenant, make_tenant

WRONG_PIN = "90817263"
WRONG_PASSWORD = "not the battery staple"
SIGN_IN_ACTIONS = ("staff.sign_in_failed", "staff.locked_out")


def _sign_in_entries(tenant: Tenant) -> list[AuditEntry]:
    with tenant.server.ctx.reader() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.org_id == tenant.org_id,
                                                  AuditEntry.action.in_(SIGN_IN_ACTIONS))
                         .order_by(AuditEntry.id)).all()
        s.expunge_all()
        return list(rows)


def _stored_text(tenant: Tenant) -> str:
    """Everything the organization's audit entries hold that could carry a secret, as
    stored and as read back. The row number, ids and time stamp are left out: digits
    such as a PIN's can turn up in them by chance (``23:00:02.944442`` holds 4444)."""
    with tenant.server.ctx.reader() as s:
        raw = s.execute(text("SELECT entity_type, action, changes, reason"
                             " FROM audit_entries WHERE org_id = :org"),
                        {"org": tenant.org_id}).all()
    read = [(e.reason, e.changes) for e in _sign_in_entries(tenant)]
    return repr(raw) + repr(read)


def _login(tenant: Tenant, staff_id: str, headers: dict[str, str] | None = None,
           **secret: str) -> Any:
    with tenant.server.client() as c:
        return c.post("/auth/login", json={"staff_id": staff_id, **secret}, headers=headers)


def test_wrong_pins_and_the_lockout_are_audited_without_the_pin(tenant: Tenant) -> None:
    cashier = tenant.staff[Role.CASHIER]
    for _ in range(5):
        assert _login(tenant, cashier, pin=WRONG_PIN).status_code == 401
    locked = _login(tenant, cashier, pin=PINS[Role.CASHIER])
    assert locked.status_code == 423, locked.text

    entries = _sign_in_entries(tenant)
    assert [(e.action, e.reason) for e in entries] == (
        [("staff.sign_in_failed", "wrong PIN")] * 5
        + [("staff.locked_out", "5 failed sign-ins in a row"),
           ("staff.sign_in_failed", "account locked")])
    for e in entries:
        assert (e.entity_type, e.entity_id, e.actor_id) == ("staff", cashier, None)
        assert (e.device_id, e.store_id) == (None, None)  # not at a till
        assert e.changes["method"] == "pin" and e.changes["client"] == "127.0.0.1"
    assert [e.changes["failed_attempts"] for e in entries[:5]] == [
        {"before": n, "after": n + 1} for n in range(5)]
    lockout = entries[5].changes
    assert lockout["failed_attempts"] == {"before": 5, "after": 0}
    assert lockout["locked_until"]["before"] is None
    assert entries[6].changes["locked_until"] == lockout["locked_until"]["after"]

    stored = _stored_text(tenant)
    assert WRONG_PIN not in stored and PINS[Role.CASHIER] not in stored
    assert "argon2" not in stored  # nor a hash of it


def test_a_wrong_password_and_an_inactive_account_are_audited(tenant: Tenant) -> None:
    manager, stock = tenant.staff[Role.MANAGER], tenant.staff[Role.STOCK]
    assert _login(tenant, manager, password=WRONG_PASSWORD).status_code == 401
    with tenant.server.client() as c:
        r = c.patch(f"/staff/{stock}", json={"active": False}, headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
    assert _login(tenant, stock, pin=PINS[Role.STOCK]).status_code == 401
    # a good sign-in is not a failure: nothing more is written
    assert _login(tenant, manager, password=PASSWORD).status_code == 200

    entries = _sign_in_entries(tenant)
    assert [(e.entity_id, e.reason, e.changes["method"]) for e in entries] == [
        (manager, "wrong password", "password"),
        (stock, "staff member is inactive", "pin"),
    ]
    stored = _stored_text(tenant)
    assert WRONG_PASSWORD not in stored and PASSWORD not in stored
    assert PINS[Role.STOCK] not in stored


def test_a_sign_in_at_a_till_names_the_till(tenant: Tenant) -> None:
    till = tenant.term
    at_till = {"Authorization": f"Bearer {till.token}"}
    cashier = tenant.staff[Role.CASHIER]
    assert _login(tenant, cashier, at_till, pin=WRONG_PIN).status_code == 401
    typed = "31415926"  # a PIN typed into the staff id box
    assert _login(tenant, typed, at_till, pin=WRONG_PIN).status_code == 401
    # the till's token is optional and never a reason to refuse
    ok = _login(tenant, cashier, at_till, pin=PINS[Role.CASHIER])
    assert ok.status_code == 200, ok.text
    bogus = {"Authorization": "Bearer tt_no-such-terminal"}
    assert _login(tenant, cashier, bogus, pin=PINS[Role.CASHIER]).status_code == 200

    entries = _sign_in_entries(tenant)
    assert [(e.entity_type, e.entity_id, e.reason) for e in entries] == [
        ("staff", cashier, "wrong PIN"),
        ("terminal", till.device_id, "unknown staff id"),
    ]
    for e in entries:
        assert (e.device_id, e.store_id) == (till.device_id, till.store_id)
    stored = _stored_text(tenant)
    assert typed not in stored and WRONG_PIN not in stored


def test_another_organizations_till_is_not_named_and_unknown_ids_elsewhere_leave_nothing(
    tenant: Tenant,
) -> None:
    with make_tenant(tenant.server) as other:
        foreign = {"Authorization": f"Bearer {other.term.token}"}
        cashier = tenant.staff[Role.CASHIER]
        assert _login(tenant, cashier, foreign, pin=WRONG_PIN).status_code == 401
        nobody = new_id()
        assert _login(tenant, nobody, pin=WRONG_PIN).status_code == 401  # no till, no org
        entries = _sign_in_entries(tenant)
        assert [(e.entity_id, e.device_id, e.store_id) for e in entries] == [
            (cashier, None, None)]
        assert _sign_in_entries(other) == []
        with tenant.server.ctx.reader() as s:
            assert s.scalars(select(AuditEntry.id).where(
                AuditEntry.entity_id == nobody)).first() is None
