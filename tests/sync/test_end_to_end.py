"""Two real terminals and the real server: enrollment, offline sales, push/pull, dedupe."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.domain.permissions import Role
from app.services import shifts
from app.services.staff import sign_in
from app.store.local import open_store
from app.store.models import Device, Order, OutboxOperation, Payment, Staff, StoreSettings
from server.db.models import Order as ServerOrder
from server.db.models import Payment as ServerPayment
from sync.enroll import EnrollError, enroll
from sync.push import load_batch
from sync.status import read_status
from tests.sync.conftest import BACKENDS, enrollment_code


def server_count(till, model, **where) -> int:
    with till.tenant.server.ctx.reader() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q) or 0


def local_orders(till) -> dict[str, tuple[str, int, int]]:
    with till.store.db.read() as s:
        return {o.reference: (o.id, o.total, o.paid) for o in s.scalars(select(Order))}


def test_enroll_adopts_server_identity(till_factory, tenant) -> None:
    till = till_factory("A")
    device = till.store.device()
    assert device.server_url == tenant.server.base_url
    assert device.store_id == tenant.store_id and device.org_id == tenant.org_id
    assert device.code != "00"  # the support tenant already enrolled the org's first terminal
    assert till.store.settings().id == tenant.store_id
    # the data key was copied to the new device id: the store opens with the same key
    till.store.close()
    again = open_store(till.store.data_dir)
    assert again.device_id == device.id and again.key_source == "keyring"
    again.close()
    till.store = open_store(till.store.data_dir)
    status = read_status(till.store)
    assert status.enrolled and status.waiting == 0


def test_enroll_refuses_terminal_with_orders(tmp_path, tenant) -> None:
    from tests.sync.conftest import Till

    store = open_store(tmp_path / "old")
    till = Till(store, tenant)
    till.sell()
    code = enrollment_code(tenant)
    with pytest.raises(EnrollError, match="placeholder device code"):
        asyncio.run(enroll(store, tenant.server.base_url, code))
    assert store.device().server_url is None
    store.close()


@BACKENDS
def test_two_terminals_sell_offline_and_both_see_both_sales(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    a1 = a.sell(250)
    a2 = a.sell(400, qty_milli=2000)
    b1 = b.sell(999, pay=False)
    assert read_status(a.store).waiting == 3  # and the shift A's first sale opened

    ra = a.sync()
    assert (ra.push.applied, ra.push.duplicates, ra.push.rejected) == (3, 0, [])
    rb = b.sync()
    assert rb.push.applied == 2
    a.sync()

    refs = {a1.reference, a2.reference, b1.reference}
    assert refs <= set(local_orders(a)) and refs <= set(local_orders(b))
    assert local_orders(a) == local_orders(b)
    with tenant.server.ctx.reader() as s:
        server_orders = {o.reference: (o.id, o.total, o.paid) for o in s.scalars(
            select(ServerOrder).where(ServerOrder.store_id == tenant.store_id))}
    for ref in refs:
        assert server_orders[ref] == local_orders(a)[ref]
    assert sum(t for _, t, _ in local_orders(b).values()) == sum(
        server_orders[r][1] for r in refs)
    # B's unpaid order and A's payments arrive with their payments
    with b.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 2
    assert read_status(a.store).waiting == 0 and read_status(b.store).last_sync is not None
    with a.store.db.read() as s:
        assert all(o.version >= 1 for o in s.scalars(select(Order)))


def test_staff_arrive_with_pin_hash_for_offline_sign_in(till_factory, tenant) -> None:
    till = till_factory("A")
    till.sync()
    with till.store.db.read() as s:
        cashier = s.get(Staff, tenant.staff[Role.CASHIER])
        assert cashier is not None and cashier.pin_hash.startswith("$argon2")
        code = cashier.code
    actor = sign_in(till.store, code, "3333")
    assert actor.staff_id == tenant.staff[Role.CASHIER] and actor.role is Role.CASHIER


@BACKENDS
def test_same_batch_pushed_twice_makes_one_order(till_factory, tenant) -> None:
    till = till_factory("A")
    sale = till.sell(700)
    ops = load_batch(till.store)

    async def twice():
        async with till.client() as c:
            return await c.push(ops), await c.push(ops)

    first, second = asyncio.run(twice())  # the shift the sale opened, and the sale
    assert [r.status.value for r in first.results] == ["applied", "applied"]
    assert [r.status.value for r in second.results] == ["duplicate", "duplicate"]
    assert server_count(till, ServerOrder, id=sale.order_id) == 1
    assert server_count(till, ServerPayment, order_id=sale.order_id) == 1
    report = till.sync()  # the outbox still says pending: the third send is a duplicate too
    assert report.push.duplicates == 2 and report.push.applied == 0
    with till.store.db.read() as s:
        assert s.scalars(select(OutboxOperation.status)).all() == ["done", "done"]


def test_cli_commands(till_factory, tenant, capsys, monkeypatch) -> None:
    import argparse

    from sync import commands

    till = till_factory("A")
    shifts.open_shift(till.store, till.actor(), 0)  # a shift open and synced: one sale waits
    till.sync()
    till.sell()
    ns = argparse.Namespace(key_passphrase_file=None)
    assert commands.run("status", till.store, ns) == 0
    assert "; 1 operation waiting to sync;" in capsys.readouterr().out  # counts in words
    assert commands.run("sync", till.store, ns) == 0
    # one result per line (a snapshot's "\r  done/total" progress comes before them):
    # scripts read the "Pushed" and "Pulled" lines (docs/client-guide.md, section 9)
    lines = capsys.readouterr().out.splitlines()
    assert "Pushed 1 operation: 1 applied, 0 duplicates, 0 conflicts, 0 rejected" in lines
    assert any(line.startswith("Pulled ") for line in lines)
    # status reads the local store only: no sync service, no client, no request; right
    # after a sync (within RECENT_SYNC_S) it says Online from the last sync's time
    monkeypatch.setattr(commands, "SyncService", None)
    monkeypatch.setattr(commands, "client_factory_for", None)
    assert commands.run("status", till.store, ns) == 0
    out = capsys.readouterr().out
    assert out.startswith("Online; 0 operations waiting to sync; last sync "), out
    with till.store.db.read() as s:
        assert s.scalar(select(Device.code)) == till.store.device().code
        assert s.scalar(select(StoreSettings.id)) == tenant.store_id
