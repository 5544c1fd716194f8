"""REST under load: ``POST /offline-orders`` with many concurrent back-office users.

    python -m benchmarks.rest_load --workers 1,2,4 --users 100 --seconds 30

For each worker count the server runs as ``tillsync-server serve --workers N`` (the real
command, uvicorn worker processes on one socket) on a fresh PostgreSQL database at
127.0.0.1:5432 with the rate limiter on (shared by the workers in the database). The
organization has ``--stores`` stores and one manager per user; each user signs in once
(PIN) and then, on its own keep-alive connection, records orders one after another
(two lines and a cash payment, the answer read whole), for ``--seconds``. Before that,
the same users call ``GET /health/live`` for a third of the time: the baseline of the
same run (what the server, the client and this machine cost per request with no work).

A user waits ``--think`` seconds on average between two requests (default 1 s, uniform
from half to one and a half times that): 100 people entering orders, ~100 orders a
second together. ``--think 0`` sends back to back, a saturation test: by Little's law
the mean latency is then users / throughput whatever the server does (100 users at 400
requests a second: 250 ms), so a p95 under 100 ms needs 1,000+ requests a second, which
even ``GET /health/live`` does not reach on 2 shared cores; the baseline shows it.

Printed per worker count: p50/p95/p99 latency, errors (any answer but 201/200, and
transport errors), throughput, the load average before and after, and the CPU seconds
used per request by the server processes, PostgreSQL and the load generator itself
(the generator shares the machine: on 2 cores it is a large part of it); PostgreSQL's
is that of the backends serving the benchmark's database (other helpers share it). The target is
p95 < 100 ms with 0 errors; compare it with the baseline of the same run.

The users' requests go through a minimal HTTP/1.1 keep-alive client on asyncio streams
(:class:`RawClient`: the request written whole, the answer read by its Content-Length)
rather than httpx, whose own CPU per request (~1.5-2 ms here) was a large share of a
machine whose two cores also run the server and PostgreSQL; ``--client httpx`` uses
httpx as before. Sign-in uses httpx either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.domain.ids import new_id
from app.domain.permissions import Role
from app.domain.totals import LineInput, compute
from benchmarks.sync_bench import PG_ADMIN, _free_port, _process_cpu, database, pct, server_env

ROOT = Path(__file__).resolve().parents[1]
PIN = "246813"


# ---------------------------------------------------------------- the server


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants (the uvicorn workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _process_cpu(p)[1]
        todo.extend(children.get(p, []))
    return total


class DatabaseCpu:
    """CPU seconds of the PostgreSQL backends serving one database (other databases of
    the shared server, and backends that ended in between, are left out)."""

    def __init__(self, url: str) -> None:
        self.dbname = url.rsplit("/", 1)[1]
        self.start: dict[int, float] = {}
        self.sessions = 0
        self.connections = 0  # connections made since mark() (a backend started for each)

    def _now(self) -> tuple[dict[int, float], int]:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,))]
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                               (self.dbname,)).fetchone()
        return {p: _process_cpu(p)[1] for p in pids}, int(row[0]) if row else 0

    def mark(self) -> None:
        self.start, self.sessions = self._now()

    def since(self) -> float:
        """CPU seconds of the database's backends since mark() (those that ended in
        between are not counted: see ``connections``)."""
        now, sessions = self._now()
        self.connections = sessions - self.sessions - 1  # (less this look's own)
        return sum(cpu - self.start.get(p, 0.0) for p, cpu in now.items())


@dataclass
class Server:
    base: str
    pid: int
    workers: int
    db: DatabaseCpu | None = None

    def cpu(self) -> float:
        return process_tree_cpu(self.pid)


@contextmanager
def serve(url: str, workers: int, extra_env: dict[str, str] | None = None,
          log_path: str | None = None) -> Iterator[Server]:
    """``tillsync-server serve --workers N`` on ``url`` until the block ends (its stderr
    appended to ``log_path`` if given)."""
    port = _free_port()
    env = server_env(url) | {"TILLSYNC_RATE_LIMIT_ENABLED": "true", "TILLSYNC_WEBHOOK_URLS": ""}
    env |= extra_env or {}
    with (open(log_path, "ab") if log_path else tempfile.TemporaryFile()) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--db", url, "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            server = _until_ready(proc, f"http://127.0.0.1:{port}", workers, log)
            server.db = DatabaseCpu(url)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _until_ready(proc: subprocess.Popen[bytes], base: str, workers: int, log: Any) -> Server:
    deadline = time.monotonic() + 300  # workers start slowly on a loaded machine
    ready = 0
    while ready < 3 * workers:  # every worker up (answers come from any of them)
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")
        try:
            ok = httpx.get(base + "/health/ready", timeout=2).status_code == 200
            ready = ready + 1 if ok else 0
        except httpx.HTTPError:
            ready = 0
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start in 300 s")
        time.sleep(0.1)
    return Server(base, proc.pid, workers)


# ---------------------------------------------------------------- tenants


@dataclass
class Org:
    org_id: str
    store_ids: list[str]
    staff_ids: list[str]


def seed_org(url: str, stores: int, staff: int, role: Role = Role.MANAGER) -> Org:
    """An organization with ``stores`` stores and ``staff`` staff members of ``role``,
    each with the PIN :data:`PIN` (the migrations run first)."""
    from server import crypto
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
    hasher = make_hasher(settings)
    with writer.begin() as s:
        org = tenancy.create_org(s, "REST Load Org")
        store_ids = [tenancy.create_store(s, org.id, f"Store {i + 1}").id for i in range(stores)]
        staff_ids = [tenancy.create_staff(s, hasher, org.id, f"Manager {i + 1}", role,
                                          pin=PIN).id for i in range(staff)]
        _seen_at_their_stores(s, org.id, store_ids, staff_ids)
        out = Org(org.id, store_ids, staff_ids)
    engine.dispose()
    return out


def _seen_at_their_stores(s: Any, org_id: str, store_ids: list[str],
                          staff_ids: list[str]) -> None:
    """A till for each store, and each person seen working at the till of the store
    they record orders for (user ``i`` works at store ``i % stores``): a manager reaches
    only the stores whose tills they work on (server/tenancy/scope.py), as a real one
    who signed in there has."""
    from server.sync.sightings import note_seen
    from server.tenancy import service as tenancy

    tills = []
    for store_id in store_ids:
        code, _ = tenancy.create_enrollment_code(s, org_id, store_id, 600, max_role=Role.OWNER)
        tills.append(tenancy.enroll(s, code, "Till").device_id)
    for i, staff_id in enumerate(staff_ids):
        note_seen(s, tills[i % len(tills)], staff_id, via="sign_in")


def order_body(store_id: str, n: int) -> dict[str, Any]:
    """A back-office order: two lines (no catalogue product) and a cash payment."""
    lines, inputs = [], []
    for i in range(2):
        price, qty = 250 + 10 * ((n + i) % 50), 1000 * (1 + i)
        inputs.append(LineInput(price, qty, 230_000))
        lines.append({"id": new_id(), "product_id": None, "sku": None, "name": f"Item {i + 1}",
                      "unit_price": price, "qty_milli": qty, "tax_rate_ppm": 230_000})
    totals = compute(inputs, inclusive=True)
    for li, lt in zip(lines, totals.lines, strict=True):
        li.update(gross=lt.gross, net=lt.net, tax=lt.tax, total=lt.total)
    oid = new_id()
    now = datetime.now(UTC).isoformat()
    return {"id": oid, "store_id": store_id, "currency": "EUR", "tax_inclusive": True,
            "lines": lines, "subtotal": totals.subtotal, "discount": totals.discount,
            "tax": totals.tax, "total": totals.total, "created_at": now,
            "payments": [{"id": new_id(), "order_id": oid, "method": "cash",
                          "amount": totals.total, "tendered": totals.total, "change": 0,
                          "created_at": now}]}


# ---------------------------------------------------------------- the load


@dataclass
class Phase:
    name: str
    times: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    client_cpu: float = 0.0
    connections: int = 0
    load: tuple[float, float] = (0.0, 0.0)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def n(self) -> int:
        return len(self.times)

    def line(self) -> str:
        if not self.times:
            return f"{self.name:<26} no answers; errors {self.errors}"
        n = self.n + sum(self.errors.values())
        return (f"{self.name:<26}{self.n:>7}{pct(self.times, 50):9.1f}{pct(self.times, 95):9.1f}"
                f"{pct(self.times, 99):9.1f}{sum(self.errors.values()):>7}"
                f"{self.n / self.seconds:9.0f}/s  server {self.server_cpu / n * 1000:5.2f} ms"
                f"  pg {self.db_cpu / n * 1000:5.2f} ms  client {self.client_cpu / n * 1000:5.2f}"
                f" ms  load {self.load[0]:.1f}->{self.load[1]:.1f}  new db connections "
                f"{self.connections}")


async def sign_in(client: httpx.AsyncClient, staff_id: str) -> str:
    for attempt in range(20):
        r = await client.post("/auth/login", json={"staff_id": staff_id, "pin": PIN})
        if r.status_code == 200:
            return str(r.json()["access_token"])
        await asyncio.sleep(float(r.headers.get("retry-after", "0.5")) if r.status_code == 429
                            else 0.2 * (attempt + 1))
    raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:200]}")


class RawClient:
    """One keep-alive HTTP/1.1 connection: a request written whole, the answer read by
    its Content-Length (what uvicorn sends for these routes). Far less CPU per request
    than httpx; any transport trouble closes the connection (the next request opens a
    new one) and is counted as an error by the caller."""

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port or 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Length: {len(body)}\r\n").encode()
        if body:
            head += b"Content-Type: application/json\r\n"
        try:
            self.writer.write(head + headers + b"\r\n" + body)
            status_line = await self.reader.readline()
            status = int(status_line.split(b" ", 2)[1])
            length, close = 0, False
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            content = await self.reader.readexactly(length) if length else b""
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            await self.aclose()
            raise
        if close:
            await self.aclose()
        return status, content

    async def aclose(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()


async def user_loop(client: RawClient | httpx.AsyncClient, token: str, store_id: str,
                    phase: Phase, until: float, post: bool, think: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    raw_headers = f"Authorization: Bearer {token}\r\n".encode()
    rng = random.Random(token)
    n = 0
    if think:  # users do not start in step
        await asyncio.sleep(rng.uniform(0, think))
    while time.monotonic() < until:
        n += 1
        t0 = time.perf_counter()
        try:
            if isinstance(client, RawClient):
                try:
                    async with asyncio.timeout(60):
                        if post:
                            status, content = await client.request(
                                "POST", "/offline-orders",
                                orjson.dumps(order_body(store_id, n)), raw_headers)
                        else:
                            status, content = await client.request("GET", "/health/live")
                except TimeoutError:
                    await client.aclose()  # (an answer may still come on it)
                    raise
            elif post:
                r = await client.post("/offline-orders", json=order_body(store_id, n),
                                      headers=headers)
                status, content = r.status_code, r.content
            else:
                r = await client.get("/health/live")
                status, content = r.status_code, r.content
            if status == (201 if post else 200):
                phase.times.append(time.perf_counter() - t0)
            else:
                phase.error(f"HTTP {status} {content[:80].decode(errors='replace')}")
        except (httpx.HTTPError, OSError, ValueError, IndexError,
                asyncio.IncompleteReadError) as exc:
            phase.error(type(exc).__name__)
        if think:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def run_phase(server: Server, clients: list[RawClient | httpx.AsyncClient],
                    tokens: list[str],
                    org: Org, seconds: float, post: bool, name: str, think: float) -> Phase:
    phase = Phase(name)
    phase.load = (os.getloadavg()[0], 0.0)
    assert server.db is not None
    cpu0, me0 = server.cpu(), time.process_time()
    server.db.mark()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(user_loop(c, t, org.store_ids[i % len(org.store_ids)], phase,
                                     until, post, think)
                           for i, (c, t) in enumerate(zip(clients, tokens, strict=True))))
    phase.seconds = time.monotonic() - started
    phase.server_cpu, phase.db_cpu = server.cpu() - cpu0, server.db.since()
    phase.connections = server.db.connections
    phase.client_cpu = time.process_time() - me0
    phase.load = (phase.load[0], os.getloadavg()[0])
    return phase


async def load(server: Server, org: Org, users: int, seconds: float, think: float,
               client: str = "raw") -> list[Phase]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    signing = [httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits)
               for _ in range(users)]
    clients: list[RawClient | httpx.AsyncClient] = (
        list(signing) if client == "httpx" else [RawClient(server.base) for _ in range(users)])
    try:
        tokens = [await sign_in(c, org.staff_ids[i]) for i, c in enumerate(signing)]
        # a short warm-up: every worker's pools and caches, not measured
        await run_phase(server, clients, tokens, org, 2.0 + think, True, "warm-up", think)
        base = await run_phase(server, clients, tokens, org, max(5.0, seconds / 3), False,
                               "GET /health/live", think)
        orders = await run_phase(server, clients, tokens, org, seconds, True,
                                 "POST /offline-orders", think)
        return [base, orders]
    finally:
        await asyncio.gather(*(c.aclose() for c in signing))
        if client != "httpx":
            await asyncio.gather(*(c.aclose() for c in clients if isinstance(c, RawClient)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rest_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--server-log", help="append the servers' stderr to this file")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a user waits between two requests, on average "
                        "(uniform 0.5x-1.5x; 0: back to back, a saturation test)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="the users' HTTP client: a minimal keep-alive one (default, "
                        "little CPU) or httpx")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    print(f"REST load: {args.users} users, {args.seconds:g} s of POST /offline-orders per "
          f"worker count, think time {args.think:g} s, {args.stores} stores, {args.client} client; "
          f"PostgreSQL 127.0.0.1:5432; "
          f"{os.cpu_count()} CPUs shared by server, database and this load generator")
    head = (f"{'':<26}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>7}"
            f"{'rate':>11}  CPU per request")
    verdicts = []
    for workers in counts:
        with tempfile.TemporaryDirectory() as tmp, database(True, tmp) as url:
            org = seed_org(url, args.stores, args.users)
            with serve(url, workers, log_path=args.server_log) as server:
                phases = asyncio.run(load(server, org, args.users, args.seconds, args.think,
                                          args.client))
        print(f"\n{workers} worker(s)\n{head}")
        for phase in phases:
            print(phase.line())
            for what, count in sorted(phase.errors.items(), key=lambda kv: -kv[1])[:5]:
                print(f"    {count} x {what}")
        base, orders = phases
        p95 = pct(orders.times, 95) if orders.times else float("inf")
        ok = p95 < 100 and not orders.errors
        ratio = p95 / pct(base.times, 95) if base.times else float("nan")
        verdicts.append(f"{workers} worker(s): p95 {p95:.1f} ms ({ratio:.1f}x the health "
                        f"baseline's p95), {sum(orders.errors.values())} errors: "
                        f"{'PASS' if ok else 'FAIL'} (target p95 < 100 ms, 0 errors)")
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
