"""The reconciliation list across the tills of a store and the real server (issue 18
item 6), on SQLite and PostgreSQL: the server's compensation is listed on every till
(the counting one too), an item accepted on one till leaves every till's list (the
server keeps who accepted what, once), a cashier's acceptance is refused by the server,
and the recount share set on the server reaches every till."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.operations import OpType
from app.domain.permissions import PermissionDenied, Role
from app.services import inventory, stock_reconcile
from app.services.stock_count import StockError
from app.store.models import OutboxOperation, StockReview
from server.db.models import AuditEntry as ServerAudit
from server.db.models import StockReview as ServerReview
from server.db.models import Store as ServerStore
from tests.sync.conftest import BACKENDS
from tests.sync.test_stock_and_catalog_sync import add_product, count, server_level, sync_all
from tests.sync.test_stock_counts_sync import _sell_one


def _listed(till, pid: str) -> set[str]:
    return {i.kind for i in stock_reconcile.items(till.store) if i.product_id == pid}


def _item(till, pid: str, kind: str) -> stock_reconcile.Item:
    return next(i for i in stock_reconcile.items(till.store)
                if i.product_id == pid and i.kind == kind)


def _late_sale_and_large_count(a, b, tenant) -> str:
    """B sells one offline; A counts 4 where its books say 10 (a move of 60 %); B's sale
    reaches the server after the count: the server writes a compensation."""
    pid = add_product(a, stock_milli=10_000)
    sync_all(a, b)
    _sell_one(b, pid)
    inventory.commit_count(a.store, a.actor(Role.STOCK), count(a, pid, 4000))
    a.sync()
    sync_all(b, a)
    assert server_level(tenant, pid) == 4000
    return pid


@BACKENDS
def test_an_item_accepted_on_one_till_leaves_every_till_s_list(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = _late_sale_and_large_count(a, b, tenant)
    # the server's compensation (count_fix) and the large count are on both lists,
    # the counting till's included
    assert _listed(a, pid) == {"count", "compensation"} == _listed(b, pid)

    # A's stock clerk accepts the compensation: one op, synced
    fix = _item(a, pid, "compensation")
    stock_reconcile.accept(a.store, a.actor(Role.STOCK), fix, "the sale was real")
    stock_reconcile.accept(a.store, a.actor(Role.STOCK), fix, "a second click")
    with a.store.db.read() as s:
        ops = s.scalars(select(OutboxOperation).where(
            OutboxOperation.type == OpType.STOCK_ACCEPT.value)).all()
    assert len(ops) == 1 and ops[0].payload["key"] == fix.key
    assert _listed(a, pid) == {"count"}
    report = a.sync()
    assert not report.push.rejected

    # the server keeps who accepted what, with its journal entry
    with tenant.server.ctx.reader() as s:
        review = s.scalars(select(ServerReview).where(
            ServerReview.store_id == tenant.store_id)).one()
        audit = s.scalars(select(ServerAudit).where(ServerAudit.entity_id == review.id)).one()
    assert (review.key, review.kind, review.product_id) == (fix.key, "compensation", pid)
    assert review.accepted_by == tenant.staff[Role.STOCK] and review.note == "the sale was real"
    assert review.store_id == tenant.store_id and review.device_id == a.store.device_id
    assert audit.action == OpType.STOCK_ACCEPT.value and audit.actor_id == review.accepted_by

    # B pulls: the compensation is no longer on its list; the large count still is
    b.sync()
    assert _listed(b, pid) == {"count"}

    # both accept the large count before hearing of the other's: the server keeps one
    big_a, big_b = _item(a, pid, "count"), _item(b, pid, "count")
    assert big_a.key == big_b.key
    stock_reconcile.accept(a.store, a.actor(Role.STOCK), big_a)
    stock_reconcile.accept(b.store, b.actor(Role.MANAGER), big_b, "recounted by hand")
    sync_all(a, b)
    with tenant.server.ctx.reader() as s:
        reviews = s.scalars(select(ServerReview).where(
            ServerReview.store_id == tenant.store_id, ServerReview.kind == "count")).all()
    assert len(reviews) == 1 and reviews[0].accepted_by == tenant.staff[Role.STOCK]
    assert _listed(a, pid) == set() == _listed(b, pid)

    # a till enrolled later gets the acceptances with its snapshot
    c = till_factory("C")
    c.sync()
    assert {i.kind for i in stock_reconcile.items(c.store) if i.product_id == pid} == set()
    with c.store.db.read() as s:
        assert {r.key for r in s.scalars(select(StockReview))} == {fix.key, big_a.key}


@BACKENDS
def test_a_cashier_s_acceptance_is_refused_by_the_server(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = _late_sale_and_large_count(a, b, tenant)
    fix = _item(a, pid, "compensation")
    with pytest.raises(PermissionDenied):  # the till does not offer it
        stock_reconcile.accept(a.store, a.actor(Role.CASHIER), fix)
    # a till that wrote one anyway (an older or altered one): the server refuses it
    stock_reconcile._accept(a.store, a.actor(Role.CASHIER), fix, "not mine to accept")
    report = a.sync()
    assert len(report.push.rejected) == 1
    assert "may not do stock.count" in report.push.rejected[0].reason
    with tenant.server.ctx.reader() as s:
        assert s.scalars(select(ServerReview).where(
            ServerReview.store_id == tenant.store_id)).all() == []
    b.sync()
    assert "compensation" in _listed(b, pid)


@BACKENDS
def test_the_recount_share_set_on_the_server_reaches_every_till(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = _late_sale_and_large_count(a, b, tenant)
    for till in (a, b):
        assert stock_reconcile.recount_share_ppm(till.store) == 250_000
        assert "count" in _listed(till, pid)  # moved 60 % of the books: over 25 %
    # not a till's to change: the store's, on the server
    with pytest.raises(StockError, match="setting of the store"):
        stock_reconcile.set_recount_share(a.store, a.actor(Role.OWNER), 700_000)
    with tenant.server.client() as c:
        refused = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.MANAGER),
                          json={"recount_share_ppm": 700_000})
        assert refused.status_code == 403, refused.text
        bad = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER),
                      json={"recount_share_ppm": 0})
        assert bad.status_code == 422, bad.text
        r = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER),
                    json={"recount_share_ppm": 700_000})
        assert r.status_code == 200 and r.json()["recount_share_ppm"] == 700_000, r.text
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerStore, tenant.store_id).recount_share_ppm == 700_000
    for till in (a, b):
        till.sync()
        assert stock_reconcile.recount_share_ppm(till.store) == 700_000
        assert _listed(till, pid) == {"compensation"}  # 60 % is no longer over the share
