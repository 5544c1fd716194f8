"""A terminal pulls and applies a store's feed: N changes other tills made, through the
real sync/pull.py code, against the same pages fetched over HTTP with nothing applied.

    python -m benchmarks.sync_pull_apply [--pg] [--changes N] [--limit L] [--rounds R]

What it does: a real server under uvicorn on 127.0.0.1 (benchmarks/sync_bench.py's
server_process, SQLite or ``--pg`` PostgreSQL) with a catalog; a fresh terminal (a real
local store in a temporary folder) enrolls and takes its first sync (the snapshot of the
catalog); then another till pushes sales (3 catalog lines and a cash payment each: an
order and 3 stock movements in the feed), with a stock receipt and a price edit now and
then (a stock movement, a product), until the feed holds N new changes. The terminal
then pulls them with ``sync.pull.pull_changes`` (each page fetched, applied and its
cursor written in one local transaction), timed from the first request to the last page
written. The baseline, in the same run, right after: the same pages (same cursors, same
page size) fetched with httpx and parsed as JSON, nothing applied. The pulled store is
checked (every order, line and payment there).

Printed: p50/p99 per page (fetch + apply for the terminal, fetch + parse for the
baseline), totals, changes/s, the ratio apply/read and the load average before each.
The targets (issue 17): 100,000 changes in under 10 s, and apply/read <= 3x.
``--rounds`` repeats the pull with a fresh terminal (one push of the feed).

:func:`run_terminal_pull` is the reusable piece (benchmarks/peer.py calls it): a fresh
terminal pulling an existing server's feed, returning the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from app.store.local import LocalStore, open_store
from app.store.models import Order, OrderLine, Payment
from benchmarks.sync_bench import (
    CATALOG,
    Till,
    database,
    enroll,
    more_codes,
    pct,
    sale_op,
    seed,
    server_env,
    server_process,
)
from sync.enroll import enroll as enroll_terminal
from sync.pull import next_page_limit, pull_changes
from sync.service import client_factory_for

PASSPHRASE = "benchmark-terminal-key"  # the key file's passphrase: no OS keyring here
PUSH_BATCH = 500
TARGET_S = 10.0
TARGET_RATIO = 3.0


@dataclass
class PullStats:
    """One terminal's pull: per-page times (s), totals, and the same pages read raw."""

    changes: int = 0
    pages: int = 0
    applied: int = 0
    total_s: float = 0.0
    page_s: list[float] = field(default_factory=list)
    raw_total_s: float = 0.0
    raw_page_s: list[float] = field(default_factory=list)
    raw_changes: int = 0
    load_before: float = 0.0
    orders_local: int = 0
    start: int = 0  # the cursor the pull started from

    @property
    def ratio(self) -> float:
        return self.total_s / self.raw_total_s if self.raw_total_s else float("inf")


def new_terminal(base: str, code: str, workdir: str | Path) -> LocalStore:
    """A real till store under ``workdir``, enrolled with ``code`` and first-synced
    (the snapshot: the catalog and whatever else the store holds)."""
    store = open_store(Path(workdir), passphrase=PASSPHRASE)
    asyncio.run(enroll_terminal(store, base, code, "Pull bench till", passphrase=PASSPHRASE))
    _pull(store, None, None)
    return store


def _pull(store: LocalStore, limit: int | None, marks: list[float] | None) -> Any:
    async def run() -> Any:
        client = client_factory_for(store, PASSPHRASE)()
        try:
            return await pull_changes(store, client, limit=limit, progress=(
                None if marks is None else lambda done, total: marks.append(time.perf_counter())))
        finally:
            await client.aclose()

    return asyncio.run(run())


def _cursor(store: LocalStore) -> int:
    from sync import state

    with store.db.read() as s:
        return int(state.get_state(s, state.CURSOR) or 0)


def raw_read(base: str, token: str, after: int, limit: int | None) -> tuple[list[float], int, float]:
    """The feed after ``after`` fetched page by page with httpx and parsed as JSON, nothing
    applied: (per-page seconds, changes, total seconds)."""
    times: list[float] = []
    got = 0
    params: dict[str, int] = {"after": after}
    if limit:
        params["limit"] = limit
    with httpx.Client(base_url=base, timeout=120,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        started = time.perf_counter()
        for _ in range(1_000_000):  # bounded: a page moves the cursor or ends the loop
            t0 = time.perf_counter()
            r = c.get("/sync/pull", params=params)
            r.raise_for_status()
            page = json.loads(r.content)
            times.append(time.perf_counter() - t0)
            got += len(page["changes"])
            params["after"] = page["cursor"]
            size = next_page_limit(page["cursor"], page.get("head"), limit)  # as the till asks
            if size:
                params["limit"] = size
            else:
                params.pop("limit", None)
            if not page["has_more"] or not page["changes"]:
                break
        return times, got, time.perf_counter() - started


def run_terminal_pull(base: str, store: LocalStore, limit: int | None = None,
                      raw: bool = True) -> PullStats:
    """Pull the server's feed into an enrolled, first-synced terminal ``store`` (see
    :func:`new_terminal`) through ``sync.pull.pull_changes``, timed; then (``raw``) read
    the same pages over HTTP with nothing applied, as the same-run baseline.

    ``limit``: changes per page asked (None: the terminal's default, as shipped).
    Returns a :class:`PullStats` (per-page times, totals, the raw read, the load average
    before the pull and the orders the till holds after it)."""
    stats = PullStats(load_before=os.getloadavg()[0])
    start = stats.start = _cursor(store)
    marks: list[float] = []
    t0 = time.perf_counter()
    report = _pull(store, limit, marks)
    stats.total_s = time.perf_counter() - t0
    stats.page_s = [b - a for a, b in zip([t0, *marks], marks, strict=False)]
    stats.changes, stats.pages, stats.applied = report.pulled, report.pages, report.applied
    with store.db.read() as s:
        stats.orders_local = int(s.scalar(select(func.count()).select_from(Order)) or 0)
    if raw:
        token = terminal_token(store)
        stats.raw_page_s, stats.raw_changes, stats.raw_total_s = raw_read(base, token, start, limit)
    return stats


# ---------------------------------------------------------------- the feed


def _manager(url: str, org_id: str) -> str:
    """A manager (product edits, stock receipts) in the benchmark's organization."""
    from server import crypto
    from server.config import Settings
    from server.db.engine import make_engine, session_factories
    from server.security import make_hasher
    from server.tenancy import service as tenancy

    settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8192,
                        server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"])
    engine = make_engine(url)
    crypto.setup(engine, settings)
    writer, _ = session_factories(engine)
    with writer.begin() as s:
        manager = tenancy.create_staff(s, make_hasher(settings), org_id, "Bench Manager",
                                       Role.MANAGER, pin="864213").id
    engine.dispose()
    return manager


def _op(till: Till, op_type: str, entity_id: str, actor: str, payload: dict[str, Any],
        base_version: int = 0) -> dict[str, Any]:
    till.seq += 1
    from datetime import UTC, datetime
    return {"op_id": new_id(), "op_seq": till.seq, "type": op_type, "entity_id": entity_id,
            "actor_id": actor, "device_id": till.device_id,
            "created_at": datetime.now(UTC).isoformat(), "base_version": base_version,
            "payload": payload}


def push_feed(base: str, till: Till, manager: str, changes: int) -> int:
    """Push sales (with a stock receipt and a price edit every 25 sales) until about
    ``changes`` feed changes were made; returns how many ops were applied."""
    rng = random.Random(7)
    prices = {p.id: p.price for p in CATALOG}
    versions: dict[str, int] = {}
    ops: list[dict[str, Any]] = []
    made = 0
    while made < changes:
        ops.append(sale_op(till, rng))
        made += 4  # the order and a stock movement per line
        if len(ops) % 25 == 0:
            p = rng.choice(CATALOG)
            ops.append(_op(till, "stock.adjust", new_id(), manager, {
                "movement_id": new_id(), "product_id": p.id, "kind": "receive",
                "qty_delta_milli": 24_000, "created_at": ops[-1]["created_at"]}))
            version = versions.get(p.id, 1)
            ops.append(_op(till, "product.update", p.id, manager, {
                "fields": {"price": {"base": prices[p.id], "value": prices[p.id] + 1}}},
                base_version=version))
            prices[p.id] += 1
            versions[p.id] = version + 1
            made += 2
    applied = 0
    with httpx.Client(base_url=base, timeout=300, headers=till.headers) as c:
        for i in range(0, len(ops), PUSH_BATCH):
            r = c.post("/sync/push", json={"operations": ops[i:i + PUSH_BATCH]})
            r.raise_for_status()
            applied += sum(1 for x in r.json()["results"] if x["status"] == "applied")
    return applied


# ---------------------------------------------------------------- report


def print_stats(label: str, st: PullStats) -> None:
    def line(name: str, pages: list[float], n: int, total: float) -> None:
        p50 = pct(pages, 50) if pages else 0.0
        p99 = pct(pages, 99) if pages else 0.0
        rate = n / total if total else 0.0
        print(f"  {name:<28}{len(pages):>6}{p50:>10.1f}{p99:>10.1f}{total:>9.2f}"
              f"{rate:>12,.0f}{(total / n * 1000 if n else 0):>10.3f}")

    print(f"\n{label} (load avg {st.load_before:.2f} before, {os.cpu_count()} CPUs)")
    print(f"  {'measure':<28}{'pages':>6}{'p50 ms':>10}{'p99 ms':>10}{'total s':>9}"
          f"{'changes/s':>12}{'ms/chg':>10}")
    line(f"pull+apply {st.changes:,} changes", st.page_s, st.changes, st.total_s)
    if st.raw_total_s:
        line(f"raw HTTP read {st.raw_changes:,}", st.raw_page_s, st.raw_changes, st.raw_total_s)
    ok_time = st.total_s * 100_000 / max(st.changes, 1) < TARGET_S
    ok_ratio = st.ratio <= TARGET_RATIO
    print(f"  ratio apply/read {st.ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: "
          f"{'PASS' if ok_ratio else 'FAIL'}); per 100,000 changes "
          f"{st.total_s * 100_000 / max(st.changes, 1):.1f} s (target < {TARGET_S:.0f} s: "
          f"{'PASS' if ok_time else 'FAIL'}); applied {st.applied:,}, orders on the till "
          f"{st.orders_local:,}")


def check_store(store: LocalStore, orders: int) -> None:
    """Every pulled order with its 3 lines and its payment is on the till."""
    with store.db.read() as s:
        counts = [int(s.scalar(select(func.count()).select_from(m)) or 0)
                  for m in (Order, OrderLine, Payment)]
    if counts[0] < orders or counts[1] < 3 * orders or counts[2] < orders:
        raise SystemExit(f"the till holds {counts} (orders, lines, payments); expected "
                         f">= {orders} orders")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    ap.add_argument("--changes", type=int, default=100_000)
    ap.add_argument("--products", type=int, default=5_000)
    ap.add_argument("--limit", type=int, default=None,
                    help="changes per page (default: the terminal's, as shipped)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--profile", metavar="FILE", help="cProfile the first round's pull")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pull-bench-") as workdir, \
            database(args.pg, workdir) as url:
        codes, org_id, cashier = seed(url, 1, args.products)
        store_id = codes[0][0]
        manager = _manager(url, org_id)
        spare = more_codes(url, [store_id], args.rounds + 1)
        with server_process(url) as base:
            pusher = enroll(base, codes[0][1], cashier, "Pusher")
            tills = [new_terminal(base, spare[r], Path(workdir) / f"till{r}")
                     for r in range(args.rounds)]
            t0 = time.perf_counter()
            applied = push_feed(base, pusher, manager, args.changes)
            print(f"server: {'PostgreSQL' if args.pg else 'SQLite'}; {applied:,} ops pushed "
                  f"by another till in {time.perf_counter() - t0:.1f} s ({pusher.orders:,} sales)")
            for r, store in enumerate(tills):
                try:
                    if args.profile and r == 0:
                        st = profiled_pull(base, store, args.limit, args.profile)
                    else:
                        st = run_terminal_pull(base, store, args.limit)
                    print_stats(f"round {r + 1}, page size {args.limit or 'default'}", st)
                    check_store(store, pusher.orders)
                finally:
                    store.close()
    return 0


def profiled_pull(base: str, store: LocalStore, limit: int | None, path: str) -> PullStats:
    """:func:`run_terminal_pull` with each page's apply (run in a worker thread by
    pull_changes) under cProfile; the pages' profiles are added up into ``path``."""
    import cProfile
    import pstats

    import sync.pull as pull_module

    real = pull_module.apply_page
    profiles: list[cProfile.Profile] = []

    def apply_page(*a: Any, **kw: Any) -> Any:
        prof = cProfile.Profile()
        profiles.append(prof)
        return prof.runcall(real, *a, **kw)

    pull_module.apply_page = apply_page  # type: ignore[assignment]
    try:
        st = run_terminal_pull(base, store, limit)
    finally:
        pull_module.apply_page = real  # type: ignore[assignment]
    if profiles:
        stats = pstats.Stats(profiles[0])
        for prof in profiles[1:]:
            stats.add(prof)
        stats.dump_stats(path)
        print(f"profile of {len(profiles)} pages' apply written to {path}")
    return st


def terminal_token(store: LocalStore) -> str:
    """The terminal's token (Bearer tt_...), from its stored credential."""
    from sync import credentials

    cred = credentials.load(store.data_dir, store.device_id, PASSPHRASE)
    assert cred is not None, "not enrolled"
    return cred.token


if __name__ == "__main__":
    sys.exit(main())
