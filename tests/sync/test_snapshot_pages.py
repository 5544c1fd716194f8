"""The paged snapshot (GET /sync/snapshot?page_token=&limit=) against a real server under
uvicorn, on SQLite and PostgreSQL: the same local state as one whole answer, changes made
between pages repaired by the following pull, store/org scoping, limits, restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.domain.barcode import with_check_digit
from app.domain.ids import new_id
from app.domain.permissions import Role
from app.store.models import Order, Payment, Product, Staff, StoreSettings
from app.store.models_aftersale import Approval, Conflict
from server.db.models import Product as ServerProduct
from server.db.models import StockLevel, Store
from server.feed import service as feed
from sync import state
from sync.apply import local_on_hand
from sync.client import SyncClient, TransientError
from sync.protocol import SnapshotResponse
from sync.pull import pull_changes, read_cursor, resync_from_snapshot
from tests.server.support import Terminal, line, make_tenant
from tests.sync.conftest import BACKENDS

N_PRODUCTS = 23


def _now() -> str:
    return datetime.now(UTC).isoformat()


def product_op(term: Terminal, actor: str, i: int) -> tuple[str, dict[str, Any]]:
    pid = new_id()
    return pid, term.op("product.create", pid, actor, {
        "sku": f"PG-{i:03d}", "name": f"Paged item {i}", "price": 100 + i,
        "tax_rate_ppm": 200_000, "category": "Paged", "barcodes": [with_check_digit(f"20000{i:07d}")]})


def adjust_op(term: Terminal, actor: str, pid: str, delta: int) -> dict[str, Any]:
    return term.op("stock.adjust", new_id(), actor, {
        "movement_id": new_id(), "product_id": pid, "kind": "receive",
        "qty_delta_milli": delta, "created_at": _now()})


def price_op(term: Terminal, actor: str, pid: str, base: int, value: int,
             version: int) -> dict[str, Any]:
    return term.op("product.update", pid, actor,
                   {"fields": {"price": {"base": base, "value": value}}}, base_version=version)


def pushed(term: Terminal, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = term.push(ops)["results"]
    assert all(r["status"] in ("applied", "conflict") for r in results), results
    return results


def seed(tenant) -> list[str]:
    """Products with stock, orders (one paid, one with an approval request) and an open
    conflict, all pushed by the tenant's server-side terminal."""
    term, stock, cashier = tenant.term, tenant.staff[Role.STOCK], tenant.staff[Role.CASHIER]
    made = [product_op(term, stock, i) for i in range(N_PRODUCTS)]
    pids = [pid for pid, _ in made]
    pushed(term, [op for _, op in made])
    pushed(term, [adjust_op(term, stock, pid, 1000 * (i + 3)) for i, pid in enumerate(pids)])
    orders = [term.order_create(cashier, lines=[line(pids[i], 100 + i, 2000)], pay=i % 2 == 0)
              for i in range(5)]
    pushed(term, orders)
    aid = new_id()
    pushed(term, [term.op("approval.request", aid, cashier, {
        "approval_id": aid, "kind": "delete", "order_id": orders[1]["entity_id"],
        "reason": "customer changed mind", "details": {}, "requested_at": _now()})])
    results = pushed(term, [price_op(term, stock, pids[0], 999, 555, 1)])  # base is wrong
    assert results[0]["status"] == "conflict"
    return pids


def local_state(till) -> dict[str, Any]:
    with till.store.db.read() as s:
        products = s.scalars(select(Product)).all()
        return {
            "products": sorted((p.id, p.sku, p.name, p.price, p.active, p.version,
                                sorted(b.code for b in p.barcodes)) for p in products),
            "stock": sorted((p.id, local_on_hand(s, p.id)) for p in products),
            "staff": sorted((x.id, x.code, x.role, x.active, x.version)
                            for x in s.scalars(select(Staff))),
            "orders": sorted((o.id, o.reference, o.status, o.total, o.paid, o.version)
                             for o in s.scalars(select(Order))),
            "payments": sorted(p.id for p in s.scalars(select(Payment))),
            "approvals": sorted((a.id, a.order_id, a.status, a.version)
                                for a in s.scalars(select(Approval))),
            "conflicts": sorted((c.id, c.status) for c in s.scalars(select(Conflict))),
            "store": sorted((x.id, x.name, x.currency, x.version)
                            for x in s.scalars(select(StoreSettings))),
            "cursor": state.cursor(s),
        }


def http_pages(base_url: str, headers: dict[str, str], limit: int | None) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit} if limit else {}
    with httpx.Client(base_url=base_url, timeout=60) as c:
        while True:
            r = c.get("/sync/snapshot", params=params, headers=headers)
            assert r.status_code == 200, r.text
            pages.append(r.json())
            if not pages[-1]["has_more"]:
                return pages
            params = {"page_token": pages[-1]["next_page_token"]}
            if limit:
                params["limit"] = limit


def server_head(tenant) -> int:
    with tenant.server.ctx.reader() as s:
        return s.get(Store, tenant.store_id).feed_position


class HookedClient(SyncClient):
    """Calls ``hook(page_number, page)`` after each snapshot page arrives."""

    def __init__(self, *args: Any, hook: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.hook = hook
        self.pages = 0

    async def snapshot(self, page_token: str | None = None,
                       limit: int | None = None) -> SnapshotResponse:
        page = await super().snapshot(page_token, limit)
        self.pages += 1
        self.hook(self.pages, page)
        return page


def hooked(till, hook: Any) -> HookedClient:
    return HookedClient(till.store.device().server_url or "", till.token(), hook=hook)


# ------------------------------------------------------------------ same state


@BACKENDS
def test_paged_snapshot_gives_the_same_local_state_as_one_answer(till_factory, tenant) -> None:
    seed(tenant)
    headers = tenant.term.headers
    whole = http_pages(tenant.server.base_url, headers, None)  # no paging parameters
    assert len(whole) == 1 and whole[0]["total"] == len(whole[0]["changes"])
    for limit in (1, 4, 9):
        pages = http_pages(tenant.server.base_url, headers, limit)
        assert all(len(p["changes"]) <= limit for p in pages)
        assert {p["cursor"] for p in pages} == {whole[0]["cursor"]}
        assert {p["total"] for p in pages} == {len(whole[0]["changes"])}
        flat = [c for p in pages for c in p["changes"]]
        assert flat == whole[0]["changes"]  # deterministic order, nothing repeated or lost
        assert pages[-1]["next_page_token"] is None
    kinds = [c["entity_type"] for c in whole[0]["changes"]]
    assert kinds[0] == "store" and kinds.index("approval") > max(
        i for i, k in enumerate(kinds) if k == "order")

    paged, single = till_factory("paged"), till_factory("single")
    progress: list[tuple[int, int | None]] = []

    async def first_sync(till, limit: int) -> Any:
        async with till.client() as c:
            return await pull_changes(till.store, c, snapshot_limit=limit,
                                      progress=lambda d, t: progress.append((d, t)))

    report = asyncio.run(first_sync(paged, 4))
    total = len(whole[0]["changes"])
    assert report.snapshot and report.pages >= total // 4
    assert progress[0] == (0, total) and progress[-1] == (total, total)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    asyncio.run(first_sync(single, 5000))
    a, b = local_state(paged), local_state(single)
    assert a == b
    assert len(a["products"]) == N_PRODUCTS and all(p[4] for p in a["products"])
    with tenant.server.ctx.reader() as s:
        levels = {level.product_id: level.qty_milli for level in s.scalars(
            select(StockLevel).where(StockLevel.store_id == tenant.store_id))}
    assert dict(a["stock"]) == levels and len(levels) == N_PRODUCTS
    assert len(a["orders"]) == 5 and len(a["approvals"]) == 1
    assert [c[1] for c in a["conflicts"]] == ["open"]
    assert a["cursor"] == server_head(tenant)


# ------------------------------------------------------------------ changes while paging


@BACKENDS
def test_changes_between_pages_end_up_right_after_the_following_pull(till_factory, tenant) -> None:
    pids = seed(tenant)
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    till = till_factory("B")
    late = max(pids)  # its product row comes on a later page than the first
    changed: dict[str, str] = {}

    def between_pages(number: int, page: SnapshotResponse) -> None:
        if number != 1:
            return
        early = [c.entity_id for c in page.changes if c.entity_type == "product"]
        assert early and late not in early
        changed["early"] = early[0]
        ops = []
        for pid in (early[0], late):
            with tenant.server.ctx.reader() as s:
                p = s.get(ServerProduct, pid)
                ops.append(price_op(term, stock, pid, p.price, p.price + 1000, p.version))
            ops.append(adjust_op(term, stock, pid, -1500))  # a sale elsewhere, as a delta
        pushed(term, ops)

    async def sync() -> Any:
        async with hooked(till, between_pages) as c:
            return await pull_changes(till.store, c, snapshot_limit=8)

    report = asyncio.run(sync())
    assert report.snapshot and report.pages > 2
    with tenant.server.ctx.reader() as s, till.store.db.read() as local:
        for pid in {changed["early"], late}:
            server = s.get(ServerProduct, pid)
            mine = local.get(Product, pid)
            assert (mine.price, mine.version) == (server.price, server.version)
            level = s.get(StockLevel, (tenant.store_id, pid)).qty_milli
            assert local_on_hand(local, pid) == level  # not counted twice
        for pid in pids:
            level = s.get(StockLevel, (tenant.store_id, pid)).qty_milli
            assert local_on_hand(local, pid) == level
    assert read_cursor(till.store)[0] == server_head(tenant)


@BACKENDS
def test_a_till_that_dies_mid_snapshot_starts_it_again_cleanly(till_factory, tenant) -> None:
    seed(tenant)
    reference, till = till_factory("reference"), till_factory("dies")
    reference.sync()

    def die(number: int, page: SnapshotResponse) -> None:
        if number == 3:
            raise TransientError("the network went away")

    async def broken() -> Any:
        async with hooked(till, die) as c:
            return await pull_changes(till.store, c, snapshot_limit=5)

    with pytest.raises(TransientError):
        asyncio.run(broken())
    assert read_cursor(till.store) == (0, False)  # pages 1-2 applied, no checkpoint
    with till.store.db.read() as s:
        assert s.scalars(select(Staff)).first() is not None
    till.sync()
    mine, theirs = local_state(till), local_state(reference)
    assert mine == theirs and mine["cursor"] == server_head(tenant)


def test_feed_compacted_while_paging_restarts_the_snapshot(till_factory, tenant) -> None:
    pids = seed(tenant)
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    till = till_factory("B")

    def compact_after_first(number: int, page: SnapshotResponse) -> None:
        if number == 1:
            pushed(term, [adjust_op(term, stock, pids[3], 700)])
            feed.compact(tenant.server.ctx, tenant.org_id, tenant.store_id, server_head(tenant))

    async def load() -> Any:
        async with hooked(till, compact_after_first) as c:
            report = await resync_from_snapshot(till.store, c, limit=10)
            return report, c.pages

    report, pages = asyncio.run(load())
    assert report.cursor == server_head(tenant) and pages > report.pages
    with tenant.server.ctx.reader() as s, till.store.db.read() as local:
        for pid in pids:
            assert local_on_hand(local, pid) == s.get(StockLevel, (tenant.store_id, pid)).qty_milli


# ------------------------------------------------------------------ scoping and limits


@BACKENDS
def test_snapshot_pages_hold_only_the_own_org_and_store(tenant) -> None:
    pids = seed(tenant)
    stock, cashier = tenant.staff[Role.STOCK], tenant.staff[Role.CASHIER]
    store_b = tenant.add_store()
    tb = tenant.enroll(store_id=store_b, name="Till in store B")
    pushed(tb, [adjust_op(tb, stock, pid, 4242) for pid in pids[:5]])
    pushed(tb, [tb.order_create(cashier, lines=[line(pids[0], 100, 1000)])])
    pushed(tb, [price_op(tb, stock, pids[1], 1, 2, 1)])  # a conflict raised in store B
    with make_tenant(tenant.server) as other:
        other_pid, op = product_op(other.term, other.staff[Role.STOCK], 1)
        pushed(other.term, [op])
        changes = [c for p in http_pages(tenant.server.base_url, tenant.term.headers, 3)
                   for c in p["changes"]]
        b_pages = http_pages(tenant.server.base_url, tb.headers, 3)
        # a page token is bound to its store: another store's terminal cannot continue it
        with httpx.Client(base_url=tenant.server.base_url) as c:
            r = c.get("/sync/snapshot", headers=tenant.term.headers,
                      params={"page_token": b_pages[0]["next_page_token"]})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_page_token"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for c in changes:
        by_type.setdefault(c["entity_type"], []).append(c)
    assert {c["data"]["store_id"] for c in by_type["stock_level"]} == {tenant.store_id}
    assert {c["data"]["store_id"] for c in by_type["order"]} == {tenant.store_id}
    assert {c["data"]["store_id"] for c in by_type["conflict"]} == {tenant.store_id}
    assert {c["entity_id"] for c in by_type["store"]} == {tenant.store_id}
    assert {c["data"]["org_id"] for c in by_type["product"] + by_type["staff"]} == {tenant.org_id}
    assert other_pid not in {c["entity_id"] for c in changes}
    with tenant.server.ctx.reader() as s:
        levels = {level.product_id: level.qty_milli for level in s.scalars(
            select(StockLevel).where(StockLevel.store_id == tenant.store_id))}
    assert {c["entity_id"]: c["data"]["qty_on_hand_milli"] for c in by_type["stock_level"]} == levels
    b_changes = [c for p in b_pages for c in p["changes"]]
    b_levels = [c for c in b_changes if c["entity_type"] == "stock_level"]
    assert {c["data"]["store_id"] for c in b_levels} == {store_b} and len(b_levels) == 5
    assert sorted(c["data"]["qty_on_hand_milli"] for c in b_levels) == [3242] + [4242] * 4
    assert {c["entity_id"] for c in b_changes if c["entity_type"] == "product"} == set(pids)


def test_snapshot_limits_are_enforced(tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(tenant)
    settings = tenant.server.ctx.settings
    monkeypatch.setattr(settings, "snapshot_default_limit", 3)
    monkeypatch.setattr(settings, "snapshot_max_limit", 5)
    headers = tenant.term.headers
    with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
        def get(**params: Any) -> httpx.Response:
            return c.get("/sync/snapshot", params=params, headers=headers)

        big = get(limit=10_000).json()
        assert len(big["changes"]) == 5 and big["has_more"] and big["next_page_token"]
        following = get(page_token=big["next_page_token"]).json()  # the default size
        assert len(following["changes"]) == 3 and following["cursor"] == big["cursor"]
        whole = get().json()  # a client from before paging: the whole state
        assert not whole["has_more"] and len(whole["changes"]) == whole["total"] > 5
        monkeypatch.setattr(settings, "snapshot_unpaged_whole", False)
        first = get().json()
        assert len(first["changes"]) == 3 and first["has_more"]
        assert first["total"] == whole["total"]
        for bad in ({"limit": 0}, {"limit": -1}, {"limit": "x"}):
            r = get(**bad)
            assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
        for token in ("garbage!", "e30", big["next_page_token"][:-3] + "AAA", "x" * 3000):
            r = get(page_token=token)
            assert r.status_code in (400, 422), (token, r.text)
            if r.status_code == 400:
                assert r.json()["error"]["code"] == "invalid_page_token"
        r = c.get("/sync/snapshot", params={"limit": 3})
        assert r.status_code == 401
    assert "page_token" in str(
        httpx.get(tenant.server.base_url + "/openapi.json", timeout=60).json()["paths"]["/sync/snapshot"])


def test_finishing_a_snapshot_retires_only_synced_products_it_lacked(till_factory: Any) -> None:
    """After the last page, a product the snapshot lacked is gone on the server: retired,
    unless the till has unpushed work on it or never synced it (version 0)."""
    from sqlalchemy import update

    from app.services import catalog_edit
    from app.store.models import OutboxOperation
    from sync.pull import _finish_snapshot, _SnapshotSeen

    till = till_factory("Retire")
    clerk = till.actor(Role.STOCK)
    ids = [catalog_edit.quick_add(till.store, clerk, catalog_edit.NewProduct(
        f"RET-{i}", f"Retired {i}", 100, 200_000, (), None)) for i in range(4)]
    gone, edited, local_only, in_snapshot = ids
    with till.store.db.write() as s:  # as if pushed and pulled back: synced, versions > 0
        s.execute(update(OutboxOperation).values(status="done"))
        for pid, version in ((gone, 2), (edited, 1), (local_only, 0), (in_snapshot, 3)):
            s.get(Product, pid).version = version
    catalog_edit.update_product(till.store, clerk, edited, {"price": 120})  # unpushed
    seen = _SnapshotSeen()
    seen.products.add(in_snapshot)
    _finish_snapshot(till.store, seen, 7)
    with till.store.db.read() as s:
        active = {pid: s.get(Product, pid).active for pid in ids}
    assert active == {gone: False, edited: True, local_only: True, in_snapshot: True}
    assert read_cursor(till.store)[0] == 7
