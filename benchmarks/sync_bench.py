"""Sync benchmarks: the server process, tenants, the pull and the server-side push.

The command is ``python -m benchmarks.sync`` (benchmarks/sync.py); the terminal's own
push is in sync_terminal.py, 100 terminals at once in sync_concurrent.py, and what was
measured, and how to read it, in benchmarks/README.md.

The server runs in its own process (``uvicorn --factory server.main:create_app``, one
worker) on a fresh SQLite file (WAL, synchronous=FULL), or with ``--pg`` on a temporary
PostgreSQL database at 127.0.0.1:5432. Every loop is bounded; nothing leaves the
machine. The load average and the server's CPU time are printed with each measure: the
machine may be shared, and CPU time moves far less with other work than wall time.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from app.domain import demo_catalog
from app.domain.ids import new_id, order_reference
from app.domain.permissions import Role
from app.domain.totals import Discount, LineInput, compute

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 500


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k] * 1000


@dataclass
class Result:
    name: str
    n: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    total_s: float | None = None
    rate: str = ""
    target: str = ""
    passed: bool | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- server process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(pg: bool, workdir: str) -> Iterator[str]:
    if not pg:
        yield f"sqlite:///{workdir}/bench-server.db"
        return
    import psycopg

    name = f"tillsync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "TILLSYNC_DATABASE_URL": url,
        "TILLSYNC_SERVER_DATA_KEY": base64.b64encode(b"benchmark-data-key-32-bytes-long").decode(),
        # PostgreSQL is production mode: the server refuses the public default JWT secret
        "TILLSYNC_JWT_SECRET": "benchmark-jwt-secret-" + "b" * 32,
        "TILLSYNC_RATE_LIMIT_ENABLED": "false",
        "TILLSYNC_ARGON2_TIME_COST": "1",
        "TILLSYNC_ARGON2_MEMORY_KIB": "8192",
        "TILLSYNC_LOG_LEVEL": "WARNING",
    })
    return env


SERVER_PIDS: dict[str, int] = {}


def _process_cpu(pid: int | str) -> tuple[str, float]:
    """(name, CPU seconds user + system) of a process from /proc; ("", 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return "", 0.0
    name, _, rest = stat.partition("(")[2].rpartition(")")
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(base: str) -> float:
    """CPU seconds (user + system) the server process has used so far; 0 without /proc.

    Unlike wall time, it hardly moves with other work on a shared machine."""
    return _process_cpu(SERVER_PIDS[base])[1] if base in SERVER_PIDS else 0.0


def database_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's live processes (0 without
    /proc or PostgreSQL): with server_cpu, where a push's time goes."""
    pids = [p for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []
    return sum(cpu for name, cpu in map(_process_cpu, pids)
               if name.startswith(("postgres", "postmaster")))


@contextmanager
def server_process(url: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--limit-concurrency", "1000", "--backlog", "2048"],
        env=server_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = proc.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else b""
                raise RuntimeError(f"server exited: {err.decode()[-2000:]}")
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---------------------------------------------------------------- tenants


@dataclass
class Till:
    device_id: str
    device_code: str
    store_id: str
    token: str
    actor: str
    seq: int = 0
    orders: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed(url: str, stores: int, products: int) -> tuple[list[tuple[str, str]], str, str]:
    """An org with ``stores`` stores and a catalog; returns ([(store_id, code)], org, cashier)."""
    from server import crypto
    from server.cli import seed_demo_catalog
    from server.config import Settings
    from server.db.engine import make_engine, run_migrations, session_factories
    from server.security import make_hasher
    from server.tenancy import service as tenancy

    settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8192,
                        server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"])
    run_migrations(url)
    engine = make_engine(url)
    crypto.setup(engine, settings)
    writer, _ = session_factories(engine)
    codes: list[tuple[str, str]] = []
    with writer.begin() as s:
        org = tenancy.create_org(s, "Bench Org")
        cashier = tenancy.create_staff(s, make_hasher(settings), org.id, "Bench Cashier",
                                       Role.CASHIER, pin="1234").id
        for i in range(stores):
            store = tenancy.create_store(s, org.id, f"Store {i + 1}")
            if i == 0 and products:
                seed_demo_catalog(s, org.id, store.id, products)
            codes.append((store.id, ""))
        out = []
        for store_id, _ in codes:
            code, _row = tenancy.create_enrollment_code(s, org.id, store_id, 3600)
            out.append((store_id, code))
        org_id = org.id
    engine.dispose()
    return out, org_id, cashier


def enroll(base: str, code: str, actor: str, name: str) -> Till:
    r = httpx.post(base + "/terminals/enroll", json={"code": code, "name": name}, timeout=30)
    r.raise_for_status()
    d = r.json()
    return Till(d["device_id"], d["device_code"], d["store_id"], d["terminal_token"], actor)


CATALOG = [p for p in demo_catalog.generate_products(2000) if not p.sold_by_weight]


def sale_op(till: Till, rng: random.Random, catalog: bool = True) -> dict[str, Any]:
    """An order.create of 3 lines with a cash payment, as a till records it."""
    till.seq += 1
    till.orders += 1
    picks = rng.sample(CATALOG, 3)
    lines = []
    inputs = []
    for p in picks:
        qty = rng.choice((1000, 2000))
        inputs.append(LineInput(p.price, qty, p.tax_rate_ppm, Discount()))
        lines.append({"id": new_id(), "product_id": p.id if catalog else None, "sku": p.sku,
                      "name": p.name, "barcode": p.barcodes[0], "unit_price": p.price,
                      "qty_milli": qty, "tax_rate_ppm": p.tax_rate_ppm})
    totals = compute(inputs, inclusive=True)
    for li, lt in zip(lines, totals.lines, strict=True):
        li.update(gross=lt.gross, net=lt.net, tax=lt.tax, total=lt.total)
    oid = new_id()
    now = datetime.now(UTC).isoformat()
    return {
        "op_id": new_id(), "op_seq": till.seq, "type": "order.create", "entity_id": oid,
        "actor_id": till.actor, "device_id": till.device_id, "created_at": now,
        "base_version": 0, "payload": {
            "reference": order_reference(till.device_code, till.orders),
            "store_id": till.store_id, "currency": "EUR", "tax_inclusive": True,
            "lines": lines, "subtotal": totals.subtotal, "discount": totals.discount,
            "tax": totals.tax, "total": totals.total, "created_at": now,
            "payments": [{"id": new_id(), "order_id": oid, "method": "cash",
                          "amount": totals.total, "tendered": totals.total, "change": 0,
                          "created_at": now}],
        },
    }


# ---------------------------------------------------------------- scenarios


def bench_push(base: str, till: Till, n: int) -> Result:
    rng = random.Random(1)
    ops = [sale_op(till, rng) for _ in range(n)]
    times: list[float] = []
    errors = 0
    applied = 0
    with httpx.Client(base_url=base, timeout=120, headers=till.headers) as c:
        cpu0, db0 = server_cpu(base), database_cpu()
        started = time.perf_counter()
        for i in range(0, n, BATCH):
            t0 = time.perf_counter()
            r = c.post("/sync/push", json={"operations": ops[i:i + BATCH]})
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1
                continue
            applied += sum(1 for x in r.json()["results"] if x["status"] == "applied")
        total = time.perf_counter() - started
        cpu, db = server_cpu(base) - cpu0, database_cpu() - db0
    load = os.getloadavg()[0]
    res = Result(f"push {n:,} ops, 1 terminal", len(times), pct(times, 50), pct(times, 95),
                 pct(times, 99), total, f"{n / total:,.0f} ops/s", "total < 5 s",
                 total < 5 and applied == n and not errors)
    res.notes.append(f"per batch of {BATCH}; applied {applied:,}/{n:,}, HTTP errors {errors}; "
                     f"server CPU {cpu:.2f} s ({cpu / n * 1000:.2f} ms/op); PostgreSQL CPU {db:.2f} s; "
                     f"load avg {load:.1f} on {os.cpu_count()} CPUs")
    return res


def bench_pull(base: str, till: Till, n: int) -> Result:
    times: list[float] = []
    got = 0
    after = 0
    with httpx.Client(base_url=base, timeout=120, headers=till.headers) as c:
        started = time.perf_counter()
        for _ in range(n // 1000 + 10):  # bounded
            t0 = time.perf_counter()
            r = c.get("/sync/pull", params={"after": after, "limit": 1000})
            r.raise_for_status()
            page = r.json()
            times.append(time.perf_counter() - t0)
            got += len(page["changes"])
            after = page["cursor"]
            if got >= n or not page["has_more"]:
                break
        total = time.perf_counter() - started
    rate = got / total
    res = Result(f"pull {got:,} changes", len(times), pct(times, 50), pct(times, 95),
                 pct(times, 99), total, f"{rate:,.0f} changes/s", ">= 10,000 changes/s",
                 got >= n and rate >= 10_000)
    res.notes.append("per page of 1,000 changes")
    return res


def report(results: list[Result], label: str) -> None:
    print(f"\nSync benchmarks ({label})")
    head = (f"{'measure':<34}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"
            f"{'total s':>9}  {'rate':<20}{'target':<24}result")
    print(head)
    print("-" * len(head))
    for r in results:
        def f(v: float | None) -> str:
            return f"{v:10.1f}" if v is not None else " " * 10
        verdict = "" if r.passed is None else ("PASS" if r.passed else "FAIL")
        print(f"{r.name:<34}{r.n:>6}{f(r.p50)}{f(r.p95)}{f(r.p99)}"
              f"{r.total_s or 0:9.2f}  {r.rate:<20}{r.target:<24}{verdict}")
        for note in r.notes:
            print(f"    {note}")


def more_codes(url: str, store_ids: list[str], per_store: int) -> list[str]:
    from server import crypto
    from server.config import Settings
    from server.db.engine import make_engine, session_factories
    from server.db.models import Store
    from server.tenancy import service as tenancy

    engine = make_engine(url)
    crypto.setup(engine, Settings(database_url=url,
                                  server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"]))
    writer, _ = session_factories(engine)
    out = []
    with writer.begin() as s:
        for sid in store_ids:
            store = s.get(Store, sid)
            assert store is not None
            for _ in range(per_store):
                out.append(tenancy.create_enrollment_code(s, store.org_id, sid, 3600)[0])
    engine.dispose()
    return out
