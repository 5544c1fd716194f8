"""Feed lag (server/health/feed_lag.py): the cursor a pull hands a till is kept in a shared
write at most every few seconds, and /metrics says, per till, how many changes of its
store's feed it has not pulled and how old the oldest is. On the real server under
uvicorn, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select, update

from app.domain.permissions import Role
from server.context import TerminalPrincipal
from server.db.models import FeedEntry, ServerMeta
from server.health import feed_lag
from server.health.feed_lag import CURSOR_PREFIX, FeedCursors
from tests.server.support import Tenant, Terminal


def _gauges(text: str, name: str) -> dict[str, float]:
    """Samples of ``name`` by terminal label."""
    return {s.labels["terminal"]: s.value for fam in text_string_to_metric_families(text)
            for s in fam.samples if s.name == name}


def _head(term: Terminal) -> int:
    with term.server.client() as c:
        r = c.get("/sync/pull", params={"after": 0, "limit": 1}, headers=term.headers)
    assert r.status_code == 200, r.text
    return int(r.json()["head"])


def _principal(term: Terminal) -> TerminalPrincipal:
    return TerminalPrincipal(term.device_id, term.org_id, term.store_id, term.device_code)


def _stored(term: Terminal) -> dict[str, Any] | None:
    with term.server.ctx.reader() as s:
        value = s.scalar(select(ServerMeta.value).where(
            ServerMeta.key == CURSOR_PREFIX + term.device_id))
    return json.loads(value) if value is not None else None


def test_feed_lag_per_till_on_metrics(tenant: Tenant) -> None:
    server, cashier = tenant.server, tenant.staff[Role.CASHIER]
    seller, behind, caught_up, quiet = (tenant.enroll(name=n)
                                        for n in ("Seller", "Behind", "Up", "Quiet"))
    start = _head(seller)
    seller.push([seller.order_create(cashier, pay=True)])
    middle = _head(seller)
    seller.push([seller.order_create(cashier, pay=True)])
    head = _head(seller)
    assert start < middle < head
    # the oldest change "behind" has not pulled was written 2 minutes ago
    with server.ctx.writer.begin() as s:
        at = s.scalar(select(FeedEntry.created_at).where(
            FeedEntry.store_id == seller.store_id, FeedEntry.position == middle + 1))
        assert at is not None
        s.execute(update(FeedEntry).where(FeedEntry.store_id == seller.store_id,
                                          FeedEntry.position == middle + 1)
                  .values(created_at=at - timedelta(seconds=120)))
    cursors = FeedCursors(flush_s=0)
    before = time.time()
    cursors.note(behind.device_id, behind.store_id, middle)
    cursors.note(caught_up.device_id, caught_up.store_id, head)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(server.ctx.engine, "before_cursor_execute", seen)
    try:
        assert cursors.flush(server.ctx.engine) == 2
    finally:
        event.remove(server.ctx.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "server_meta" in s]) == 1  # one upsert for all
    assert cursors.flush(server.ctx.engine) == 0  # nothing new noted

    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        text = c.get("/metrics").text
    changes = _gauges(text, "tillsync_terminal_feed_lag_changes")
    seconds = _gauges(text, "tillsync_terminal_feed_lag_seconds")
    pulled = _gauges(text, "tillsync_terminal_last_pull_timestamp_seconds")
    assert changes[behind.device_id] == head - middle
    assert 119 <= seconds[behind.device_id] < 160
    assert changes[caught_up.device_id] == 0 and seconds[caught_up.device_id] == 0
    assert before - 1 <= pulled[behind.device_id] <= time.time() + 1
    # a till that never pulled has no series (the seller pulled, through _head: since
    # GET /sync/pull notes cursors, it appears once a flush falls due, so not checked)
    assert quiet.device_id not in changes


def test_pulled_writes_at_most_every_few_seconds(tenant: Tenant) -> None:
    term = tenant.enroll(name="Puller")
    ctx = tenant.server.ctx
    cursors = feed_lag.cursors_of(ctx)
    assert cursors.flush_s == feed_lag.FLUSH_S >= 2
    cursors.flush(ctx.engine)  # whatever other tests noted; the clock starts now
    feed_lag.pulled(ctx, _principal(term), 3)
    assert _stored(term) is None  # noted only: the flush is not due yet
    cursors._flushed_at -= feed_lag.FLUSH_S  # the few seconds pass
    feed_lag.pulled(ctx, _principal(term), 4)
    stored = _stored(term)
    assert stored is not None and stored["cursor"] == 4 and stored["store"] == term.store_id
    feed_lag.pulled(ctx, _principal(term), 5)  # just written: kept in memory again
    assert _stored(term) == stored


def test_a_process_flushing_an_older_pull_does_not_go_back(tenant: Tenant) -> None:
    """Two server processes (serve --workers 2) note the same till: the one that flushes
    last may hold its older pull; the row keeps the later one (it went back before)."""
    term = tenant.enroll(name="Two workers")
    engine = tenant.server.ctx.engine
    newer, older = FeedCursors(flush_s=0), FeedCursors(flush_s=0)
    now = time.time()
    older.note(term.device_id, term.store_id, 5, at=now - 10)
    newer.note(term.device_id, term.store_id, 9, at=now)
    assert newer.flush(engine) == 1
    assert older.flush(engine) == 1  # written, but not over the later pull
    stored = _stored(term)
    assert stored is not None and stored["cursor"] == 9
    again = FeedCursors(flush_s=0)
    again.note(term.device_id, term.store_id, 12, at=now + 10)
    assert again.flush(engine) == 1
    stored = _stored(term)
    assert stored is not None and stored["cursor"] == 12  # a later pull still moves it
