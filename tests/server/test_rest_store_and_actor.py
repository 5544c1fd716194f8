"""The back office's write reads its store and its person in its own transaction
(server/backoffice/ops.py ``_store_and_actor``, one written statement on PostgreSQL), on
both databases: a person deactivated, or given another role, after their request was
let in is judged as they are now, at once; a store of another organization, or none,
is 404; the store's own till limits are the ones applied. Called as the route calls it,
with the principal ``current_staff`` made before the change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.backoffice import service
from server.backoffice.schemas import OrderCreateIn
from server.context import StaffPrincipal
from server.db.models import Order, Staff, Store
from server.errors import ApiError
from server.tenancy import service as tenancy
from tests.server.support import Tenant
from tests.server.test_backoffice_limits import _body


def _principal(tenant: Tenant, role: Role) -> StaffPrincipal:
    """``role``'s person as current_staff gives them, seen at the store's till first
    (their back office's store scope: server/tenancy/scope.py)."""
    tenant.seen_at(role)
    with tenant.server.ctx.reader() as s:
        row = s.get(Staff, tenant.staff[role])
        assert row is not None
        return StaffPrincipal(row.id, row.org_id, row.role, row.name)


def _set_staff(tenant: Tenant, who: Role, **values: Any) -> None:
    with tenant.server.ctx.writer.begin() as s:
        row = s.get(Staff, tenant.staff[who])
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def _create(tenant: Tenant, who: StaffPrincipal, body: dict[str, Any]) -> Any:
    return service.create_order(tenant.server.ctx, who, OrderCreateIn.model_validate(body))


def _orders(tenant: Tenant) -> int:
    with tenant.server.ctx.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Order)
                            .where(Order.org_id == tenant.org_id)) or 0)


def _refused(tenant: Tenant, who: StaffPrincipal, body: dict[str, Any]) -> ApiError:
    before = _orders(tenant)
    with pytest.raises(ApiError) as caught:
        _create(tenant, who, body)
    assert _orders(tenant) == before  # nothing written
    return caught.value


def test_a_person_deactivated_after_the_check_is_refused_at_once(tenant: Tenant) -> None:
    manager = _principal(tenant, Role.MANAGER)
    assert _create(tenant, manager, _body(tenant)).order["id"]
    _set_staff(tenant, Role.MANAGER, active=False)
    error = _refused(tenant, manager, _body(tenant))
    assert (error.status, error.code) == (401, "invalid_token")
    _set_staff(tenant, Role.MANAGER, active=True)
    assert _create(tenant, manager, _body(tenant)).order["id"]


def test_a_role_changed_after_the_check_takes_effect_at_once(tenant: Tenant) -> None:
    """The principal still says manager; the person is a cashier now: a 60 % line
    discount is judged by a cashier's limit, with the role read in the write."""
    manager = _principal(tenant, Role.MANAGER)
    sixty = _body(tenant, percent_ppm=600_000)
    assert _create(tenant, manager, sixty).order["id"]
    _set_staff(tenant, Role.MANAGER, role=Role.CASHIER.value)
    try:
        error = _refused(tenant, manager, _body(tenant, percent_ppm=600_000))
        assert (error.status, error.code) == (403, "above_limit")
        assert error.details["role"] == "cashier"
    finally:
        _set_staff(tenant, Role.MANAGER, role=Role.MANAGER.value)


def test_the_stores_own_limits_and_organization_are_read(tenant: Tenant) -> None:
    manager = _principal(tenant, Role.MANAGER)
    cashier = _principal(tenant, Role.CASHIER)
    thirty = _body(tenant, percent_ppm=300_000)
    assert _refused(tenant, cashier, thirty).code == "above_limit"  # default limit: 10 %
    with tenant.server.ctx.writer.begin() as s:
        store = s.get(Store, tenant.store_id)
        assert store is not None
        store.till_limits = {"line_discount_ppm": {"cashier": 400_000}}
    try:
        assert _create(tenant, cashier, thirty).order["id"]
    finally:
        with tenant.server.ctx.writer.begin() as s:
            store = s.get(Store, tenant.store_id)
            assert store is not None
            store.till_limits = None
    for store_id in (new_id(), _other_orgs_store(tenant)):
        error = _refused(tenant, manager, _body(tenant, store_id=store_id))
        assert (error.status, error.code) == (404, "not_found")


def _other_orgs_store(tenant: Tenant) -> str:
    with tenant.server.ctx.writer.begin() as s:
        org = tenancy.create_org(s, "Elsewhere " + new_id()[-6:])
        return str(tenancy.create_store(s, org.id, "Their shop").id)
