"""End to end through a real terminal: its outbox of recorded sales pushed by its own sync code.

A terminal (a real local SQLite store in a temporary folder) enrolls with the benchmark
server, loads the catalog by its first sync (the paged snapshot), records N sales with
the cashier's service (``record_sale``: 3 catalog lines and a cash payment each, so N
order.create operations wait in its outbox), then ``sync.push.push_pending`` sends them:
read a batch from the outbox, POST /sync/push, write every result back, until nothing
is pending. The clock runs from the first read of the outbox to the last result
written; the sales' recording is not timed.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

from sqlalchemy import func, select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services.sales import record_sale
from app.store.local import LocalStore, open_store
from app.store.models import OutboxOperation, Product
from app.store.unit_of_work import Actor
from benchmarks.sync_bench import Result, database_cpu, pct, server_cpu
from sync.enroll import enroll
from sync.protocol import JournalHead, Operation, PushResponse
from sync.pull import pull_changes
from sync.push import push_pending
from sync.service import client_factory_for

PASSPHRASE = "benchmark-terminal-key"  # the key file's passphrase: no OS keyring here


def _terminal(base: str, code: str, workdir: str) -> LocalStore:
    store = open_store(Path(workdir) / "till", passphrase=PASSPHRASE)
    asyncio.run(enroll(store, base, code, "Bench till", passphrase=PASSPHRASE))
    return store


def _first_sync(store: LocalStore) -> tuple[float, int]:
    async def run() -> None:
        client = client_factory_for(store, PASSPHRASE)()
        try:
            await pull_changes(store, client)
        finally:
            await client.aclose()

    t0 = time.perf_counter()
    asyncio.run(run())
    with store.db.read() as s:
        products = s.scalar(select(func.count()).select_from(Product)) or 0
    return time.perf_counter() - t0, products


def _record_sales(store: LocalStore, cashier: str, n: int) -> None:
    with store.db.read() as s:
        catalog = s.execute(select(Product.id, Product.sku, Product.name, Product.price,
                                   Product.tax_rate_ppm)
                            .where(Product.active, ~Product.sold_by_weight)
                            .order_by(Product.sku).limit(2000)).all()
    rng = random.Random(2)
    actor = Actor(cashier, "Bench Cashier", Role.CASHIER)
    for _ in range(n):
        cart = Cart(tax_inclusive=True)
        for p in rng.sample(catalog, 3):
            cart.add(CartLine(product_id=p.id, sku=p.sku, name=p.name, unit_price=p.price,
                              tax_rate_ppm=p.tax_rate_ppm, qty_milli=rng.choice((1000, 2000))))
        record_sale(store, actor, cart, [Tender(Method.CASH, cart.totals().total)])


def _pending(store: LocalStore) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(OutboxOperation)
                        .where(OutboxOperation.status == "pending")) or 0


def bench_terminal_push(base: str, code: str, cashier: str, n: int, workdir: str
                        ) -> list[Result]:
    """[first sync (snapshot), push of n queued sales end to end]."""
    store = _terminal(base, code, workdir)
    try:
        snap_s, products = _first_sync(store)
        first = Result(f"first sync: {products:,} products", 1, total_s=snap_s,
                       rate=f"{products / snap_s:,.0f} products/s")
        first.notes.append("the terminal's own pull: paged snapshot, then the feed")
        t0 = time.perf_counter()
        _record_sales(store, cashier, n)
        recorded = time.perf_counter() - t0
        queued = _pending(store)
        batches: list[float] = []

        async def push() -> int:
            client = client_factory_for(store, PASSPHRASE)()
            send = client.push

            async def timed(ops: list[Operation], journal_head: JournalHead | None = None
                            ) -> PushResponse:
                t0 = time.perf_counter()
                try:
                    return await send(ops, journal_head=journal_head)
                finally:
                    batches.append(time.perf_counter() - t0)

            client.push = timed  # type: ignore[method-assign,assignment]
            try:
                report = await push_pending(store, client)
            finally:
                await client.aclose()
            return report.applied

        cpu0, db0 = server_cpu(base), database_cpu()
        t0 = time.perf_counter()
        applied = asyncio.run(push())
        total = time.perf_counter() - t0
        cpu, db = server_cpu(base) - cpu0, database_cpu() - db0
        left = _pending(store)
        res = Result(f"push {queued:,} queued ops, terminal", len(batches),
                     pct(batches, 50) if batches else None, pct(batches, 95) if batches else None,
                     pct(batches, 99) if batches else None, total,
                     f"{queued / total:,.0f} ops/s", "total < 5 s",
                     total < 5 and applied == queued == n and left == 0)
        res.notes.append(
            f"outbox -> POST /sync/push -> results written; p50-p99: a batch's HTTP round "
            f"trip; applied {applied:,}, "
            f"still pending {left}; server CPU {cpu:.2f} s, PostgreSQL CPU {db:.2f} s; recording the {n:,} sales took {recorded:.1f} s (not "
            f"timed); load avg {os.getloadavg()[0]:.1f}")
        return [first, res]
    finally:
        store.close()
