"""Resolving a conflict at a terminal: the audit entry's "before" is the value the till
holds now, custom values pass the rules of a normal catalog edit, and a product deleted
in the back office since the conflict is never brought back. Real tills, real server."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.permissions import Role
from app.services.catalog_edit import NewProduct, quick_add, update_product
from app.store.models import AuditEntry, OutboxOperation, Product
from server.db.models import AuditEntry as ServerAudit
from server.db.models import Conflict as ServerConflict
from server.db.models import Product as ServerProduct
from sync import conflicts
from sync.conflicts import ConflictError, open_conflicts, resolve
from sync.status import read_status
from tests.sync.conftest import BACKENDS


def _conflict(till_factory: Any, **theirs: Any) -> tuple[Any, Any, str, str]:
    """Tills A and B both edited a cake; A's edit reached the server first, B's is the
    conflict (fields of ``theirs``: A's value, B's value)."""
    a, b = till_factory("A"), till_factory("B")
    pid = quick_add(a.store, a.actor(Role.MANAGER), NewProduct("SKU-C", "Cake", 500, 200_000))
    a.sync()
    b.sync()
    update_product(a.store, a.actor(Role.MANAGER), pid, {k: v[0] for k, v in theirs.items()})
    update_product(b.store, b.actor(Role.MANAGER), pid, {k: v[1] for k, v in theirs.items()})
    a.sync()
    report = b.sync()
    (problem,) = report.push.conflicts
    return a, b, pid, problem.conflict_id


def _resolution_audit(till: Any, cid: str) -> dict[str, Any]:
    with till.store.db.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == cid,
                                                   AuditEntry.action == "conflict.resolve")).one()
        return entry.changes


def _written(till: Any) -> tuple[int, int]:
    with till.store.db.read() as s:
        return (s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                s.scalar(select(func.count()).select_from(OutboxOperation)) or 0)


def _local(till: Any, pid: str) -> Product:
    with till.store.db.read() as s:
        p = s.get(Product, pid)
        s.expunge(p)
        return p


@BACKENDS
def test_audit_before_is_what_the_till_holds_when_resolving(till_factory, tenant) -> None:
    a, b, pid, cid = _conflict(till_factory, price=(550, 600))
    assert conflicts.get(b.store, cid).server_value == {"price": 550}
    update_product(a.store, a.actor(Role.MANAGER), pid, {"price": 560})  # changed again since
    a.sync()
    b.sync()
    assert _local(b, pid).price == 560 and conflicts.get(b.store, cid).server_value == {"price": 550}

    resolve(b.store, b.actor(Role.MANAGER), cid, "custom", {"price": 575})
    assert _resolution_audit(b, cid)["price"] == {"before": 560, "after": 575}
    b.sync()
    with tenant.server.ctx.reader() as s:
        entry = s.scalars(select(ServerAudit).where(ServerAudit.entity_id == pid,
                                                    ServerAudit.action == "conflict.resolve")).one()
        assert entry.changes == {"price": {"before": 560, "after": 575}}
    assert _local(b, pid).price == 575


@pytest.mark.parametrize(("value", "message"), [
    ({"price": -5}, "Price cannot be negative"),
    ({"name": " "}, "Name is required"),
    ({"tax_rate_ppm": 2_000_000}, "Tax rate must be between 0% and 100%"),
    ({"price": 12.5}, "Price must be a whole number of cents"),
])
def test_an_invalid_custom_value_is_refused_and_nothing_is_written(till_factory, tenant,
                                                                   value, message) -> None:
    _, b, pid, cid = _conflict(till_factory, price=(550, 600), name=("Lemon cake", "Carrot cake"),
                               tax_rate_ppm=(100_000, 50_000))
    written = _written(b)
    with pytest.raises(ConflictError, match=message):
        resolve(b.store, b.actor(Role.MANAGER), cid, "custom", value)
    assert _written(b) == written and read_status(b.store).waiting == 0
    assert [c.id for c in open_conflicts(b.store)] == [cid]
    resolve(b.store, b.actor(Role.MANAGER), cid, "custom", {"price": 575, "name": "Cake"})
    b.sync()
    assert (_local(b, pid).price, _local(b, pid).name) == (575, "Cake")


@BACKENDS
def test_a_product_deleted_since_stays_deleted_and_only_keeping_the_server_closes(
        till_factory, tenant) -> None:
    a, b, pid, cid = _conflict(till_factory, price=(550, 600))
    with tenant.server.client() as c:  # head office deletes the cake meanwhile
        r = c.request("DELETE", f"/products/{pid}", headers=tenant.login(Role.MANAGER),
                      json={"reason": "discontinued"})
        assert r.status_code == 200, r.text

    # B resolved offline, before it heard of the deletion: recorded, pushed, refused
    resolve(b.store, b.actor(Role.MANAGER), cid, "terminal")
    assert open_conflicts(b.store) == []
    report = b.sync()
    (refused,) = report.push.rejected
    assert "deleted after this conflict was raised" in refused.reason
    (view,) = open_conflicts(b.store)  # open again, saying why
    assert view.id == cid and "The last resolution was refused: the product was deleted" in view.description
    assert _local(b, pid).active is False  # the deletion arrived; nothing brought it back
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerConflict, cid).status == "open"
        product = s.get(ServerProduct, pid)
        assert (product.deleted, product.active, product.price) == (True, False, 550)

    with pytest.raises(ConflictError, match="Price cannot be negative"):
        resolve(b.store, b.actor(Role.MANAGER), cid, "custom", {"price": -1})
    resolve(b.store, b.actor(Role.MANAGER), cid, "server")  # keep the deletion
    assert b.sync().push.applied == 1
    a.sync()
    for till in (a, b):
        assert open_conflicts(till.store) == [] and read_status(till.store).conflicts == 0
        assert conflicts.get(till.store, cid).resolution["choice"] == "server"
        assert _local(till, pid).active is False
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerConflict, cid).status == "resolved"
        assert s.get(ServerProduct, pid).deleted is True
