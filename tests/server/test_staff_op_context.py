"""staff_op_context (server/sync/common.py): the operation context of back-office writes
and conflict resolutions. The feed's store rows are written after every other write of
the block, and not at all when the block raises (as a push: tests/server/test_lock_order.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import FeedEntry, Staff, Store
from server.sync.common import OpContext, staff_op_context
from sync.protocol import OpType
from tests.server.support import Tenant


@contextmanager
def _writing(tenant: Tenant) -> Iterator[tuple[Session, list[str]]]:
    """A writer session, rolled back afterwards, and the SQL its connection runs."""
    statements: list[str] = []
    with tenant.server.ctx.writer() as session:
        conn = session.connection()

        def record(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
            statements.append(" ".join(sql.split()).lower())

        event.listen(conn, "before_cursor_execute", record)
        try:
            yield session, statements
        finally:
            event.remove(conn, "before_cursor_execute", record)
            session.rollback()


def _context(session: Session, tenant: Tenant, **kw: Any) -> AbstractContextManager[OpContext]:
    actor = session.get(Staff, tenant.staff[Role.MANAGER])
    assert actor is not None
    return staff_op_context(session, actor, tenant.org_id, tenant.store_id, [],
                            op_id_prefix="test", op_type=OpType.PRODUCT_UPDATE,
                            entity_id="p-1", payload={"fields": {}}, **kw)


def _positions(session: Session, store_ids: list[str]) -> dict[str, int]:
    rows = session.execute(select(Store.id, Store.feed_position).where(Store.id.in_(store_ids)))
    return {sid: pos for sid, pos in rows}


def _write(oc: OpContext) -> None:
    oc.audit("product", "p-1", "product.update", {"price": {"before": 1, "after": 2}})
    oc.publish("product", "p-1", 2, {"id": "p-1", "price": 2})


def test_the_feed_is_written_after_every_other_write(tenant: Tenant) -> None:
    other = tenant.add_store()
    with _writing(tenant) as (session, sql):
        before = _positions(session, [tenant.store_id, other])
        with _context(session, tenant, device_id="dev-1", org_wide=True) as oc:
            assert oc.op.op_id.startswith("test-") and oc.op.type is OpType.PRODUCT_UPDATE
            assert (oc.op.actor_id, oc.op.device_id) == (tenant.staff[Role.MANAGER], "dev-1")
            assert (oc.terminal.org_id, oc.terminal.store_id) == (tenant.org_id, tenant.store_id)
            assert oc.terminal.terminal_id is None
            _write(oc)
            assert not [s for s in sql if s.startswith(("insert", "update"))]
        writes = [s for s in sql if s.startswith(("insert", "update"))]
        feed_lock = next(i for i, s in enumerate(writes) if s.startswith("update stores"))
        assert writes[0].startswith("insert into audit_entries") and feed_lock > 0
        assert all("stores" in s or "feed_entries" in s for s in writes[feed_lock:])
        after = _positions(session, [tenant.store_id, other])
        assert after == {sid: pos + 1 for sid, pos in before.items()}  # org-wide: every store
        entries = session.scalars(select(FeedEntry).where(FeedEntry.entity_id == "p-1")).all()
        assert {(e.store_id, e.position, e.origin_device_id) for e in entries} == {
            (sid, after[sid], None) for sid in after}


def test_a_block_that_raises_writes_no_feed(tenant: Tenant) -> None:
    marker = new_id()
    with _writing(tenant) as (session, sql):
        before = _positions(session, [tenant.store_id])
        with pytest.raises(RuntimeError, match=marker), _context(session, tenant) as oc:
            _write(oc)
            raise RuntimeError(marker)
        assert not [s for s in sql if "stores" in s and s.startswith("update")]
        assert not [s for s in sql if s.startswith("insert into audit_entries")]
        assert _positions(session, [tenant.store_id]) == before
        assert session.scalar(select(func.count()).select_from(FeedEntry)
                              .where(FeedEntry.entity_id == "p-1")) == 0
