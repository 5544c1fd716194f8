"""A real till learns its role ceiling from the server: at enrollment, and from the pull
answer when an admin changes it (no re-enrolling). Below the ceiling the PIN hashes
arrive; above it they never do, and the till refuses the sign-in in words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.domain.permissions import Role
from app.services import staff, till_ceiling
from app.store.local import open_store
from app.store.models import Staff, SyncState
from server.tenancy import service as tenancy
from sync.enroll import enroll
from tests.server.support import PINS, Tenant
from tests.sync.conftest import BACKENDS, Till


def _till(path: Path, tenant: Tenant, max_role: Role) -> Till:
    with tenant.server.ctx.writer.begin() as s:
        code, _ = tenancy.create_enrollment_code(s, tenant.org_id, tenant.store_id, 600,
                                                 max_role=max_role)
    store = open_store(path)
    asyncio.run(enroll(store, tenant.server.base_url, code, "Shop floor"))
    return Till(store, tenant)


def _hash(till: Till, role: Role) -> str:
    with till.store.db.read() as s:
        return s.scalar(select(Staff.pin_hash).where(Staff.id == till.tenant.staff[role])) or ""


def _code(till: Till, role: Role) -> str:
    with till.store.db.read() as s:
        return s.scalar(select(Staff.code).where(Staff.id == till.tenant.staff[role])) or ""


def _set_ceiling(tenant: Tenant, till: Till, role: str) -> None:
    with tenant.server.client() as c:
        r = c.patch(f"/terminals/{till.store.device_id}", json={"max_role": role},
                    headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text


@BACKENDS
def test_the_till_follows_its_ceiling(tmp_path: Path, tenant: Tenant) -> None:
    till = _till(tmp_path / "floor", tenant, Role.MANAGER)
    try:
        assert till_ceiling.till_ceiling(till.store) is Role.MANAGER  # from enrollment
        till.sync()
        assert _hash(till, Role.OWNER) == "" and _hash(till, Role.ADMIN) == ""
        assert _hash(till, Role.MANAGER).startswith("$argon2")
        with pytest.raises(staff.SignInError, match="is an owner; this till takes up to manager"):
            staff.sign_in(till.store, _code(till, Role.OWNER), PINS[Role.OWNER])
        assert staff.sign_in(till.store, _code(till, Role.MANAGER), PINS[Role.MANAGER])

        _set_ceiling(tenant, till, "owner")  # the back office takes the till over
        till.sync()
        assert till_ceiling.till_ceiling(till.store) is Role.OWNER
        assert _hash(till, Role.OWNER).startswith("$argon2")  # fetched again (a snapshot)
        owner = staff.sign_in(till.store, _code(till, Role.OWNER), PINS[Role.OWNER])
        assert owner.role is Role.OWNER

        _set_ceiling(tenant, till, "manager")  # and gives it back
        till.sync()
        assert till_ceiling.till_ceiling(till.store) is Role.MANAGER
        assert _hash(till, Role.OWNER) == ""  # blanked on the till, not only in the feed
        with pytest.raises(staff.SignInError, match="this till takes up to manager"):
            staff.sign_in(till.store, _code(till, Role.OWNER), PINS[Role.OWNER])
    finally:
        till.store.close()


def test_a_till_enrolled_before_ceilings_learns_it_at_its_next_pull(
    tmp_path: Path, tenant: Tenant,
) -> None:
    till = _till(tmp_path / "old", tenant, Role.MANAGER)
    try:
        till.sync()
        with till.store.db.write() as s:  # as a till enrolled before the server sent one
            s.execute(delete(SyncState).where(SyncState.key == till_ceiling.CEILING_KEY))
        assert till_ceiling.till_ceiling(till.store) is Role.OWNER
        till.sync()
        assert till_ceiling.till_ceiling(till.store) is Role.MANAGER
    finally:
        till.store.close()
