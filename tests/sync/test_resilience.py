"""Lost responses, rejected and held-back operations, atomic pages, expired cursors."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from app.domain.operations import OpType
from app.domain.payloads import OrderDelete
from app.domain.permissions import Role
from app.services.catalog_edit import NewProduct, quick_add, update_product
from app.store.models import Order, OutboxOperation, Product, Staff, SyncState
from app.store.unit_of_work import mutation
from server.db.models import Order as ServerOrder
from server.db.models import Payment as ServerPayment
from server.db.models import Product as ServerProduct
from server.feed import service as feed
from sync import state
from sync.client import SyncClient, TransientError
from sync.pull import apply_page, pull_changes, read_cursor
from sync.service import SyncService
from tests.sync.conftest import BACKENDS
from tests.sync.proxy import DroppingProxy


def outbox(till) -> list[tuple[int, str, str, str | None]]:
    with till.store.db.read() as s:
        rows = s.scalars(select(OutboxOperation).order_by(OutboxOperation.op_seq))
        return [(r.op_seq, r.type, r.status, r.last_error) for r in rows]


@BACKENDS
def test_lost_response_then_retry_creates_no_second_order_or_payment(till_factory, tenant) -> None:
    till = till_factory("A")
    sales = [till.sell(300), till.sell(450)]
    before = {op[0] for op in outbox(till)}
    port = urlparse(tenant.server.base_url).port
    with DroppingProxy(port) as proxy:
        factory = lambda: SyncClient(proxy.url, till.token(), timeout=10)  # noqa: E731
        service = SyncService(till.store, factory)
        proxy.drop_responses = 1
        with pytest.raises(TransientError):
            asyncio.run(service.run_once())
        assert proxy.dropped == 1
        # the server did commit both orders, the till does not know it yet
        with tenant.server.ctx.reader() as s:
            ids = [x.order_id for x in sales]
            assert s.scalar(select(func.count()).select_from(ServerOrder)
                            .where(ServerOrder.id.in_(ids))) == 2
        assert [op[2] for op in outbox(till)] == ["pending"] * 3  # and the shift sale 1 opened
        assert service.status().online is False and "Offline" in (service.status().message or "")
        report = asyncio.run(service.run_once())  # the very same ops, same op_id and op_seq
    assert report.push.duplicates == 3 and report.push.applied == 0
    assert {op[0] for op in outbox(till)} == before
    assert [op[2] for op in outbox(till)] == ["done"] * 3
    with tenant.server.ctx.reader() as s:
        for sale in sales:
            assert s.scalar(select(func.count()).select_from(ServerOrder)
                            .where(ServerOrder.id == sale.order_id)) == 1
            assert s.scalar(select(func.count()).select_from(ServerPayment)
                            .where(ServerPayment.order_id == sale.order_id)) == 1


def test_cashier_delete_is_rejected_and_later_ops_still_apply(till_factory, tenant) -> None:
    till = till_factory("A")
    sale = till.sell(500, pay=False)
    cashier = till.actor(Role.CASHIER)
    with mutation(till.store.db, till.store.device_id, cashier, "order.delete") as m:
        m.audit("order", sale.order_id, {"status": {"before": "pending", "after": "deleted"}},
                reason="rang up twice")
        m.emit(OpType.ORDER_DELETE, sale.order_id, OrderDelete(reason="rang up twice"), base_version=0)
    later = till.sell(120)
    report = till.sync()
    assert report.push.applied == 3  # the shift the first sale opened, and the two sales
    assert len(report.push.rejected) == 1
    rejected = report.push.rejected[0]
    assert rejected.op_type == "order.delete" and "may not do order.delete" in rejected.reason
    ops = outbox(till)
    assert [(t, st) for _, t, st, _ in ops] == [
        ("shift.open", "done"), ("order.create", "done"), ("order.delete", "rejected"),
        ("order.create", "done")]
    assert "may not do order.delete" in (ops[2][3] or "")
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerOrder, later.order_id) is not None
        assert s.get(ServerOrder, sale.order_id).status == "pending"
    again = till.sync()  # quarantined: never resent by itself
    assert again.push.pushed == 0
    from sync.status import read_status

    status = read_status(till.store)
    assert status.rejected == 1 and status.waiting == 0


def _product(till, product_id: str) -> Product:
    with till.store.db.read() as s:
        p = s.get(Product, product_id)
        s.expunge(p)
        return p


def test_pulled_price_change_never_overwrites_a_local_unpushed_edit(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    manager = a.actor(Role.MANAGER)
    pid = quick_add(a.store, manager, NewProduct("SKU-1", "Tea", 300, 200_000, ("5901234123457",)))
    a.sync()
    b.sync()
    assert _product(b, pid).price == 300 and _product(b, pid).version == 1
    update_product(b.store, b.actor(Role.MANAGER), pid, {"name": "Green tea"})  # unpushed
    update_product(a.store, manager, pid, {"price": 350})
    a.sync()

    async def pull_only():
        async with b.client() as c:
            return await pull_changes(b.store, c)

    pulled = asyncio.run(pull_only())
    assert pulled.held_back >= 1
    local = _product(b, pid)
    assert (local.name, local.price) == ("Green tea", 300)  # the local edit is kept
    with b.store.db.read() as s:
        assert s.get(SyncState, state.DEFERRED_PREFIX + pid) is not None

    report = b.sync()  # push: the server merges the name edit with A's price change
    assert report.push.applied == 1
    local = _product(b, pid)
    assert (local.name, local.price) == ("Green tea", 350)
    with tenant.server.ctx.reader() as s:
        sp = s.get(ServerProduct, pid)
        assert (sp.name, sp.price, sp.version) == ("Green tea", 350, local.version)
    a.sync()
    assert (_product(a, pid).name, _product(a, pid).price) == ("Green tea", 350)


def test_same_field_edited_on_two_tills_is_a_conflict(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    pid = quick_add(a.store, a.actor(Role.MANAGER), NewProduct("SKU-2", "Cake", 500, 200_000))
    a.sync()
    b.sync()
    update_product(a.store, a.actor(Role.MANAGER), pid, {"price": 550})
    update_product(b.store, b.actor(Role.MANAGER), pid, {"price": 600})
    a.sync()
    report = b.sync()
    assert len(report.push.conflicts) == 1 and "price" in report.push.conflicts[0].reason
    from sync.status import read_status

    assert read_status(b.store).conflicts == 1
    from sync.conflicts import open_conflicts

    records = open_conflicts(b.store)
    assert len(records) == 1 and records[0].status == "open"
    assert records[0].id == report.push.conflicts[0].conflict_id
    assert records[0].fields == ("price",) and records[0].local_value == {"price": 600}
    assert records[0].server_value == {"price": 550}  # the server's side arrived by pull


def test_page_and_cursor_are_applied_atomically(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    for _ in range(3):
        a.sell(100)
    a.sync()
    b.sync()
    cursor_before, _ = read_cursor(b.store)
    for _ in range(3):
        a.sell(200)
    a.sync()

    async def page():
        async with b.client() as c:
            return await c.pull(cursor_before, 50)

    pg = asyncio.run(page())
    orders = [c for c in pg.changes if c.entity_type == "order"]
    assert len(orders) == 3
    seen = []

    def boom(change):
        seen.append(change)
        if len(seen) == len(pg.changes):
            raise RuntimeError("power cut")

    with b.store.db.read() as s:
        n_before = s.scalar(select(func.count()).select_from(Order))
    with pytest.raises(RuntimeError, match="power cut"):
        apply_page(b.store, pg.changes, cursor_before, pg.cursor, hook=boom)
    with b.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == n_before
    assert read_cursor(b.store)[0] == cursor_before
    apply_page(b.store, pg.changes, cursor_before, pg.cursor)
    with b.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == n_before + 3
    assert read_cursor(b.store)[0] == pg.cursor
    # replaying the same page is harmless (versions and ids)
    with b.store.db.write() as s:
        state.set_state(s, state.CURSOR, str(cursor_before))
    apply_page(b.store, pg.changes, cursor_before, pg.cursor)
    with b.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == n_before + 3


def test_expired_cursor_resyncs_from_snapshot_and_keeps_the_outbox(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    b.sync()
    pid = quick_add(a.store, a.actor(Role.MANAGER), NewProduct("SKU-3", "Bun", 150, 200_000))
    a.sell(150, product_id=pid)
    a.sync()
    with tenant.server.ctx.reader() as s:
        from server.db.models import Store

        head = s.get(Store, tenant.store_id).feed_position
    feed.compact(tenant.server.ctx, tenant.org_id, tenant.store_id, head)
    waiting = b.sell(80)  # offline sale on B, not pushed before the resync
    progress: list[tuple[int, int | None]] = []

    async def pull_only():
        async with b.client() as c:
            return await pull_changes(b.store, c, progress=lambda d, t: progress.append((d, t)))

    report = asyncio.run(pull_only())
    assert report.snapshot and report.cursor == head
    assert progress and progress[-1][0] == progress[-1][1]
    assert _product(b, pid).name == "Bun"
    with b.store.db.read() as s:
        assert s.get(Order, waiting.order_id) is not None
        assert s.scalar(select(OutboxOperation.status)
                        .where(OutboxOperation.entity_id == waiting.order_id)) == "pending"
        assert s.scalar(select(func.count()).select_from(Staff)) >= 5
    assert b.sync().push.applied == 2  # the outbox (the shift the sale opened, the sale) is
    # replayed after the snapshot


def test_first_sync_uses_snapshot_with_progress(till_factory, tenant) -> None:
    a = till_factory("A")
    manager = a.actor(Role.MANAGER)
    for i in range(30):
        quick_add(a.store, manager, NewProduct(f"BULK-{i}", f"Item {i}", 100 + i, 200_000))
    a.sync()
    b = till_factory("B")
    calls: list[tuple[int, int | None]] = []
    report = asyncio.run(b.service(progress=lambda d, t: calls.append((d, t))).run_once())
    assert report.pull.snapshot
    assert calls[0] == (0, calls[-1][1]) and calls[-1][0] == calls[-1][1] >= 30 + 5
    with b.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 30


def test_clock_skew_is_recorded_and_warned(till_factory, tenant) -> None:
    till = till_factory("A")
    till.sync()
    with till.store.db.write() as s:
        state.set_state(s, state.CLOCK_SKEW, "-900")
    from sync.status import read_status

    status = read_status(till.store)
    assert status.clock_warning and "15 min ahead of" in status.clock_warning
    assert "15 min" in status.describe()
    till.sync()
    assert abs(read_status(till.store).clock_skew_s or 0) < 60
    assert read_status(till.store).clock_warning is None


def test_legacy_json_conflict_records_move_to_the_table(till_factory) -> None:
    from app.store.models_aftersale import Conflict
    from sync.status import read_status

    till = till_factory("A")
    till.sync()  # past the first sync (a snapshot closes conflicts the server lacks)
    with till.store.db.write() as s:
        state.set_state(s, "conflict:op-1", json.dumps(
            {"op_id": "op-1", "op_type": "product.update", "entity_id": "p-1",
             "conflict_id": "c-1", "reason": "changed on the server too: price",
             "status": "open"}))
        state.set_state(s, "open_conflicts", "1")
    till.sync()
    with till.store.db.read() as s:
        row = s.get(Conflict, "c-1")
        assert (row.entity_type, row.entity_id, row.status) == ("product", "p-1", "open")
        assert s.scalar(select(func.count()).select_from(SyncState)
                        .where(SyncState.key.like("conflict:%"))) == 0
    assert read_status(till.store).conflicts == 1
