"""Tillsync's side of ``python -m benchmarks.peer``: the server, a real terminal, its pull and push.

The server runs under uvicorn on 127.0.0.1 (benchmarks/peer_server.py, one worker) on a
SQLite file (WAL, synchronous=FULL, as shipped) or, with ``--pg``, a temporary
PostgreSQL database. The terminal is a real local store (open_store, enrolled with a
one-time code, first sync by its own pull), driven by the shipped code: ``pull_changes``
for the pull and ``push_pending`` for the push. The server is on a fixed port for the
whole workload so the terminal's stored server address stays right across restarts.

Rounds start from the same state: the terminal's data folder is copied once set up and
copied back before each round; for the push, the server's database is too (a file copy,
or a PostgreSQL template database), so each round pushes sales the server has never seen.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services.sales import record_sale
from app.store.local import LocalStore, open_store
from app.store.models import OutboxOperation, Product
from app.store.unit_of_work import Actor
from benchmarks.sync_bench import PG_ADMIN, SERVER_PIDS, server_env
from sync import credentials
from sync.enroll import enroll
from sync.pull import next_page_limit, pull_changes, read_cursor
from sync.push import load_batch, push_pending
from sync.service import client_factory_for

PASSPHRASE = "benchmark-terminal-key"  # the key file's passphrase: no OS keyring here
SIDE_FILES = ("", "-wal", "-shm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def tillsync_server(url: str, port: int, sync_mode: str = "full") -> Iterator[str]:
    """The server under uvicorn on 127.0.0.1:``port``; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.peer_server", "--port", str(port),
         "--sync", sync_mode],
        env=server_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = proc.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"server exited: {err}")
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
        SERVER_PIDS.pop(base, None)


# ---------------------------------------------------------------- saved states


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def save_server(url: str, name: str) -> None:
    """Keep the (stopped) server's database as it is now, under ``name``."""
    if url.startswith("sqlite"):
        db = _sqlite_path(url)
        for side in SIDE_FILES:
            src = Path(f"{db}{side}")
            if src.exists():
                shutil.copy2(src, f"{db}.{name}{side}")
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_pg_name(url)}_{name}"')
        conn.execute(f'CREATE DATABASE "{_pg_name(url)}_{name}" TEMPLATE "{_pg_name(url)}"')


def restore_server(url: str, name: str) -> None:
    """Put back the (stopped) server's database saved under ``name``."""
    if url.startswith("sqlite"):
        db = _sqlite_path(url)
        for side in SIDE_FILES:
            Path(f"{db}{side}").unlink(missing_ok=True)
            saved = Path(f"{db}.{name}{side}")
            if saved.exists():
                shutil.copy2(saved, f"{db}{side}")
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_pg_name(url)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{_pg_name(url)}" TEMPLATE "{_pg_name(url)}_{name}"')


def drop_saved(url: str, name: str) -> None:
    if url.startswith("sqlite"):
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_pg_name(url)}_{name}" WITH (FORCE)')


def _pg_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def restore_dir(saved: Path, live: Path) -> None:
    shutil.rmtree(live, ignore_errors=True)
    shutil.copytree(saved, live)


# ---------------------------------------------------------------- the terminal


def new_terminal(base: str, code: str, data_dir: Path, name: str) -> LocalStore:
    """A real terminal enrolled with ``code`` that has done its first sync (snapshot)."""
    store = open_store(data_dir, passphrase=PASSPHRASE)
    asyncio.run(enroll(store, base, code, name, passphrase=PASSPHRASE))

    async def first_sync() -> None:
        client = client_factory_for(store, PASSPHRASE)()
        try:
            await pull_changes(store, client)
        finally:
            await client.aclose()

    asyncio.run(first_sync())
    return store


def terminal_cursor_and_token(data_dir: Path) -> tuple[int, str]:
    """The terminal's feed cursor and its bearer token (for the raw HTTP pull)."""
    store = open_store(data_dir, passphrase=PASSPHRASE)
    try:
        cred = credentials.load(store.data_dir, store.device_id, PASSPHRASE)
        assert cred is not None
        return read_cursor(store)[0], cred.token
    finally:
        store.close()


def record_sales(store: LocalStore, cashier: str, n: int) -> None:
    """``n`` sales of 3 catalog lines paid in cash, by the cashier's service (not timed)."""
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


def pending(store: LocalStore) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(OutboxOperation)
                        .where(OutboxOperation.status == "pending")) or 0


def outbox_documents(store: LocalStore) -> list[dict[str, Any]]:
    """Every pending operation as pushed (the wire form), as a PouchDB document each."""
    docs: list[dict[str, Any]] = []
    after = 0
    while True:
        batch = load_batch(store, 500, after)
        if not batch:
            return docs
        for op in batch:
            wire = op.model_dump(mode="json")
            docs.append({"_id": str(wire["op_id"]), **wire})
        after = batch[-1].op_seq


# ---------------------------------------------------------------- timed runs


@dataclass
class Timed:
    seconds: float
    count: int  # changes pulled / operations answered
    applied: int
    pages: int
    server_cpu_s: float = 0.0
    nbytes: int = 0
    client_cpu_s: float = 0.0  # the terminal's process, all threads


def _server_cpu(base: str) -> float:
    from benchmarks.peer_pouch import process_cpu

    pid = SERVER_PIDS.get(base)
    return process_cpu(pid) if pid else 0.0


def timed_pull(base: str, data_dir: Path, page: int | None) -> Timed:
    """The terminal's ``pull_changes`` from its saved cursor to the feed's head."""
    store = open_store(data_dir, passphrase=PASSPHRASE)
    try:
        async def run() -> Timed:
            client = client_factory_for(store, PASSPHRASE)()
            try:
                await client.me()  # the connection made and the server warm: not timed
                cpu0, own0 = _server_cpu(base), time.process_time()
                t0 = time.perf_counter()
                report = await pull_changes(store, client, limit=page)
                seconds = time.perf_counter() - t0
                return Timed(seconds, report.pulled, report.applied, report.pages,
                             _server_cpu(base) - cpu0,
                             client_cpu_s=time.process_time() - own0)
            finally:
                await client.aclose()

        return asyncio.run(run())
    finally:
        store.close()


def raw_pull(base: str, token: str, after: int, page: int | None) -> Timed:
    """The same pages over HTTP with nothing applied (JSON parsed): the pull's limit. Without
    ``page``, the sizes the till asks for (sync/pull.py next_page_limit)."""
    limit: int | None = page
    got = pages = nbytes = 0
    with httpx.Client(base_url=base, timeout=120,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        c.get("/terminals/me").raise_for_status()  # warm, not timed
        t0 = time.perf_counter()
        for _ in range(1_000_000):  # bounded
            r = c.get("/sync/pull", params={"after": after, **({"limit": limit} if limit else {})})
            r.raise_for_status()
            body = r.json()
            pages += 1
            nbytes += len(r.content)
            got += len(body["changes"])
            after = body["cursor"]
            limit = next_page_limit(after, body.get("head"), page)  # the pages the till asks for
            if not body["has_more"] or not body["changes"]:
                break
        seconds = time.perf_counter() - t0
    return Timed(seconds, got, 0, pages, nbytes=nbytes)


def feed_documents(base: str, token: str, after: int) -> list[dict[str, Any]]:
    """The feed after ``after`` as PouchDB documents: one per change, its data as is."""
    docs: list[dict[str, Any]] = []
    seen: set[str] = set()
    with httpx.Client(base_url=base, timeout=120,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        for _ in range(1_000_000):
            body = c.get("/sync/pull", params={"after": after, "limit": 1000}).json()
            for ch in body["changes"]:
                doc_id = f"{ch['entity_type']}:{ch['entity_id']}"
                if doc_id in seen:  # a later version: still its own change to apply
                    doc_id = f"{doc_id}:{ch['position']}"
                seen.add(doc_id)
                docs.append({"_id": doc_id, "entity_type": ch["entity_type"],
                             "version": ch["version"], "deleted": ch["deleted"],
                             "data": ch["data"]})
            after = body["cursor"]
            if not body["has_more"] or not body["changes"]:
                return docs
    return docs


def timed_push(base: str, data_dir: Path) -> Timed:
    """The terminal's ``push_pending`` of everything queued in its outbox."""
    store = open_store(data_dir, passphrase=PASSPHRASE)
    try:
        queued = pending(store)

        async def run() -> Timed:
            client = client_factory_for(store, PASSPHRASE)()
            try:
                await client.me()  # the connection made and the server warm: not timed
                cpu0, own0 = _server_cpu(base), time.process_time()
                t0 = time.perf_counter()
                report = await push_pending(store, client)
                seconds = time.perf_counter() - t0
                return Timed(seconds, queued, report.applied, 0, _server_cpu(base) - cpu0,
                             client_cpu_s=time.process_time() - own0)
            finally:
                await client.aclose()

        out = asyncio.run(run())
        left = pending(store)
        if left:
            raise RuntimeError(f"the push left {left} operations pending")
        return out
    finally:
        store.close()


def wire_bytes(docs: list[dict[str, Any]]) -> float:
    """Mean JSON size of ``docs`` in bytes."""
    return sum(len(json.dumps(d, separators=(",", ":"))) for d in docs) / max(1, len(docs))


def loadavg() -> float:
    return os.getloadavg()[0]
