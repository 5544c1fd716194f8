"""The seal's read of pending audit entries on SQLite, through the driver's cursor
(server/journal/chain.py ``_pending_sqlite``), gives what SQLAlchemy's read of the same
statement gives, value for value: the chain's hashes are made of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry
from server.journal import chain, status
from server.journal.chain import PENDING
from tests.server.support import Tenant


def _entries(tenant: Tenant) -> list[AuditEntry]:
    t0 = datetime(2026, 12, 4, 13, 0, 0, tzinfo=UTC)
    times = [t0, t0, t0 + timedelta(microseconds=1), t0.replace(microsecond=500_000),
             datetime(2026, 12, 4, 15, 0, 0, 123, tzinfo=timezone(timedelta(hours=2)))]
    changes: list[dict[str, Any]] = [
        {"created": {"before": None, "after": {"reference": "GO-AA0001", "total": 1250}}},
        {"customer": {"name": "Ana Lopes", "phone": "+351 900 000 000"}},  # sealed
        {}, {"note": "ünïcode ✓", "n": [1, 2.5, None, True]}, {"x": "y"}]
    return [AuditEntry(org_id=tenant.org_id, store_id=tenant.store_id if i % 2 else None,
                       entity_type="order", entity_id=new_id(), action="order.update",
                       actor_id=tenant.staff[Role.CASHIER] if i != 2 else None,
                       device_id=None, op_id=new_id() if i != 3 else None, changes=c,
                       reason="why" if i == 4 else None, created_at=at)
            for i, (at, c) in enumerate(zip(times, changes, strict=True))]


def test_the_driver_read_equals_sqlalchemys(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    with ctx.writer.begin() as s:
        s.add_all(_entries(tenant))
        s.flush()
        conn = s.connection()
        if conn.dialect.name != "sqlite":  # PostgreSQL reads them by its own statement
            return
        via_sqlalchemy = conn.execute(chain._PENDING_CONTENTS, {"org": tenant.org_id}).all()
        via_driver = chain._pending_sqlite(conn, tenant.org_id)
        assert len(via_driver) == len(via_sqlalchemy) >= 5
        for raw, orm in zip(via_driver, via_sqlalchemy, strict=True):
            assert tuple(raw) == tuple(orm)
            assert raw._fields == tuple(orm._fields)
            assert [type(v) for v in raw] == [type(v) for v in orm]
            assert raw.created_at.tzinfo == orm.created_at.tzinfo
    # committed: chained, nothing left pending, and the chain checks out
    with ctx.reader() as s:
        assert s.scalar(select(func.count()).select_from(PENDING)) == 0
    [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
    assert verdict.ok, verdict
