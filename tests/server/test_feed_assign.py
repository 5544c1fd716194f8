"""FeedWriter.assign on one store (server/feed/writer.py): on PostgreSQL the positions
are taken and the entries inserted by one statement for a few entries, by the UPDATE
and a COPY for more; either way positions are dense, after the store's last, in the
order the entries were appended, and a value too long for its column is refused (the
statement's casts do not cut it). SQLite: the same behaviour by its own path."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.domain.ids import new_id
from server.db.models import FeedEntry, Store
from server.feed import writer
from server.feed.writer import FeedWriter
from tests.server.support import Tenant


def _append(tenant: Tenant, count: int, entity_id: str | None = None) -> list[str]:
    ids = [entity_id or new_id() for _ in range(count)]
    with tenant.server.ctx.writer.begin() as s:
        feed = FeedWriter.deferred(s, tenant.org_id, tenant.store_id)
        for i, eid in enumerate(ids):
            feed.append("order", eid, i + 1, {"n": i, "name": "ünï"}, op_id=f"op-{i}",
                        deleted=i == 1)
        feed.assign()
    return ids


@pytest.mark.parametrize("count", [1, 3, writer.MAX_ONE_STORE + 7])
def test_positions_follow_the_store_and_the_appends(tenant: Tenant, count: int) -> None:
    ctx = tenant.server.ctx
    with ctx.reader() as s:
        last = s.scalar(select(Store.feed_position).where(Store.id == tenant.store_id))
    ids = _append(tenant, count)
    with ctx.reader() as s:
        rows = s.scalars(select(FeedEntry).where(FeedEntry.store_id == tenant.store_id,
                                                 FeedEntry.position > last)
                         .order_by(FeedEntry.position)).all()
        head = s.scalar(select(Store.feed_position).where(Store.id == tenant.store_id))
    assert [r.position for r in rows] == list(range(last + 1, last + count + 1))
    assert head == last + count
    assert [r.entity_id for r in rows] == ids
    assert [r.version for r in rows] == list(range(1, count + 1))
    assert [r.data for r in rows] == [{"n": i, "name": "ünï"} for i in range(count)]
    assert [r.deleted for r in rows] == [i == 1 for i in range(count)]
    assert [r.op_id for r in rows] == [f"op-{i}" for i in range(count)]
    assert all(r.created_at is not None and r.origin_device_id is None for r in rows)


def test_a_value_too_long_is_refused_not_cut(tenant: Tenant) -> None:
    if tenant.server.ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps a string of any length")
    with pytest.raises(DBAPIError):
        _append(tenant, 2, entity_id="x" * 81)  # entity_id is VARCHAR(80)
