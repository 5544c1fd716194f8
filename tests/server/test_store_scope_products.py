"""A product is the organization's, but its change is recorded against a store (its
audit entry, a conflict): a manager names only a store whose tills they work on (403
store_scope for another, as everywhere in the back office: server/tenancy/scope.py), and
without a store the change is filed in one of theirs, not in the organization's first
store (helper S2: a manager of A1 filed product changes "in" A2)."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.permissions import Role
from server.db.models import AuditEntry
from tests.server.support import Tenant


def _product(tenant: Tenant, role: Role, sku: str, store_id: str | None = None) -> tuple[int, str]:
    params = {} if store_id is None else {"store_id": store_id}
    with tenant.server.client() as c:
        r = c.post("/products", params=params, headers=tenant.login(role),
                   json={"sku": sku, "name": "Tea", "price": 100, "tax_rate_ppm": 0})
    return r.status_code, r.text


def _filed_in(tenant: Tenant, sku: str) -> set[str]:
    with tenant.server.ctx.reader() as s:
        return {a.store_id for a in s.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "product")) if sku in str(a.changes)}


def test_a_manager_files_product_changes_only_in_their_stores(tenant: Tenant) -> None:
    first = tenant.store_id  # the organization's first store (ids are made in time order)
    home = tenant.add_store("Another store")
    assert first < home
    other = first
    tenant.seen_at(Role.MANAGER, term=tenant.enroll(home))  # seen at the second store only

    status, text = _product(tenant, Role.MANAGER, "SCOPE-1", other)
    assert status == 403 and "store_scope" in text, text
    assert _filed_in(tenant, "SCOPE-1") == set()

    assert _product(tenant, Role.MANAGER, "SCOPE-2", home)[0] == 201
    assert _filed_in(tenant, "SCOPE-2") == {home}
    assert _product(tenant, Role.MANAGER, "SCOPE-3")[0] == 201  # no store named: theirs
    assert _filed_in(tenant, "SCOPE-3") == {home}  # was the organization's first store

    # an owner reaches every store, and without one named the organization's first
    assert _product(tenant, Role.OWNER, "SCOPE-4", other)[0] == 201
    assert _filed_in(tenant, "SCOPE-4") == {other}
    assert _product(tenant, Role.OWNER, "SCOPE-5")[0] == 201
    assert _filed_in(tenant, "SCOPE-5") == {first}
