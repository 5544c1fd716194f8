"""Approvals across terminals, conflicts in the local table and their resolution,
store settings and first-sync progress: real terminals against the real server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.domain.permissions import PermissionDenied, Role
from app.services import approvals
from app.services.catalog_edit import NewProduct, quick_add, update_product
from app.services.order_edits import edit_order
from app.store.models import AuditEntry, Order, OutboxOperation, Product, StoreSettings
from app.store.models_aftersale import Approval
from server.db.models import Approval as ServerApproval
from server.db.models import AuditEntry as ServerAudit
from server.db.models import Conflict as ServerConflict
from server.db.models import Order as ServerOrder
from server.db.models import Product as ServerProduct
from server.tenancy import service as tenancy
from server.tenancy.schemas import StorePatch
from sync import conflicts
from sync.conflicts import ConflictError, open_conflicts, resolve
from sync.pull import pull_changes
from sync.status import read_status
from tests.sync.conftest import BACKENDS


def local_order(till, order_id: str) -> Order:
    with till.store.db.read() as s:
        order = s.get(Order, order_id)
        assert order is not None
        s.expunge(order)
        return order


def local_approval(till, approval_id: str) -> Approval | None:
    with till.store.db.read() as s:
        a = s.get(Approval, approval_id)
        if a is not None:
            s.expunge(a)
        return a


def outbox_statuses(till) -> list[tuple[str, str]]:
    with till.store.db.read() as s:
        return [(r.type, r.status) for r in s.scalars(
            select(OutboxOperation).order_by(OutboxOperation.op_seq))]


def product_price(till, pid: str) -> int:
    with till.store.db.read() as s:
        return s.get(Product, pid).price


# ---------------------------------------------------------------- approvals


@BACKENDS
def test_deletion_requested_on_a_is_approved_on_b_and_deleted_everywhere(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    sale = a.sell(500, pay=False)
    approval_id = approvals.request_deletion(a.store, a.actor(Role.CASHIER), sale.order_id,
                                             "customer walked out")
    a.sync()
    assert local_approval(a, approval_id).version >= 1  # the push answer's version
    assert approvals.pending(b.store) == []
    b.sync()

    queue = approvals.pending(b.store)
    assert [(p.id, p.kind, p.order_reference, p.reason) for p in queue] == [
        (approval_id, "delete", sale.reference, "customer walked out")]
    assert queue[0].requested_by == tenant.staff[Role.CASHIER]

    manager = b.actor(Role.MANAGER)
    approvals.decide(b.store, manager, approval_id, True, note="checked with the customer")
    b.sync()
    a.sync()

    for till in (a, b):
        order = local_order(till, sale.order_id)
        assert (order.status, order.deleted_reason) == ("deleted", "customer walked out")
        approval = local_approval(till, approval_id)
        assert approval.status == "approved" and approval.decided_by == manager.staff_id
        assert approvals.pending(till.store) == []
        assert all(st == "done" for _, st in outbox_statuses(till))
    with tenant.server.ctx.reader() as s:
        order = s.get(ServerOrder, sale.order_id)
        assert (order.status, order.deleted_reason) == ("deleted", "customer walked out")
        assert order.deleted_by == manager.staff_id
        approval = s.get(ServerApproval, approval_id)
        assert (approval.status, approval.decided_by) == ("approved", manager.staff_id)
        trail = s.scalars(select(ServerAudit).where(ServerAudit.entity_id == sale.order_id)
                          .order_by(ServerAudit.id)).all()
        deletions = [e for e in trail if e.action.endswith("delete")]
        assert deletions and deletions[-1].reason == "customer walked out"
        assert deletions[-1].actor_id == manager.staff_id


def test_rejected_request_syncs_and_a_pending_decision_is_not_overwritten(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    sale = a.sell(300, pay=False)
    approval_id = approvals.request_deletion(a.store, a.actor(Role.CASHIER), sale.order_id, "typo")
    a.sync()
    b.sync()
    approvals.decide(b.store, b.actor(Role.MANAGER), approval_id, False, note="keep it")

    async def pull_only():  # B pulls before pushing: its local decision must stay
        async with b.client() as c:
            return await pull_changes(b.store, c)

    a.sync()
    asyncio.run(pull_only())
    assert local_approval(b, approval_id).status == "rejected"
    b.sync()
    a.sync()
    for till in (a, b):
        assert local_approval(till, approval_id).status == "rejected"
        assert local_order(till, sale.order_id).status == "pending"
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerApproval, approval_id).decision_note == "keep it"


def test_refund_requested_on_a_is_approved_on_b_and_recorded_on_both(till_factory, tenant) -> None:
    from app.store.models_aftersale import Refund
    from server.db.models import Refund as ServerRefund

    a, b = till_factory("A"), till_factory("B")
    sale = a.sell(1000, qty_milli=2000)
    with a.store.db.read() as s:
        line_id = s.get(Order, sale.order_id).lines[0].id
    approval_id = approvals.request_refund(a.store, a.actor(Role.CASHIER), sale.order_id,
                                           [approvals.RefundItem(line_id, 1000)], "broken")
    a.sync()
    b.sync()
    (queued,) = approvals.pending(b.store)
    assert (queued.id, queued.kind, queued.amount) == (approval_id, "refund", 1000)
    approvals.decide(b.store, b.actor(Role.MANAGER), approval_id, True)
    b.sync()
    a.sync()
    for till in (a, b):
        order = local_order(till, sale.order_id)
        assert order.refunded == 1000
        with till.store.db.read() as s:
            (refund,) = s.scalars(select(Refund).where(Refund.order_id == sale.order_id)).all()
            assert (refund.amount, refund.reason, len(refund.lines)) == (1000, "broken", 1)
            assert refund.approval_id == approval_id  # on A: pulled, naming the approval
            assert s.get(Order, sale.order_id).lines[0].refunded_qty_milli == 1000
        assert local_approval(till, approval_id).status == "approved"
    with pytest.raises(approvals.ApprovalError, match="at most 1"):  # A knows one is left
        approvals.request_refund(a.store, a.actor(Role.CASHIER), sale.order_id,
                                 [approvals.RefundItem(line_id, 2000)], "again")
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerRefund, refund.id).amount == 1000
        assert s.get(ServerApproval, approval_id).status == "approved"
    a.sync()  # replaying the feed does not add the refund twice
    with a.store.db.read() as s:
        assert len(s.scalars(select(Refund)).all()) == 1


def test_edit_against_a_concurrent_deletion_is_a_conflict_and_nothing_is_lost(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    sale = a.sell(800, pay=False)
    a.sync()
    b.sync()
    approvals.delete_with_override(a.store, a.actor(Role.CASHIER), a.actor(Role.MANAGER),
                                   sale.order_id, "duplicate order")
    a.sync()
    edit_order(b.store, b.actor(Role.MANAGER), sale.order_id, note="deliver at 5")  # offline
    report = b.sync()

    assert len(report.push.conflicts) == 1
    cid = report.push.conflicts[0].conflict_id
    order = local_order(b, sale.order_id)  # the server's state is taken...
    assert (order.status, order.deleted_reason) == ("deleted", "duplicate order")
    (c,) = open_conflicts(b.store)  # ...and the edit is kept in the conflict
    assert (c.id, c.kind, c.entity_type, c.entity_id) == (cid, "edit_of_deleted", "order",
                                                          sale.order_id)
    assert c.local_value == {"note": "deliver at 5"} and c.server_value == {"note": None}
    with tenant.server.ctx.reader() as s:
        server_conflict = s.get(ServerConflict, cid)
        assert server_conflict.fields["note"]["terminal"] == "deliver at 5"
    a.sync()
    assert [x.id for x in open_conflicts(a.store)] == [cid]

    with pytest.raises(ConflictError, match="only the server's state"):
        resolve(a.store, a.actor(Role.MANAGER), cid, "terminal")
    resolve(a.store, a.actor(Role.MANAGER), cid, "server")
    a.sync()
    b.sync()
    assert open_conflicts(a.store) == open_conflicts(b.store) == []
    with tenant.server.ctx.reader() as s:
        assert s.get(ServerConflict, cid).status == "resolved"


# ---------------------------------------------------------------- conflicts


def _price_conflict(till_factory):
    a, b = till_factory("A"), till_factory("B")
    pid = quick_add(a.store, a.actor(Role.MANAGER), NewProduct("SKU-C", "Cake", 500, 200_000))
    a.sync()
    b.sync()
    update_product(a.store, a.actor(Role.MANAGER), pid, {"price": 550})
    update_product(b.store, b.actor(Role.MANAGER), pid, {"price": 600})
    a.sync()
    report = b.sync()
    a.sync()
    (problem,) = report.push.conflicts
    return a, b, pid, problem.conflict_id


@BACKENDS
def test_same_field_conflict_is_listed_on_both_and_resolved_everywhere(till_factory, tenant) -> None:
    a, b, pid, cid = _price_conflict(till_factory)
    for till in (a, b):
        (c,) = open_conflicts(till.store)
        assert (c.id, c.kind, c.fields) == (cid, "field_conflict", ("price",))
        assert (c.local_value, c.server_value) == ({"price": 600}, {"price": 550})
        assert read_status(till.store).conflicts == 1
    assert product_price(a, pid) == product_price(b, pid) == 550

    with pytest.raises(PermissionDenied):
        resolve(a.store, a.actor(Role.CASHIER), cid, "terminal")
    resolve(a.store, a.actor(Role.MANAGER), cid, "terminal")  # keep B's 600
    assert open_conflicts(a.store) == [] and read_status(a.store).waiting == 1
    with a.store.db.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == cid)).one()
        assert entry.action == "conflict.resolve"
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "conflict.resolve")).one()
        assert op.entity_id == cid
        assert op.payload == {"conflict_id": cid, "choice": "terminal", "value": None}

    report = a.sync()
    assert report.push.applied == 1
    with tenant.server.ctx.reader() as s:
        server_conflict = s.get(ServerConflict, cid)
        assert server_conflict.status == "resolved"
        assert server_conflict.resolution == {"choice": "terminal", "values": {"price": 600}}
        assert s.get(ServerProduct, pid).price == 600
    assert product_price(a, pid) == 600
    b.sync()
    assert product_price(b, pid) == 600
    for till in (a, b):
        assert open_conflicts(till.store) == [] and read_status(till.store).conflicts == 0
        view = conflicts.get(till.store, cid)
        assert view.status == "resolved" and view.resolution["choice"] == "terminal"
        assert view.resolution["synced"] is True


def test_custom_resolution_and_a_losing_resolution_reopens_then_closes(till_factory, tenant) -> None:
    a, b, pid, cid = _price_conflict(till_factory)
    with pytest.raises(ConflictError, match="Not part of this conflict"):
        resolve(b.store, b.actor(Role.MANAGER), cid, "custom", {"name": "x"})
    resolve(a.store, a.actor(Role.OWNER), cid, "custom", {"price": 575})
    resolve(b.store, b.actor(Role.MANAGER), cid, "server")  # both managers, offline
    a.sync()
    report = b.sync()  # B's resolution is refused (already resolved): the server's stands
    assert len(report.push.rejected) == 1 and "already resolved" in report.push.rejected[0].reason
    for till in (a, b):
        view = conflicts.get(till.store, cid)
        assert view.status == "resolved" and view.resolution["choice"] == "custom"
        assert product_price(till, pid) == 575


def test_store_settings_from_enrollment_and_the_feed(till_factory, tenant) -> None:
    with tenant.server.ctx.writer.begin() as s:
        tenancy.update_store(s, tenant.org_id, tenant.store_id, StorePatch(
            address="1 Main St", tax_id="IE123", receipt_footer="Come again"))
    till = till_factory("A")
    settings = till.store.settings()
    assert (settings.id, settings.address, settings.tax_id, settings.receipt_footer) == (
        tenant.store_id, "1 Main St", "IE123", "Come again")
    enrolled_version = settings.version
    assert enrolled_version >= 2
    till.sync()
    with tenant.server.ctx.writer.begin() as s:
        tenancy.update_store(s, tenant.org_id, tenant.store_id, StorePatch(
            name="Corner shop", locale="de_DE", tax_inclusive=False, currency="chf"))
    till.sync()
    settings = till.store.settings()
    assert (settings.name, settings.locale, settings.tax_inclusive, settings.currency) == (
        "Corner shop", "de_DE", False, "CHF")
    assert settings.version == enrolled_version + 1 and settings.address == "1 Main St"
    with till.store.db.read() as s:
        assert len(s.scalars(select(StoreSettings)).all()) == 1


def test_store_change_creates_the_settings_row_when_missing(till_factory, tenant) -> None:
    from sync.apply import ApplyContext, apply_changes
    from sync.protocol import Change

    till = till_factory("A")
    with till.store.db.write() as s:
        for row in s.scalars(select(StoreSettings)):
            s.delete(row)
    change = Change(position=1, entity_type="store", entity_id=tenant.store_id, version=7,
                    data={"id": tenant.store_id, "name": "New", "currency": "EUR",
                          "tax_inclusive": True, "address": "", "receipt_footer": "Bye"})
    with till.store.db.write() as s:
        apply_changes(s, ApplyContext(till.store.device_id, till.store.cipher, set()), [change])
    settings = till.store.settings()
    assert (settings.id, settings.name, settings.receipt_footer, settings.version) == (
        tenant.store_id, "New", "Bye", 7)


def test_pull_reports_progress_from_the_feed_head(till_factory, tenant) -> None:
    a = till_factory("A")
    manager = a.actor(Role.MANAGER)
    for i in range(25):
        quick_add(a.store, manager, NewProduct(f"HEAD-{i}", f"Item {i}", 100 + i, 200_000))
    a.sync()
    b = till_factory("B")
    calls: list[tuple[int, int | None]] = []

    async def by_feed():
        async with b.client() as c:
            return await pull_changes(b.store, c, limit=10, first_sync_snapshot=False,
                                      progress=lambda d, t: calls.append((d, t)))

    report = asyncio.run(by_feed())
    assert not report.snapshot and report.pages >= 3
    assert all(t is not None and 0 < d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1][0] == calls[-1][1] == report.cursor
    with b.store.db.read() as s:
        assert len(s.scalars(select(Product)).all()) == 25
