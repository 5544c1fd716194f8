"""``python -m benchmarks.metrics_scrape [--tills N] [--runs N] [--sqlite | --pg]``.

What one /metrics scrape costs the database: the fleet figures of server/metrics_fleet.py
(``read_fleet``: tills, their lag reports and feed cursors, open quarantine entries and
conflicts per till, failing webhook deliveries) on a fresh database of ``--tills`` tills
(default 1,000: 200 stores of 5), each with a lag report and a feed cursor, 5 quarantine
entries and 20 conflicts per till (a tenth open), 50 webhook deliveries per till's worth
(a hundredth failing) and a feed of 100 changes per store.

Measured in the same run, in blocks A B A: with the partial indexes on open quarantine
entries, open conflicts and undelivered webhook deliveries (migration 0017), without them (dropped, the tables analysed
again), and with them again; the time of each statement is summed by the table it reads
(SQLAlchemy cursor events), so the open-items queries are seen apart from the rest.
Both databases by default (PostgreSQL at 127.0.0.1:5432, a temporary database). Prints
p50/p95 per block and the ratio of the p50s, with the load average. Notes:
benchmarks/notes/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, insert, text

from app.domain.ids import new_id
from benchmarks.sync_bench import database
from server.db.engine import make_engine, run_migrations, session_factories
from server.db.models import (
    Conflict,
    Event,
    FeedEntry,
    Organization,
    QuarantinedOp,
    ServerMeta,
    Store,
    Terminal,
    WebhookDelivery,
)
from server.health.feed_lag import CURSOR_PREFIX
from server.metrics_fleet import LAG_PREFIX, read_fleet

#: migration 0017's partial indexes: name, table, columns, predicate
INDEXES = (("ix_quarantine_open", "quarantine", "store_id, device_id", "status = 'open'"),
           ("ix_conflicts_open", "conflicts", "store_id, device_id", "status = 'open'"),
           ("ix_webhook_deliveries_undelivered", "webhook_deliveries", "event_id",
            "status IN ('pending', 'failed')"))
TILLS_PER_STORE = 5
FEED_PER_STORE = 100


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def seed(engine: Engine, n_tills: int) -> None:
    rng = random.Random(19)
    now = datetime.now(UTC)
    org = new_id()
    stores = [new_id() for _ in range(max(1, n_tills // TILLS_PER_STORE))]
    tills = [(new_id(), stores[i % len(stores)]) for i in range(n_tills)]
    tables: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    tables[Organization].append({"id": org, "name": "bench", "next_device_index": 0,
                                 "created_at": now})
    for s in stores:
        tables[Store].append({"id": s, "org_id": org, "name": "store", "currency": "EUR",
                              "tax_inclusive": True, "address": "", "tax_id": "",
                              "locale": "en", "receipt_footer": "", "version": 1,
                              "feed_position": FEED_PER_STORE, "feed_horizon": 0,
                              "created_at": now})
        for p in range(1, FEED_PER_STORE + 1):
            tables[FeedEntry].append({
                "store_id": s, "position": p, "entity_type": "order", "entity_id": new_id(),
                "version": 1, "deleted": False, "data": {"n": p},
                "created_at": now - timedelta(seconds=FEED_PER_STORE - p)})
    for i, (tid, s) in enumerate(tills):
        tables[Terminal].append({
            "id": tid, "org_id": org, "store_id": s, "name": f"till {i}",
            "device_code": f"{i:08d}", "token_hash": f"{i:064d}", "last_applied_seq": 0,
            "max_role": "manager", "revoked": False, "enrolled_at": now,
            "last_seen_at": now - timedelta(seconds=rng.randint(0, 3600))})
        tables[ServerMeta].append({"key": LAG_PREFIX + tid, "value": json.dumps(
            {"since": now.timestamp() - 30, "at": now.timestamp() - 20, "held": False})})
        tables[ServerMeta].append({"key": CURSOR_PREFIX + tid, "value": json.dumps(
            {"store": s, "cursor": rng.randint(FEED_PER_STORE - 20, FEED_PER_STORE),
             "at": now.timestamp() - 5})})
        for k in range(5):
            tables[QuarantinedOp].append({
                "id": new_id(), "org_id": org, "store_id": s, "device_id": tid,
                "op_id": new_id(), "op_type": "order.create", "operation": {"k": k},
                "reason": "bench", "status": "open" if rng.random() < 0.1 else "dismissed",
                "created_at": now})
        for k in range(20):
            tables[Conflict].append({
                "id": new_id(), "org_id": org, "store_id": s, "entity_type": "order",
                "entity_id": new_id(), "kind": "field_conflict", "fields": {"k": k},
                "device_id": tid, "status": "open" if rng.random() < 0.1 else "resolved",
                "version": 1, "created_at": now})
        for k in range(50):
            ev = new_id()
            failing = rng.random() < 0.01
            tables[Event].append({"id": ev, "org_id": org, "type": "order.created",
                                  "payload": {"k": k}, "created_at": now})
            tables[WebhookDelivery].append({
                "id": new_id(), "event_id": ev, "url": "http://127.0.0.1:9/hook",
                "status": "pending" if failing else "delivered",
                "attempts": 3 if failing else 1, "next_attempt_at": now,
                "last_error": "refused" if failing else None})
    with engine.begin() as conn:
        for model in (Organization, Store, Terminal, FeedEntry, ServerMeta, QuarantinedOp,
                      Conflict, Event, WebhookDelivery):
            for chunk in _chunks(tables[model]):
                conn.execute(insert(model), chunk)
    _analyse(engine)


def _analyse(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


@contextmanager
def statement_times(engine: Engine) -> Iterator[dict[str, float]]:
    """Seconds spent in the database per table read first by each statement."""
    spent: dict[str, float] = defaultdict(float)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        found = re.search(r"\bfrom\s+(\w+)", statement, re.IGNORECASE)
        name = found.group(1).lower() if found else "other"
        spent[name] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def block(engine: Engine, runs: int) -> tuple[list[float], dict[str, float]]:
    """``runs`` scrapes' wall times (ms) and the mean ms per table read."""
    _, reader = session_factories(engine)
    times = []
    with statement_times(engine) as spent:
        for _ in range(runs):
            t0 = time.perf_counter()
            with reader() as session:
                read_fleet(session, datetime.now(UTC))
            times.append((time.perf_counter() - t0) * 1000)
    return times, {k: v * 1000 / runs for k, v in sorted(spent.items())}


def set_indexes(engine: Engine, present: bool) -> None:
    with engine.begin() as conn:
        for name, table, columns, where in INDEXES:
            if present:
                conn.execute(text(f"CREATE INDEX {name} ON {table} ({columns}) WHERE {where}"))
            else:
                conn.execute(text(f"DROP INDEX {name}"))
    _analyse(engine)


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def run(pg: bool, n_tills: int, runs: int) -> float:
    with tempfile.TemporaryDirectory() as workdir, database(pg, workdir) as url:
        run_migrations(url)
        engine = make_engine(url)
        try:
            t0 = time.perf_counter()
            seed(engine, n_tills)
            print(f"\n{'PostgreSQL' if pg else 'SQLite'}: seeded {n_tills} tills in "
                  f"{time.perf_counter() - t0:.1f} s; load average {os.getloadavg()}")
            block(engine, 3)  # warm-up
            results: list[tuple[str, list[float], bool]] = []
            for label, present in (("A with indexes", True), ("B without", False),
                                   ("A with indexes", True)):
                if present != (not results or results[-1][2]):
                    set_indexes(engine, present)
                times, per_table = block(engine, runs)
                results.append((label, times, present))
                print(f"  {label:16} p50 {statistics.median(times):7.1f} ms  "
                      f"p95 {_p(times, 0.95):7.1f} ms   per table (mean ms): "
                      + ", ".join(f"{k} {v:.1f}" for k, v in per_table.items()))
            with_ = statistics.median(results[0][1] + results[2][1])
            without = statistics.median(results[1][1])
            print(f"  without / with indexes, p50: {without / with_:.2f}x; "
                  f"load average {os.getloadavg()}")
            return with_
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tills", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--sqlite", action="store_true", help="SQLite only")
    which.add_argument("--pg", action="store_true", help="PostgreSQL only")
    args = ap.parse_args(argv)
    for pg in ((False,) if args.sqlite else (True,) if args.pg else (False, True)):
        run(pg, args.tills, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
