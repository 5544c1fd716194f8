"""``python -m benchmarks.analytics [--orders N] [--stores N] [--runs N] [--sqlite]``.

A year of orders (default 1,000,000 in 20 stores) on a fresh PostgreSQL database (or a
SQLite file with ``--sqlite``), seeded with COPY (executemany on SQLite: orders, lines,
payments); the rollups filled by ``tillsync-server analytics rebuild``
(server/analytics/rebuild.py, the consumer the pushes use), timed. Then one store's
month dashboard (GET /analytics/summary's service: totals, by type, staff, terminal,
day, tenders, top products, refunds, deletions, plans) measured three ways in the same
run: as served (the hourly and daily rollups), from the quarter-hour rows alone (as
before those), and the same figures computed from the orders tables (the baseline). Results: benchmarks/notes/analytics.md.

Target: the rollups' p95 under 100 ms. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from app.domain.ids import new_id
from app.domain.permissions import Role
from benchmarks.sync_bench import database
from server.analytics import rebuild, service
from server.analytics import repository as repo
from server.analytics.service import Ask, summary_in
from server.context import StaffPrincipal
from server.db.engine import make_engine, run_migrations, session_factories
from server.tenancy import service as tenancy

YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
MONTH = (date(2026, 6, 1), date(2026, 6, 30))
TENDERS = ("cash", "card", "card", "voucher")


def _copy(conn: object, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows into a table through psycopg's raw connection (SQLite: executemany)."""
    if conn.dialect.name == "sqlite":  # type: ignore[attr-defined]
        marks = ", ".join("?" * len(columns))
        rows = [tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                      for v in row) for row in rows]
        conn.exec_driver_sql(  # type: ignore[attr-defined]
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    raw = conn.connection.driver_connection  # type: ignore[attr-defined]
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def seed(url: str, n_orders: int, n_stores: int) -> tuple[str, list[str], str]:
    engine = make_engine(url)
    writer, _ = session_factories(engine)
    rng = random.Random(15)
    staff = [new_id() for _ in range(6)]
    products = [(new_id(), f"Product {i}") for i in range(500)]
    with writer.begin() as s:
        org = tenancy.create_org(s, "Bench").id
        stores = [tenancy.create_store(s, org, f"Store {i}").id for i in range(n_stores)]
    tills = {st: [new_id() for _ in range(3)] for st in stores}
    per_chunk = 50_000
    for start in range(0, n_orders, per_chunk):
        orders, lines, pays = [], [], []
        for k in range(start, min(n_orders, start + per_chunk)):
            oid, st = new_id(), stores[k % n_stores]
            at = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
            online = rng.random() < 0.1
            device = None if online else rng.choice(tills[st])
            total = tax = 0
            for pos in range(rng.randint(1, 3)):
                pid, name = rng.choice(products)
                qty, price = rng.choice((1000, 2000, 3000)), rng.randrange(100, 5000)
                line_total = price * qty // 1000
                line_tax = line_total * 2 // 12
                total, tax = total + line_total, tax + line_tax
                lines.append((new_id(), oid, pos, pid, name, price, qty, 200_000, 0, 0,
                              line_total, line_total - line_tax, line_tax, line_total))
            deleted = rng.random() < 0.01
            orders.append((oid, org, st, f"GO-B{k:09d}", "deleted" if deleted else "completed",
                           "EUR", True, not online, total, 0, tax, total,
                           0 if deleted else total, 0, "[]", "[]", at, rng.choice(staff), device,
                           "mistake" if deleted else None, 1, at, at, 0, 0))
            if not deleted:
                pays.append((new_id(), org, st, oid, rng.choice(TENDERS), total, total, 0,
                             rng.choice(staff), device, at, at))
        with engine.begin() as conn:
            _copy(conn, "orders", (
                "id", "org_id", "store_id", "reference", "status", "currency", "tax_inclusive",
                "is_offline", "subtotal", "discount", "tax", "total", "paid", "refunded", "flags",
                "installments", "created_at", "created_by", "device_id", "deleted_reason",
                "version", "received_at", "updated_at", "order_discount_percent_ppm",
                "order_discount_amount"), orders)
            _copy(conn, "order_lines", (
                "id", "order_id", "position", "product_id", "name", "unit_price", "qty_milli",
                "tax_rate_ppm", "discount_percent_ppm", "discount_amount", "gross", "net", "tax",
                "total"), lines)
            _copy(conn, "payments", (
                "id", "org_id", "store_id", "order_id", "method", "amount", "tendered", "change",
                "actor_id", "device_id", "created_at", "received_at"), pays)
        print(f"  seeded {min(n_orders, start + per_chunk):,} orders", flush=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return org, stores, staff[0]


BASELINE = {
    "by_type_staff_terminal": """
        SELECT (device_id IS NOT NULL) AS offline, created_by, coalesce(device_id, ''),
               count(*), sum(total), sum(tax)
        FROM orders WHERE store_id = :s AND created_at >= :a AND created_at < :b
          AND status <> 'deleted' GROUP BY 1, 2, 3""",
    "by_day": """
        SELECT date_trunc('day', created_at AT TIME ZONE :z), (device_id IS NOT NULL),
               count(*), sum(total), sum(tax)
        FROM orders WHERE store_id = :s AND created_at >= :a AND created_at < :b
          AND status <> 'deleted' GROUP BY 1, 2""",
    "tenders": """
        SELECT p.method, count(*), sum(p.amount) FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE o.store_id = :s AND p.created_at >= :a AND p.created_at < :b GROUP BY 1""",
    "top_products": """
        SELECT coalesce(l.product_id, '~' || l.name), max(l.name), sum(l.qty_milli), sum(l.total)
        FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE o.store_id = :s AND o.created_at >= :a AND o.created_at < :b
          AND o.status <> 'deleted' GROUP BY 1 ORDER BY 4 DESC LIMIT 10""",
    "refunds": """
        SELECT r.reason, count(*), sum(r.amount) FROM refunds r JOIN orders o ON o.id = r.order_id
        WHERE o.store_id = :s AND r.created_at >= :a AND r.created_at < :b GROUP BY 1""",
    "deletions": """
        SELECT deleted_reason, count(*), sum(total) FROM orders
        WHERE store_id = :s AND created_at >= :a AND created_at < :b AND status = 'deleted'
        GROUP BY 1""",
}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


SQLITE_BY_DAY = """
        SELECT substr(created_at, 1, 10), (device_id IS NOT NULL), count(*), sum(total), sum(tax)
        FROM orders WHERE store_id = :s AND created_at >= :a AND created_at < :b
          AND status <> 'deleted' GROUP BY 1, 2"""


def _none(*_args: object) -> None:
    """service._hourly_rows and repository.whole_days left out: the quarter-hour rows
    alone read (what the dashboard read before the hourly and daily rollups)."""
    return None


def measure(url: str, org: str, store: str, owner: str, runs: int
            ) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds per run: as served, quarter-hour rows only, orders tables."""
    engine = make_engine(url)
    _, reader = session_factories(engine)
    principal = StaffPrincipal(owner, org, Role.OWNER.value, "Owner")
    ask = Ask(MONTH[0], MONTH[1], store_id=store)
    a = datetime(2026, 6, 1, tzinfo=UTC)
    b = datetime(2026, 7, 1, tzinfo=UTC)
    queries = dict(BASELINE)
    if engine.dialect.name == "sqlite":
        queries["by_day"] = SQLITE_BY_DAY
    served = service._hourly_rows, repo.whole_days
    rollups: list[float] = []
    quarters: list[float] = []
    baseline: list[float] = []
    for i in range(runs + 3):
        with reader() as s:
            t0 = time.perf_counter()
            answer = summary_in(s, principal, ask)
            t1 = time.perf_counter()
            service._hourly_rows = repo.whole_days = _none  # type: ignore[assignment]
            try:
                same = summary_in(s, principal, ask)
            finally:
                service._hourly_rows, repo.whole_days = served
            t2 = time.perf_counter()
            for sql in queries.values():
                s.execute(text(sql), {"s": store, "a": a, "b": b, "z": "UTC"}).all()
            t3 = time.perf_counter()
        assert same == answer, "the hourly and quarter-hour rollups disagree"
        if i >= 3:  # warm-up runs not counted
            rollups.append((t1 - t0) * 1000)
            quarters.append((t2 - t1) * 1000)
            baseline.append((t3 - t2) * 1000)
    print(f"  the month: {answer.totals.orders:,} orders, {answer.totals.gross / 100:,.2f} gross")
    engine.dispose()
    return rollups, quarters, baseline


def seed_till(store: object, n: int) -> None:
    """``n`` orders in a till's store file, inserted in bulk (sales are not the measure)."""
    from sqlalchemy import insert, select

    from app.store.models import Order, Staff

    rng = random.Random(16)
    with store.db.write() as s:  # type: ignore[attr-defined]
        staff_id = s.scalars(select(Staff.id)).first()
        rows = []
        for k in range(n):
            at = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
            total = rng.randrange(100, 20_000)
            rows.append({"id": new_id(), "reference": f"GO-T{k:08d}", "store_id": "s",
                         "device_id": store.device_id, "status": "completed",  # type: ignore[attr-defined]
                         "is_offline": True, "currency": "EUR", "tax_inclusive": True,
                         "order_discount_percent_ppm": 0, "order_discount_amount": 0,
                         "subtotal": total, "discount": 0, "tax": total // 6, "total": total,
                         "paid": total, "refunded": 0, "flags": [], "created_by": staff_id,
                         "created_at": at, "updated_at": at, "version": 1})
        s.execute(insert(Order), rows)


def bench_browser(n: int) -> tuple[list[float], list[float]]:
    """Scroll the orders browser over ``n`` orders to the end, a page at a time; the
    gaps between two turns of the Qt event loop (a frame a person would see), wall clock
    and the GUI thread's own CPU time in each (on a loaded machine a wall gap is mostly
    the other processes' turn; the CPU time is what the screen itself spent)."""
    import os
    import tempfile
    from pathlib import Path

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.store.local import open_store
    from ui.context import AppContext
    from ui.ops import Ops
    from ui.screens.orders_browser import OrdersBrowserScreen

    app = QApplication.instance() or QApplication([])
    store = open_store(Path(tempfile.mkdtemp()) / "till", passphrase="x")
    from app import demo

    demo.seed(store, 50)
    t0 = time.perf_counter()
    seed_till(store, n)
    print(f"till store: {n:,} orders inserted in {time.perf_counter() - t0:.0f} s")
    ctx = AppContext(store, Ops())
    screen = OrdersBrowserScreen(ctx)
    screen.resize(1200, 800)
    screen.show()
    QCoreApplication.processEvents()
    from ui.collector import settle

    settle()  # as the app does once its window is up (ui/main.py)
    gaps: list[float] = []
    cpus: list[float] = []
    last, last_cpu = time.perf_counter(), time.thread_time()
    deadline = last + 600
    while (screen.model.more or screen.model.loading) and time.perf_counter() < deadline:
        screen.view.verticalScrollBar().setValue(screen.view.verticalScrollBar().maximum())
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append((now - last) * 1000)
        cpus.append((cpu - last_cpu) * 1000)
        last, last_cpu = now, cpu
    rows = len(screen.model.rows)
    screen.close()
    store.close()
    _ = app
    print(f"orders browser: {rows:,} rows reached by scrolling, {len(gaps):,} frames")
    return gaps, cpus


def seed_and_rebuild(url: str, args: argparse.Namespace, engine_name: str
                     ) -> tuple[str, list[str], str]:
    t0 = time.perf_counter()
    org, stores, owner = seed(url, args.orders, args.stores)
    print(f"seeded {args.orders:,} orders in {args.stores} stores over a year "
          f"in {time.perf_counter() - t0:.0f} s ({engine_name})")
    t0 = time.perf_counter()
    engine = make_engine(url)
    writer, _ = session_factories(engine)
    with writer.begin() as s:
        counted = rebuild.rebuild(s, org)
        s.execute(text("INSERT INTO server_meta (key, value) VALUES ('bench_analytics', 'done')"))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"rollups rebuilt from {counted:,} orders in {time.perf_counter() - t0:.0f} s")
    return org, stores, owner


@contextmanager
def kept_database(name: str) -> Iterator[str]:
    """A PostgreSQL database by name, made if missing and never dropped."""
    import psycopg

    from benchmarks.sync_bench import PG_ADMIN

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def seeded(url: str) -> tuple[str, list[str], str] | None:
    """(org, stores by name, a staff id) of a kept database whose seed and rebuild
    finished (marked in server_meta), else None (an interrupted seed is started over)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not conn.execute(text(
                    "SELECT 1 FROM server_meta WHERE key = 'bench_analytics'")).first():
                return None
            org = conn.execute(text("SELECT id FROM organizations")).scalar_one()
            stores = list(conn.execute(text(
                "SELECT id FROM stores WHERE org_id = :o ORDER BY length(name), name"),
                {"o": org}).scalars())
            owner = conn.execute(text("SELECT created_by FROM orders LIMIT 1")).scalar_one()
        return org, stores, owner
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analytics")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--browser", type=int, default=100_000,
                        help="orders in the till for the orders browser's scroll (0: skip)")
    parser.add_argument("--browser-only", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--keep", metavar="DBNAME",
                        help="PostgreSQL: seed and rebuild into this database and keep it; "
                             "run again with the same name to measure it again without "
                             "seeding (seed on a busy machine, measure on a quiet one)")
    args = parser.parse_args(argv)
    import os
    import tempfile

    ok = True
    if args.browser:
        load = os.getloadavg()[0]
        gaps, cpus = bench_browser(args.browser)
        worst = max(gaps)
        print(f"  frames (wall): p50 {statistics.median(gaps):.1f} ms  p99 {_p(gaps, .99):.1f} "
              f"ms  p99.99 {_p(gaps, .9999):.1f} ms  worst {worst:.1f} ms "
              f"(target: none over 50 ms)")
        print(f"  frames (GUI thread CPU): p99 {_p(cpus, .99):.1f} ms  worst {max(cpus):.1f} ms"
              f"; load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
        ok = worst <= 50
    if args.browser_only:
        return 0 if ok else 1

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    engine_name = "SQLite" if args.sqlite else "PostgreSQL"
    place = kept_database(args.keep) if args.keep and not args.sqlite else database(
        not args.sqlite, tempfile.mkdtemp())
    with place as url:
        run_migrations(url)
        found = seeded(url) if args.keep else None
        if found:
            org, stores, owner = found
            print(f"database {args.keep} kept from an earlier run: not seeded again")
        else:
            org, stores, owner = seed_and_rebuild(url, args, engine_name)
        rollups, quarters, baseline = measure(url, org, stores[0], owner, args.runs)
    print(f"one store's month dashboard, {args.runs} runs ({engine_name}, load average "
          f"{os.getloadavg()[0]:.2f}):")
    for name, values in (("rollups (hourly, daily)", rollups), ("quarter-hours alone", quarters),
                         ("orders tables (baseline)", baseline)):
        print(f"  {name:26s} p50 {statistics.median(values):7.1f} ms  p95 {_p(values, .95):7.1f} ms"
              f"  p99 {_p(values, .99):7.1f} ms")
    ratio = statistics.median(baseline) / max(statistics.median(rollups), 1e-9)
    print(f"  baseline / rollups (p50): {ratio:.1f}x; quarter-hours / hourly (p50): "
          f"{statistics.median(quarters) / max(statistics.median(rollups), 1e-9):.2f}x")
    met = _p(rollups, .95) < 100
    print("target p95 < 100 ms:", "met" if met else "MISSED")
    return 0 if ok and met else 1


if __name__ == "__main__":
    sys.exit(main())

