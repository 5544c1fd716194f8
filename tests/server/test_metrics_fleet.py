"""Issue 19's "done means": /metrics scraped from the real server under uvicorn after a
scripted day, each operator metric checked against what happened (SQLite and
PostgreSQL): sales from two tills, a till that goes silent, a push held back at a gap,
a failing webhook receiver, a quarantined operation and an open conflict.

The day's clock moves by moving a till's recorded times back (its ``last_seen_at`` and
its lag report): the server reads both at the scrape, as it would hours later."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.config import Settings
from server.db.models import Event, ServerMeta
from server.db.models import Terminal as TerminalRow
from server.metrics_fleet import LAG_PREFIX
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import (
    Receiver,
    RunningServer,
    Tenant,
    make_tenant,
    running_server,
)
from tests.server.support import Terminal as Till

HOUR = 3600.0


def _series(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample of ``name`` by its labels."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, value = line.rsplit(" ", 1)
            labels = head[len(name):].strip("{}")
            pairs = frozenset(tuple(p.split("=", 1)) for p in labels.split(",") if p)
            out[frozenset((k, v.strip('"')) for k, v in pairs)] = float(value)
    return out


def _one(text: str, name: str, **labels: str) -> float | None:
    return _series(text, name).get(frozenset(labels.items()))


@pytest.fixture
def failing_receiver() -> Iterator[Receiver]:
    with Receiver() as rec:
        rec.fail_next = 10**9  # answers 500 to every delivery
        yield rec


@pytest.fixture
def day_server(own_db_url: str, failing_receiver: Receiver) -> Iterator[RunningServer]:
    settings = Settings(
        database_url=own_db_url, jwt_secret="test-secret-" + uuid.uuid4().hex,
        argon2_time_cost=1, argon2_memory_kib=8192,
        rate_limit_per_second=10_000, rate_limit_burst=100_000,
        webhook_urls=[failing_receiver.url], webhook_secret="whsec-test",
        webhook_poll_interval_s=0.1, webhook_backoff_base_s=0.1, webhook_backoff_max_s=0.2,
        webhook_max_attempts=1000, server_data_key=TEST_DATA_KEY,
        public_docs=True, public_metrics=True)
    with running_server(settings) as srv:
        yield srv


@pytest.fixture
def day_tenant(day_server: RunningServer) -> Iterator[Tenant]:
    with make_tenant(day_server) as t:
        yield t


def _push(c: httpx.Client, till: Till, ops: list[dict[str, Any]], age_s: float
          ) -> list[dict[str, Any]]:
    r = c.post("/sync/push", headers=till.headers, json={
        "operations": [till.prove(op) for op in ops], "oldest_pending_age_s": age_s})
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def _earlier(server: RunningServer, till: Till, seconds: float) -> None:
    """The day moves on by ``seconds`` for this till: its last contact and its lag
    report are moved back by as much."""
    with server.ctx.writer.begin() as s:
        seen = s.scalar(select(TerminalRow.last_seen_at).where(TerminalRow.id == till.device_id))
        assert seen is not None
        s.execute(update(TerminalRow).where(TerminalRow.id == till.device_id)
                  .values(last_seen_at=seen - timedelta(seconds=seconds)))
        row = s.get(ServerMeta, LAG_PREFIX + till.device_id)
        assert row is not None, "the push's transaction wrote no lag report"
        doc = json.loads(row.value)
        row.value = json.dumps(doc | {"since": doc["since"] - seconds, "at": doc["at"] - seconds})


def _events(server: RunningServer, org_id: str) -> int:
    with server.ctx.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Event)
                            .where(Event.org_id == org_id)) or 0)


def _heard_from(c: httpx.Client, till: Till) -> None:
    """The till's attention check (every 5 minutes while online) marks it heard from."""
    assert c.get("/attention/terminal", headers=till.headers).status_code == 200


def test_a_scripted_day_on_metrics(day_tenant: Tenant, day_server: RunningServer) -> None:
    t = day_tenant
    cashier, stock = t.staff[Role.CASHIER], t.staff[Role.STOCK]
    till_a = t.term
    till_b = t.enroll(name="Till B")
    second_store = t.add_store("Harbour")
    silent = t.enroll(store_id=second_store, name="Silent till")
    with day_server.client() as c:
        # morning: both tills of the main street sell; the harbour till sells, then goes silent
        assert all(r["status"] == "applied"
                   for r in _push(c, till_a, [till_a.order_create(cashier, pay=True)
                                              for _ in range(3)], 4.0))
        assert _push(c, till_b, [till_b.order_create(cashier, pay=True)], 95.0)[0][
            "status"] == "applied"
        assert _push(c, silent, [silent.order_create(cashier, pay=True)], 2.0)[0][
            "status"] == "applied"
        # till B: an op carrying till A's device id is rejected and quarantined
        foreign = till_b.order_create(cashier) | {"device_id": till_a.device_id}
        assert _push(c, till_b, [foreign], 30.0)[0]["status"] == "rejected"
        # till A: a price edited two ways from the same base: an open conflict
        pid = new_id()
        edit = {"fields": {"price": {"base": 299, "value": 319}}}
        results = _push(c, till_a, [
            till_a.op("product.create", pid, stock, {"sku": "CAKE", "name": "Cake", "price": 299,
                                                     "tax_rate_ppm": 200_000}),
            till_a.op("product.update", pid, stock, edit),
            till_a.op("product.update", pid, stock,
                      {"fields": {"price": {"base": 299, "value": 349}}}),
        ], 1.0)
        assert [r["status"] for r in results] == ["applied", "applied", "conflict"]

        # the afternoon, three hours on: tills A and B are online (their attention checks
        # reach the server); the harbour till has not been heard from since its sale
        for till in (till_a, till_b, silent):
            _earlier(day_server, till, 3 * HOUR)
        _heard_from(c, till_a)
        _heard_from(c, till_b)
        # a push of till B held back at a gap (op_seq skips one): its operations still wait
        till_b.seq += 1
        gap = _push(c, till_b, [till_b.order_create(cashier)], 600.0)
        assert gap == []
        _heard_from(c, till_b)  # talking does not clear a queue held back

        # the webhook receiver answers 500 to every delivery: wait until each event of the
        # day (5 sales, the product's creation and price change) has failed at least once
        events = _events(day_server, t.org_id)
        assert events >= 7
        deadline = time.monotonic() + 60
        while True:
            text = c.get("/metrics").text
            failing = _one(text, "tillsync_webhook_deliveries_failing", org=t.org_id)
            if failing is not None and failing >= events or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        scraped_at = time.time()

    main, a, b, h = t.store_id, till_a.device_id, till_b.device_id, silent.device_id
    lag = _series(text, "tillsync_terminal_sync_lag_seconds")
    # A and B were heard from after pushes answered in full: nothing of theirs waits...
    assert lag[frozenset({("store", main), ("terminal", a)})] == 0
    # ...except B's held push: its reported 600 s, counted on to the scrape
    assert 600 <= lag[frozenset({("store", main), ("terminal", b)})] < 600 + 60
    # the silent till: its 2 s, counted on for the three hours it has not been heard from
    silent_lag = lag[frozenset({("store", second_store), ("terminal", h)})]
    assert 3 * HOUR + 2 <= silent_lag < 3 * HOUR + 2 + 60
    assert len(lag) >= 3

    seen = _series(text, "tillsync_terminal_last_seen_timestamp_seconds")
    assert scraped_at - 60 < seen[frozenset({("store", main), ("terminal", a)})] <= scraped_at
    assert scraped_at - 60 < seen[frozenset({("store", main), ("terminal", b)})] <= scraped_at
    silent_seen = seen[frozenset({("store", second_store), ("terminal", h)})]
    assert 3 * HOUR <= scraped_at - silent_seen < 3 * HOUR + 60

    assert _one(text, "tillsync_quarantined_operations", store=main, terminal=b) == 1
    assert _one(text, "tillsync_quarantined_operations", store=main, terminal=a) is None
    assert _one(text, "tillsync_conflicts_open", store=main, terminal=a) == 1
    assert _one(text, "tillsync_conflicts_open", store=main, terminal=b) is None

    # every event, each to the one (failing) receiver
    assert _one(text, "tillsync_webhook_deliveries_failing", org=t.org_id) == events
    assert _one(text, "tillsync_webhook_deliveries_given_up", org=t.org_id) == 0
    oldest = _one(text, "tillsync_webhook_oldest_failing_age_seconds", org=t.org_id)
    assert oldest is not None and 0 < oldest < 120

    # the push writer: the day's six pushes, one after the other, each a group of its own
    assert _one(text, "tillsync_group_commit_pushes_count") == 6
    assert _one(text, "tillsync_group_commit_pushes_sum") == 6
    assert _one(text, "tillsync_group_commit_pushes_bucket", le="1.0") == 6
    assert _one(text, "tillsync_group_commit_wait_seconds_count") == 6
    assert 0 < (_one(text, "tillsync_group_commit_wait_seconds_sum") or 0) < 6 * 5
    assert (_one(text, "tillsync_db_pool_size") or 0) >= 1
    assert (_one(text, "tillsync_db_pool_checked_out") or 0) >= 0

    # ids only in the labels: no store, till or staff names
    for name in ("Main street", "Harbour", "Till B", "Silent till", "person"):
        assert name not in text


def test_an_old_till_that_reports_no_lag_has_no_lag_series(day_tenant: Tenant,
                                                          day_server: RunningServer) -> None:
    till = day_tenant.term
    with day_server.client() as c:
        r = c.post("/sync/push", headers=till.headers, json={"operations": [
            till.order_create(day_tenant.staff[Role.CASHIER], pay=True)]})
        assert r.status_code == 200, r.text
        text = c.get("/metrics").text
    assert _one(text, "tillsync_terminal_sync_lag_seconds", store=day_tenant.store_id,
                terminal=till.device_id) is None
    assert _one(text, "tillsync_terminal_last_seen_timestamp_seconds",
                store=day_tenant.store_id, terminal=till.device_id) is not None
