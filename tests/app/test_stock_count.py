"""A count commit is one transaction, and committing the same count again never counts
twice: after an error on the third product, after a second click, after SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.demo import seed_catalog
from app.domain.permissions import Role
from app.services import catalog, inventory, stock_count
from app.store.local import DB_FILE, open_store
from app.store.models import OutboxOperation, Product, StockCount
from app.store.unit_of_work import Actor
from tests.app.count_crash_child import COUNTED, the_count
from tests.app.test_crash import LineReader
from tests.conftest import TEST_PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
CLERK = Actor("00000000-0000-7000-8000-000000000004", "Sam Stock", Role.STOCK)


def _products(store, n: int) -> list[str]:
    with store.db.read() as s:
        return list(s.scalars(select(Product.id).order_by(Product.id).limit(n)))


def _count_ops(store) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(OutboxOperation)
                        .where(OutboxOperation.type == "stock.adjust")) or 0


def test_a_failure_on_the_third_product_writes_nothing_and_the_retry_counts_once(
        store, monkeypatch) -> None:
    seed_catalog(store, 5)
    pids = _products(store, 5)
    session = stock_count.CountSession(store)
    for pid in pids:
        session.set_count(pid, 25_000)
    real_line, calls = stock_count._line, []

    def failing_line(m, item, *args):
        calls.append(item.product_id)
        if len(calls) == 3:
            raise OSError("disk went away")
        real_line(m, item, *args)

    monkeypatch.setattr(stock_count, "_line", failing_line)
    ops = _count_ops(store)
    with pytest.raises(OSError):
        stock_count.commit_count(store, CLERK, session)
    assert _count_ops(store) == ops  # nothing of the count was written
    monkeypatch.setattr(stock_count, "_line", real_line)
    stock_count.commit_count(store, CLERK, session)  # the same count, retried
    assert [catalog.on_hand_milli(store, pid) for pid in pids] == [25_000] * 5
    assert _count_ops(store) == ops + 5


def test_committing_the_same_count_again_writes_nothing(store) -> None:
    seed_catalog(store, 3)
    pids = _products(store, 3)
    session = stock_count.CountSession(store)
    for pid in pids:
        session.set_count(pid, 7000)
    again = stock_count.CountSession(store, count_id=session.count_id)
    for pid in pids:
        again.set_count(pid, 7000)
    moved = stock_count.commit_count(store, CLERK, session)
    ops = _count_ops(store)
    assert stock_count.commit_count(store, CLERK, again) == moved
    assert _count_ops(store) == ops
    assert [catalog.on_hand_milli(store, pid) for pid in pids] == [7000] * 3


def test_every_counted_product_is_sent_with_the_absolute_count(store) -> None:
    seed_catalog(store, 2)
    same, other = _products(store, 2)
    session = inventory.CountSession(store)
    session.set_count(same, catalog.on_hand_milli(store, same))  # matches the books
    session.set_count(other, 3000)
    assert inventory.commit_count(store, CLERK, session) == 1  # one differed
    with store.db.read() as s:
        ops = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "stock.adjust")
                        .order_by(OutboxOperation.op_seq)).all()
        payloads = [op.payload for op in ops[-2:]]
        assert s.get(StockCount, session.count_id).products == 2
    assert {p["product_id"] for p in payloads} == {same, other}
    assert {p["count_id"] for p in payloads} == {session.count_id}
    by_product = {p["product_id"]: p for p in payloads}
    assert by_product[other]["counted_milli"] == 3000
    assert by_product[same]["qty_delta_milli"] == 0


@pytest.mark.slow
def test_a_count_killed_at_any_moment_and_retried_counts_once(tmp_path: Path,
                                                               no_keyring: None) -> None:
    data = tmp_path / "till"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    seed_catalog(store, 400)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TILLSYNC_KEY_PASSPHRASE": ""}
    rng = random.Random(18)
    outcomes = []
    # One process imports the app once and forks a till per attempt (count_crash_child):
    # a new interpreter per attempt cost more than the rest of the test.
    tills = subprocess.Popen([sys.executable, "-m", "tests.app.count_crash_child", str(data)],
                             cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, bufsize=0)
    assert tills.stdin is not None
    reader = LineReader(tills)
    try:
        for attempt in range(8):
            count_id = f"01900000-0000-7000-8000-{attempt:012d}"
            tills.stdin.write(f"GO {count_id}\n".encode())
            till_pid = int(reader.until("READY ")[0].split()[1])
            time.sleep(rng.uniform(0.0, 0.6))  # somewhere in the commit, or after it
            os.kill(till_pid, signal.SIGKILL)
            tills.stdin.write(b"REAP\n")
            reader.until("REAPED ")  # the till is gone (killed, or ended after DONE)
            con = sqlite3.connect(data / DB_FILE)
            written = con.execute("SELECT COUNT(*) FROM stock_counts WHERE id = ?",
                                  (count_id,)).fetchone()[0]
            con.close()
            outcomes.append(written)
            store = open_store(data, passphrase=TEST_PASSPHRASE)
            try:
                before = _count_ops(store)
                stock_count.commit_count(store, CLERK, the_count(store, count_id))  # the retry
                after = _count_ops(store)
                assert after - before == (0 if written else 400), (attempt, written)
                with store.db.read() as s:
                    assert s.scalar(select(func.count()).select_from(StockCount)
                                    .where(StockCount.id == count_id)) == 1
                    levels = set(s.scalars(select(func.sum(
                        stock_count.StockMovement.qty_delta_milli)).group_by(
                        stock_count.StockMovement.product_id)))
                assert levels == {COUNTED}, (attempt, sorted(levels)[:5])
            finally:
                store.close()
        tills.stdin.write(b"QUIT\n")
        tills.wait(timeout=30)
    finally:
        if tills.poll() is None:
            tills.kill()
            tills.wait()
    assert 0 in outcomes  # some kills did land inside the commit
