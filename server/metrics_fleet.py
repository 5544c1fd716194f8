"""The operator's figures on /metrics: per till and per store, read from the database at
each scrape (docs/operations.md), so every worker process answers the same and a
restart loses nothing.

Per till (labels ``store`` and ``terminal``, ids only, never names):

- ``tillsync_terminal_sync_lag_seconds``: how long the till's oldest unsynced operation
  may have waited, as far as the server knows. Each push carries the age of the oldest
  operation the till had not synced (``oldest_pending_age_s``); the push's own
  transaction keeps, per till, when that operation was recorded (the server's clock
  minus the age, so a till's clock is never read) and whether the push was answered in
  full. At a scrape the lag is the time since then, growing while the till stays silent
  (never frozen at the value of its last push), until the till is heard from again
  after a push answered in full: it pushes what it holds on its timer, so then nothing
  of it is waiting and the lag is 0. A push held back at a gap keeps growing.
- ``tillsync_terminal_last_seen_timestamp_seconds``: ``terminals.last_seen_at`` (a push,
  or the till's attention check every 5 minutes), its enrollment if never seen.
- ``tillsync_quarantined_operations``, ``tillsync_conflicts_open``: open ones, by the
  store and till they came from (a conflict raised off a till has ``terminal=""``).
- ``tillsync_terminal_feed_lag_changes`` / ``_seconds`` and
  ``tillsync_terminal_last_pull_timestamp_seconds``: how far behind its store's change
  feed the till is, from the cursor its latest pull was handed (server/health/feed_lag.py);
  per store, ``max by (store)`` or ``quantile by (store)`` in PromQL.

Per organization (webhook deliveries have no store): deliveries being retried after a
failure, given up, and the age of the oldest event still being retried. And the
database pool of this process. Five queries a scrape: the tills and their lag reports (a
key range of server_meta's primary key), the open quarantine entries and conflicts
grouped by till, and the undelivered webhook deliveries; the last three read partial
indexes that hold only the open/undelivered rows (migration 0017), so a scrape does not
grow with the history of resolved items and delivered events. Measured on a database
of 1,000 tills (5,000 quarantine entries and 20,000 conflicts, a tenth open; 50,000
deliveries): p50 10 ms on SQLite (28 ms without the indexes, 40 ms with the queries
before them) and 15 ms on PostgreSQL (21 ms without), same run, a loaded two-core
machine (``python -m benchmarks.metrics_scrape``, benchmarks/notes/metrics.md).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.elements import ColumnClause

from server import tracing
from server.db.models import (
    Conflict,
    Event,
    QuarantinedOp,
    ServerMeta,
    Terminal,
    WebhookDelivery,
)
from server.health.feed_lag import FeedLag, read_feed_lags

log = logging.getLogger("tillsync.server.metrics")

#: server_meta keys of the tills' lag reports: LAG_PREFIX + terminal id
LAG_PREFIX = "sync_lag/"
_LAG_END = LAG_PREFIX[:-1] + chr(ord(LAG_PREFIX[-1]) + 1)  # the first key past the prefix
MAX_LAG_S = 10 * 365 * 24 * 3600.0
#: a till heard from this long after its push has been heard from since (clock rounding)
HEARD_SINCE_S = 1.0
#: ``status = 'open'`` written out, not bound: only then can SQLite (and PostgreSQL's
#: generic plans) use the partial indexes of migration 0017, which hold the open rows only
OPEN: ColumnClause[str] = literal_column("'open'")


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


class LagReports:
    """The latest lag each till of this process reported with a push, until the push's
    transaction (server/sync/chunk.py ``Batch.finish``) writes it to the database."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, terminal_id: str, age_s: float | None, now: datetime) -> None:
        """A push's ``oldest_pending_age_s`` (None: an old till that sends none)."""
        with self._lock:
            if age_s is None:
                self._since.pop(terminal_id, None)
            else:
                self._since[terminal_id] = _epoch(now) - min(max(age_s, 0.0), MAX_LAG_S)

    def since(self, terminal_id: str) -> float | None:
        with self._lock:
            return self._since.get(terminal_id)


class QueueClock:
    """When each till's chunk of this process was handed to the push writer, so the
    writer's transaction can say how long it waited (one chunk per till is queued at a
    time: a till's next chunk waits for the answer to its last)."""

    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self._waits: dict[str, Any] = {}  # traced: each chunk's wait span (server/tracing.py)
        self._lock = threading.Lock()

    def queued(self, terminal_id: str) -> None:
        with self._lock:
            self._at[terminal_id] = time.monotonic()
            if tracing.enabled():
                self._waits[terminal_id] = tracing.start_wait()

    def waited(self, terminal_ids: list[str]) -> list[float]:
        """Seconds each of these tills' chunks waited until now (and forgets them). Called
        by the push writer as its transaction begins: traced, the transaction's span
        starts here (and ends at its commit or rollback)."""
        now = time.monotonic()
        with self._lock:
            at = [self._at.pop(tid, None) for tid in terminal_ids]
            waits = [self._waits.pop(tid, None) for tid in terminal_ids] if self._waits else []
        if tracing.enabled():
            tracing.start_group(waits)
        return [now - t for t in at if t is not None]


def lag_rows(reports: LagReports, pushed: dict[str, bool], now: datetime
             ) -> list[dict[str, str]]:
    """server_meta rows of the tills of a push transaction that reported a lag:
    ``pushed`` maps each till to whether its push was held back at a gap."""
    rows = []
    for terminal_id, held in sorted(pushed.items()):
        since = reports.since(terminal_id)
        if since is not None:
            rows.append({"key": LAG_PREFIX + terminal_id, "value": json.dumps(
                {"since": round(since, 3), "at": round(_epoch(now), 3), "held": held})})
    return rows


def write_lags(conn: Connection, rows: list[dict[str, str]]) -> None:
    """Upsert the rows in the push's transaction (its tills' rows are locked already)."""
    if not rows:
        return
    stmt = (pg_insert(ServerMeta) if conn.dialect.name == "postgresql"
            else sqlite_insert(ServerMeta))
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                            set_={"value": stmt.excluded.value}), rows)


@dataclass
class Fleet:
    """What one scrape read."""

    now: float
    #: terminal id -> (store id, last seen)
    tills: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: terminal id -> (since, pushed at, held back)
    lags: dict[str, tuple[float, float, bool]] = field(default_factory=dict)
    quarantined: list[tuple[str, str, int]] = field(default_factory=list)
    conflicts: list[tuple[str, str, int]] = field(default_factory=list)
    #: org id -> (retrying, oldest retrying event's created_at or None, given up)
    webhooks: dict[str, tuple[int, float | None, int]] = field(default_factory=dict)
    #: terminal id -> how far behind its store's feed (server/health/feed_lag.py)
    feed: dict[str, FeedLag] = field(default_factory=dict)


def read_fleet(session: Session, now: datetime) -> Fleet:
    t, q, c, d, e = Terminal, QuarantinedOp, Conflict, WebhookDelivery, Event
    out = Fleet(now=_epoch(now))
    for tid, store, seen, enrolled in session.execute(
            select(t.id, t.store_id, t.last_seen_at, t.enrolled_at).where(t.revoked.is_(False))):
        out.tills[tid] = (store, _epoch(seen or enrolled))
    for key, value in session.execute(select(ServerMeta.key, ServerMeta.value).where(
            ServerMeta.key >= LAG_PREFIX, ServerMeta.key < _LAG_END)):
        try:
            doc = json.loads(value)
            out.lags[key[len(LAG_PREFIX):]] = (float(doc["since"]), float(doc["at"]),
                                               bool(doc["held"]))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable lag report %s", key)
    out.quarantined = [(s, dev, n) for s, dev, n in session.execute(
        select(q.store_id, q.device_id, func.count()).where(q.status == OPEN)
        .group_by(q.store_id, q.device_id))]
    out.conflicts = [(s, dev or "", n) for s, dev, n in session.execute(
        select(c.store_id, c.device_id, func.count()).where(c.status == OPEN)
        .group_by(c.store_id, c.device_id))]
    # deliveries in retry are pending with an error, given up ones failed: one pass over
    # the undelivered ones (a short list unless receivers fail; the partial index of
    # migration 0017), never over every event
    retrying = (d.status == literal_column("'pending'")) & (d.attempts > 0) \
        & d.last_error.is_not(None)
    for org, n, oldest, gave_up in session.execute(
            select(e.org_id, func.count(case((retrying, 1))),
                   func.min(case((retrying, e.created_at))),
                   func.count(case((d.status == literal_column("'failed'"), 1))))
            .select_from(d).join(e, e.id == d.event_id)
            .where(d.status.in_([literal_column("'pending'"), literal_column("'failed'")]))
            .group_by(e.org_id)):
        if n or gave_up:
            out.webhooks[org] = (int(n), _epoch(oldest) if oldest else None, int(gave_up))
    out.feed = read_feed_lags(session, now)
    return out


def lag_of(fleet: Fleet, terminal_id: str) -> float | None:
    """The till's sync lag at the scrape (module docstring); None if it never reported."""
    report = fleet.lags.get(terminal_id)
    till = fleet.tills.get(terminal_id)
    if report is None or till is None:
        return None
    since, pushed_at, held = report
    if not held and till[1] > pushed_at + HEARD_SINCE_S:
        return 0.0
    return min(max(fleet.now - since, 0.0), MAX_LAG_S)


FleetSource = Callable[[], Fleet]


def reader(sessions: sessionmaker[Session]) -> FleetSource:
    def read() -> Fleet:
        with sessions() as session:
            return read_fleet(session, datetime.now(UTC))

    return read


class FleetCollector(Collector):
    """Collects the figures above from ``source`` (set by server/main.py) at each scrape,
    and the pool of ``engine``."""

    def __init__(self) -> None:
        self.source: FleetSource | None = None
        self.engine: Engine | None = None

    def collect(self) -> Iterator[Any]:
        till = ["store", "terminal"]
        lag = GaugeMetricFamily(
            "tillsync_terminal_sync_lag_seconds",
            "How long the till's oldest unsynced operation may have waited: the age it "
            "reported at its latest push, counted on while the till is silent; 0 once it "
            "is heard from after a push answered in full", labels=till)
        seen = GaugeMetricFamily(
            "tillsync_terminal_last_seen_timestamp_seconds",
            "When the till was last heard from (a push or its attention check; its "
            "enrollment if never)", labels=till)
        quarantined = GaugeMetricFamily(
            "tillsync_quarantined_operations",
            "Operations in quarantine (rejected, not yet resubmitted or dismissed)", labels=till)
        conflicts = GaugeMetricFamily("tillsync_conflicts_open",
                                      "Conflicts waiting for a manager", labels=till)
        failing = GaugeMetricFamily(
            "tillsync_webhook_deliveries_failing",
            "Webhook deliveries whose latest attempt failed and that are still retried",
            labels=["org"])
        oldest = GaugeMetricFamily(
            "tillsync_webhook_oldest_failing_age_seconds",
            "Age of the event of the oldest delivery still retried after a failure",
            labels=["org"])
        given_up = GaugeMetricFamily(
            "tillsync_webhook_deliveries_given_up",
            "Webhook deliveries given up after the last attempt (kept until retention)",
            labels=["org"])
        feed = [
            GaugeMetricFamily("tillsync_terminal_feed_lag_changes",
                              "Changes of the store's feed the till has not pulled yet "
                              "(as of its last pull, noted every few seconds)", labels=till),
            GaugeMetricFamily("tillsync_terminal_feed_lag_seconds",
                              "Age of the oldest change of the store's feed the till has not "
                              "pulled yet; 0 when it has pulled everything", labels=till),
            GaugeMetricFamily("tillsync_terminal_last_pull_timestamp_seconds",
                              "When the till last pulled the feed", labels=till)]
        fleet = self._read()
        if fleet is not None:
            for tid, behind in fleet.feed.items():
                if tid in fleet.tills:  # revoked tills are left out
                    labels = [behind.store_id, tid]
                    feed[0].add_metric(labels, behind.changes)
                    feed[1].add_metric(labels, behind.seconds)
                    feed[2].add_metric(labels, behind.pulled_at)
            for tid, (store, at) in fleet.tills.items():
                seen.add_metric([store, tid], at)
                value = lag_of(fleet, tid)
                if value is not None:
                    lag.add_metric([store, tid], value)
            for store, dev, n in fleet.quarantined:
                quarantined.add_metric([store, dev], n)
            for store, dev, n in fleet.conflicts:
                conflicts.add_metric([store, dev], n)
            for org, (retrying, first, gave_up) in fleet.webhooks.items():
                failing.add_metric([org], retrying)
                given_up.add_metric([org], gave_up)
                if first is not None:
                    oldest.add_metric([org], max(fleet.now - first, 0.0))
        yield from (lag, seen, quarantined, conflicts, failing, oldest, given_up, *feed)
        yield from self._pool()

    def _read(self) -> Fleet | None:
        if self.source is None:
            return None
        try:
            return self.source()
        except SQLAlchemyError:  # the other figures still answer; /health/ready says why
            log.warning("could not read the fleet figures for /metrics", exc_info=True)
            return None

    def _pool(self) -> Iterator[Any]:
        pool = self.engine.pool if self.engine is not None else None
        size = GaugeMetricFamily("tillsync_db_pool_size",
                                 "Connections the database pool keeps (without overflow)")
        out = GaugeMetricFamily("tillsync_db_pool_checked_out",
                                "Database connections in use by this process")
        over = GaugeMetricFamily("tillsync_db_pool_overflow",
                                 "Connections opened beyond the pool size (negative: room "
                                 "left before the pool is full)")
        if isinstance(pool, QueuePool):
            size.add_metric([], pool.size())
            out.add_metric([], pool.checkedout())
            over.add_metric([], pool.overflow())
        yield from (size, out, over)
