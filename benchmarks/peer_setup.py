"""Setting up the two workloads of ``python -m benchmarks.peer`` (nothing here is timed).

Pull: one store. A terminal (the puller) enrolls and does its first sync while the store
is empty; then the feed grows past its cursor by ~100,000 changes: the catalog with its
opening stock (a product and a stock movement each, bulk-inserted with their feed
entries by the server's own ``seed_demo_catalog`` while the server is stopped) and
orders from another till (order.create ops pushed through the running server, each an
order and three stock movements in the feed). The same changes, read from the feed,
become the peer's documents, one per change (its data as is).

Push: a second database with a 2,000-product catalog. A terminal enrolls, first-syncs
and records the sales with ``record_sale`` (each an order.create op in its outbox). The
server's database and the terminal's folder are saved so each round starts from there;
the outbox's operations, in their wire form, become the peer's documents.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.peer_tillsync import (
    new_terminal,
    outbox_documents,
    pending,
    record_sales,
    save_server,
    terminal_cursor_and_token,
    tillsync_server,
)
from benchmarks.sync_bench import Till, enroll, more_codes, sale_op, seed, server_env

SALE_CHANGES = 4  # an order and a stock movement per line (3 lines) in the feed
PRODUCT_CHANGES = 1.98  # a product, and a stock movement for the 98 % with opening stock


@dataclass
class PullWorld:
    till_dir: Path
    saved_dir: Path
    cursor: int = 0
    token: str = ""
    other: Till | None = None
    org: str = ""
    store_id: str = ""
    products: int = 0
    sales: int = 0
    mix: Counter[str] = field(default_factory=Counter)


def mix_for(changes: int) -> tuple[int, int]:
    """(products, sales from another till) giving about ``changes`` feed changes."""
    sales = changes // 10
    products = max(2000, round((changes - SALE_CHANGES * sales) / PRODUCT_CHANGES))
    return products, sales


def _seed_catalog(url: str, org: str, store_id: str, products: int) -> None:
    from server import crypto
    from server.cli import seed_demo_catalog
    from server.config import Settings
    from server.db.engine import make_engine, session_factories

    settings = Settings(database_url=url,
                        server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"])
    engine = make_engine(url)
    crypto.setup(engine, settings)
    writer, _ = session_factories(engine)
    with writer.begin() as s:
        seed_demo_catalog(s, org, store_id, products)
    engine.dispose()


def build_pull(url: str, workdir: Path, port: int, changes: int, sync_mode: str) -> PullWorld:
    """The puller enrolled on an empty store, then the catalog seeded past its cursor.
    The other till's sales are pushed by :func:`push_other_sales` (server running)."""
    world = PullWorld(workdir / "pull-till", workdir / "pull-till.saved")
    world.products, world.sales = mix_for(changes)
    codes, world.org, cashier = seed(url, 1, 0)
    world.store_id, other_code = codes[0]
    till_code = more_codes(url, [world.store_id], 1)[0]
    with tillsync_server(url, port, sync_mode) as base:
        world.other = enroll(base, other_code, cashier, "Other till")
        new_terminal(base, till_code, world.till_dir, "Puller").close()
    _seed_catalog(url, world.org, world.store_id, world.products)
    world.cursor, world.token = terminal_cursor_and_token(world.till_dir)
    return world


def push_other_sales(base: str, world: PullWorld) -> None:
    """The other till's sales through the running server, then the puller saved as is."""
    assert world.other is not None
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=300, headers=world.other.headers) as c:
        for start in range(0, world.sales, 500):
            ops = [sale_op(world.other, rng) for _ in range(min(500, world.sales - start))]
            r = c.post("/sync/push", json={"operations": ops})
            r.raise_for_status()
            bad = [x for x in r.json()["results"] if x["status"] != "applied"]
            if bad:
                raise RuntimeError(f"the other till's sale was not applied: {bad[0]}")
    shutil.rmtree(world.saved_dir, ignore_errors=True)
    shutil.copytree(world.till_dir, world.saved_dir)


@dataclass
class PushWorld:
    till_dir: Path
    saved_dir: Path
    docs_file: Path
    queued: int = 0
    op_bytes: float = 0.0


def build_push(url: str, workdir: Path, port: int, sales: int, sync_mode: str) -> PushWorld:
    """A terminal with ``sales`` recorded sales queued; server database and folder saved."""
    world = PushWorld(workdir / "push-till", workdir / "push-till.saved",
                      workdir / "push-docs.json")
    codes, _org, cashier = seed(url, 1, 2000)
    with tillsync_server(url, port, sync_mode) as base:
        store = new_terminal(base, codes[0][1], world.till_dir, "Seller")
    try:
        record_sales(store, cashier, sales)
        world.queued = pending(store)
        docs: list[dict[str, Any]] = outbox_documents(store)
    finally:
        store.close()
    if len(docs) != world.queued:
        raise RuntimeError(f"{len(docs)} operations read of {world.queued} queued")
    world.op_bytes = sum(len(json.dumps({k: v for k, v in d.items() if k != "_id"},
                                        separators=(",", ":"))) for d in docs) / len(docs)
    world.docs_file.write_text(json.dumps(docs))
    save_server(url, "push")
    shutil.rmtree(world.saved_dir, ignore_errors=True)
    shutil.copytree(world.till_dir, world.saved_dir)
    return world
