"""A fleet: 1,000 terminals of 100 stores, each pushing and pulling on its own timer.

    python -m benchmarks.fleet_load --workers 1,2,4 --terminals 1000 --stores 100 --minutes 10

For each worker count: a fresh PostgreSQL database (127.0.0.1:5432), the server as
``tillsync-server serve --workers N`` with its rate limiter on (shared in the database),
``--stores`` stores of one organization and ``--terminals`` tills spread over them,
enrolled over HTTP. Every till then behaves as the terminal's sync loop does
(sync/service.py): every ``--interval`` seconds (15, the terminal's default; the first
round at a random moment of the first interval) it pushes the sales recorded since its
last round, if any, in one request, then pulls its store's feed from its cursor until
nothing is left (pages of 500). It records a sale every ``--sale-every`` seconds on
average (exponential gaps: a busy till; three lines and a cash payment, as
benchmarks/sync_bench.sale_op makes them, without catalogue products). A failed push
is sent again, the very same ops, at the next round. Each till has its own keep-alive
connection (httpx, asyncio); the server closes idle ones after 5 s as uvicorn does, so
most rounds reconnect, as real tills would.

The first pull of every till (the store's feed from 0) is made before the measured
window. PostgreSQL's CPU is that of the backends serving the benchmark's database.
Printed per worker count: pushes and pulls (requests) with p50/p95/p99, errors,
sales applied, the CPU seconds per request and per sale of the server processes, of
PostgreSQL and of this load generator (all on the same machine), and the load average.
Default 10 minutes per worker count; ``--minutes`` takes fractions (say what you ran).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.rest_load import Server, serve
from benchmarks.sync_bench import Till, database, more_codes, pct, sale_op, seed

PAGE = 500


@dataclass
class Stats:
    push: list[float] = field(default_factory=list)
    pull: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sales_applied: int = 0
    sales_made: int = 0
    resent: int = 0  # requests sent again on a connection the server had closed

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def enroll_all(base: str, codes: list[str], actor: str) -> list[Till]:
    """Every code enrolled as a till, 20 at a time."""
    gate = asyncio.Semaphore(20)

    async def one(client: httpx.AsyncClient, i: int, code: str) -> Till:
        async with gate:
            r = await client.post("/terminals/enroll", json={"code": code, "name": f"T{i}"})
            r.raise_for_status()
            d = r.json()
            return Till(d["device_id"], d["device_code"], d["store_id"], d["terminal_token"],
                        actor)

    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        return list(await asyncio.gather(*(one(client, i, c) for i, c in enumerate(codes))))


class Terminal:
    """One till: its connection, its cursor, its sales waiting to be pushed."""

    def __init__(self, till: Till, base: str, seed_: int) -> None:
        self.till = till
        self.rng = random.Random(seed_)
        self.client = httpx.AsyncClient(
            base_url=base, timeout=60, headers=till.headers,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        self.cursor = 0
        self.pending: list[dict[str, object]] = []

    async def send(self, method: str, path: str, stats: Stats | None, **kw: Any
                   ) -> httpx.Response:
        """One request; sent once more on a connection the server closed as it was
        reused (uvicorn closes keep-alive connections idle for 5 s, and a till's round
        comes every 15 s): a pull is idempotent, a push is deduplicated by op_seq."""
        try:
            return await self.client.request(method, path, **kw)
        except httpx.RemoteProtocolError:
            if stats:
                stats.resent += 1
            return await self.client.request(method, path, **kw)

    async def pull(self, stats: Stats | None) -> None:
        for _ in range(1000):  # bounded
            t0 = time.perf_counter()
            try:
                r = await self.send("GET", "/sync/pull", stats,
                                    params={"after": self.cursor, "limit": PAGE})
            except httpx.HTTPError as exc:
                if stats:
                    stats.error(f"pull {type(exc).__name__}")
                return
            if r.status_code != 200:
                if stats:
                    stats.error(f"pull HTTP {r.status_code}")
                return
            if stats:
                stats.pull.append(time.perf_counter() - t0)
            page = r.json()
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    async def push(self, stats: Stats) -> None:
        t0 = time.perf_counter()
        try:
            r = await self.send("POST", "/sync/push", stats,
                                json={"operations": self.pending})
        except httpx.HTTPError as exc:
            stats.error(f"push {type(exc).__name__}")
            return
        if r.status_code != 200:
            stats.error(f"push HTTP {r.status_code}")
            return
        stats.push.append(time.perf_counter() - t0)
        results = r.json()["results"]
        done = [x for x in results if x["status"] in ("applied", "duplicate")]
        stats.sales_applied += sum(1 for x in results if x["status"] == "applied")
        if len(done) != len(self.pending):
            stats.error("push: an op not applied")
        self.pending = self.pending[len(done):]

    async def run(self, stats: Stats, until: float, interval: float, sale_every: float
                  ) -> None:
        rng = self.rng
        await asyncio.sleep(min(rng.uniform(0, interval), max(0.0, until - time.monotonic())))
        next_sale = time.monotonic() + rng.expovariate(1 / sale_every)
        while time.monotonic() < until:
            while next_sale <= time.monotonic():
                self.pending.append(sale_op(self.till, rng, catalog=False))
                stats.sales_made += 1
                next_sale += rng.expovariate(1 / sale_every)
            if self.pending:
                await self.push(stats)
            await self.pull(stats)
            await asyncio.sleep(min(interval * rng.uniform(0.9, 1.1),
                                    max(0.0, until - time.monotonic())))


@dataclass
class Run:
    workers: int
    stats: Stats
    seconds: float
    server_cpu: float
    db_cpu: float
    client_cpu: float
    load: tuple[float, float]

    def print(self) -> None:
        s = self.stats
        requests = len(s.push) + len(s.pull) + sum(s.errors.values())
        print(f"\n{self.workers} worker(s), {self.seconds:.0f} s measured, load average "
              f"{self.load[0]:.1f} -> {self.load[1]:.1f} on {os.cpu_count()} CPUs")
        for name, times in (("push", s.push), ("pull", s.pull)):
            if times:
                print(f"  {name:<5}{len(times):>7} requests  p50 {pct(times, 50):7.1f} ms  "
                      f"p95 {pct(times, 95):7.1f} ms  p99 {pct(times, 99):7.1f} ms  "
                      f"{len(times) / self.seconds:6.1f}/s")
        print(f"  errors {sum(s.errors.values())}  sales made {s.sales_made}, applied "
              f"{s.sales_applied}; sent again on a closed keep-alive connection: {s.resent}")
        for what, n in sorted(s.errors.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {n} x {what}")
        per = 1000 / max(1, requests)
        print(f"  CPU per request: server {self.server_cpu * per:.2f} ms, PostgreSQL "
              f"{self.db_cpu * per:.2f} ms, load generator {self.client_cpu * per:.2f} ms; "
              f"per sale pushed: server {self.server_cpu * 1000 / max(1, s.sales_applied):.2f}"
              f" ms; server busy {self.server_cpu / self.seconds:.2f} CPUs, PostgreSQL "
              f"{self.db_cpu / self.seconds:.2f}")


async def fleet(server: Server, tills: list[Till], seconds: float, interval: float,
                sale_every: float) -> Run:
    terms = [Terminal(t, server.base, i) for i, t in enumerate(tills)]
    try:
        gate = asyncio.Semaphore(50)

        async def first_pull(term: Terminal) -> None:
            async with gate:
                await term.pull(None)

        await asyncio.gather(*(first_pull(t) for t in terms))
        stats = Stats()
        load0 = os.getloadavg()[0]
        assert server.db is not None
        cpu0, me0 = server.cpu(), time.process_time()
        server.db.mark()
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(t.run(stats, until, interval, sale_every) for t in terms))
        return Run(server.workers, stats, time.monotonic() - started, server.cpu() - cpu0,
                   server.db.since(), time.process_time() - me0,
                   (load0, os.getloadavg()[0]))
    finally:
        await asyncio.gather(*(t.client.aclose() for t in terms))


def one_run(workers: int, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory() as tmp, database(True, tmp) as url:
        stores, _org, cashier = seed(url, args.stores, 0)
        per_store = -(-args.terminals // args.stores)
        codes = more_codes(url, [s for s, _ in stores], per_store)[:args.terminals]
        # every till of the benchmark comes from 127.0.0.1: a worker limits a till by
        # address until it has verified its token, so the address buckets are widened
        extra = {"TILLSYNC_RATE_LIMIT_ADDRESS_BURST": str(2 * args.terminals),
                 "TILLSYNC_RATE_LIMIT_ADDRESS_PER_SECOND": str(args.terminals)}
        with serve(url, workers, extra, log_path=args.server_log) as server:
            tills = asyncio.run(enroll_all(server.base, codes, cashier))
            return asyncio.run(fleet(server, tills, args.minutes * 60, args.interval,
                                     args.sale_every))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_load",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="measured time per worker count (default 10)")
    parser.add_argument("--interval", type=float, default=15.0,
                        help="seconds between a till's sync rounds (the terminal's default)")
    parser.add_argument("--sale-every", type=float, default=60.0,
                        help="seconds between a till's sales, on average")
    parser.add_argument("--server-log", help="append the servers' stderr to this file")
    args = parser.parse_args(argv)
    print(f"Fleet: {args.terminals} terminals in {args.stores} stores, a sync round every "
          f"{args.interval:g} s, a sale every {args.sale_every:g} s per till, "
          f"{args.minutes:g} min per worker count; PostgreSQL 127.0.0.1:5432; server, "
          f"database and this load generator share {os.cpu_count()} CPUs")
    for workers in [int(w) for w in args.workers.split(",") if w.strip()]:
        one_run(workers, args).print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
