"""Retention (issue 16, item 7): ``tillsync-server housekeeping`` compacts feed entries
older than retain_feed_days and deletes webhook deliveries delivered or given up more
than retain_webhook_deliveries_days ago; pending deliveries, the audit trail and
processed_ops stay. Real server on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.base import utcnow
from server.db.models import AuditEntry, Event, FeedEntry, ProcessedOp, Store, WebhookDelivery
from server.ops.retention import housekeeping
from tests.server.support import Tenant


def _count(tenant: Tenant, stmt) -> int:  # type: ignore[no-untyped-def]
    with tenant.server.ctx.reader() as s:
        return int(s.scalar(stmt) or 0)


def test_housekeeping_compacts_old_feed_and_deliveries_and_keeps_the_audit(
        tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    term = tenant.term
    cashier = tenant.staff[Role.CASHIER]
    body = term.push([term.order_create(cashier) for _ in range(4)])
    assert all(r["status"] == "applied" for r in body["results"])
    now = utcnow()
    with ctx.writer.begin() as s:
        positions = sorted(s.scalars(select(FeedEntry.position)
                                     .where(FeedEntry.store_id == tenant.store_id)))
        old_upto = positions[len(positions) // 2]
        s.execute(update(FeedEntry).where(FeedEntry.store_id == tenant.store_id,
                                          FeedEntry.position <= old_upto)
                  .values(created_at=now - timedelta(days=120)))
        event = new_id()
        s.execute(insert(Event).values(id=event, org_id=tenant.org_id, type="test.old",
                                       payload={}, created_at=now - timedelta(days=60)))
        rows = [("delivered", now - timedelta(days=40)), ("failed", now - timedelta(days=40)),
                ("pending", now - timedelta(days=40)), ("delivered", now - timedelta(days=2))]
        ids = [new_id() for _ in rows]
        for did, (status, when) in zip(ids, rows, strict=True):
            s.execute(insert(WebhookDelivery).values(
                id=did, event_id=event, url="http://127.0.0.1:9/x", status=status,
                attempts=1, next_attempt_at=when,
                delivered_at=when if status == "delivered" else None))
    audit = _count(tenant, select(func.count()).select_from(AuditEntry)
                   .where(AuditEntry.org_id == tenant.org_id))
    processed = _count(tenant, select(func.count()).select_from(ProcessedOp)
                       .where(ProcessedOp.device_id == term.device_id))

    done = housekeeping(ctx)

    assert done.compacted[tenant.store_id] == old_upto
    with ctx.reader() as s:
        assert s.get(Store, tenant.store_id).feed_horizon == old_upto  # type: ignore[union-attr]
        kept = set(s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.id.in_(ids))))
    assert kept == {ids[2], ids[3]}  # the pending one and the recent one
    assert done.deliveries_deleted >= 2
    assert _count(tenant, select(func.count()).select_from(FeedEntry).where(
        FeedEntry.store_id == tenant.store_id, FeedEntry.position <= old_upto)) == 0
    with tenant.server.client() as c:  # a till further behind loads a snapshot
        r = c.get("/sync/pull", params={"after": 0}, headers=term.headers)
        assert r.status_code == 410 and r.json()["error"]["code"] == "cursor_expired"
        r = c.get("/sync/pull", params={"after": old_upto}, headers=term.headers)
        assert r.status_code == 200 and r.json()["changes"]
    assert _count(tenant, select(func.count()).select_from(AuditEntry)
                  .where(AuditEntry.org_id == tenant.org_id)) == audit
    assert _count(tenant, select(func.count()).select_from(ProcessedOp)
                  .where(ProcessedOp.device_id == term.device_id)) == processed
    assert housekeeping(ctx).compacted.get(tenant.store_id) is None  # nothing more to do
