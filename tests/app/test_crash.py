"""Kill -9 a till in the middle of recording sales, many times: nothing is ever half-written.

A child process records sales in a loop as fast as it can (random carts, cash,
split and part payments, some customers). The parent SIGKILLs it at a random
moment, reopens the file and checks it: integrity, every order complete or
absent, op_seq and the audit chain dense and verifying, and every sale the
child reported as done is there.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.demo import seed_catalog
from app.store.audit import verify_chain
from app.store.database import Database
from app.store.local import DB_FILE, open_store
from tests.conftest import TEST_PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
KILLS = 50
TIME_BUDGET_S = 85


class LineReader:
    """Lines from a child's stdout with a timeout (select on the raw fd, our own buffer)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.buf = b""

    def until(self, prefix: str, timeout: float = 30.0) -> tuple[str, list[str]]:
        """Lines up to the first one starting with ``prefix``, and that line."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            while b"\n" in self.buf:
                raw, self.buf = self.buf.split(b"\n", 1)
                line = raw.decode()
                if line.startswith(prefix):
                    return line, seen
                seen.append(line)
            if time.monotonic() > deadline:
                break
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.buf += chunk
        self.proc.kill()
        raise AssertionError(f"child said no {prefix!r}: {seen[-5:]} {self.proc.stderr.read()}")


def check_store(path: Path, device_id: str) -> int:
    """Every invariant of a store after a crash; returns the number of orders."""
    con = sqlite3.connect(path)
    try:
        q = lambda sql, *a: con.execute(sql, a).fetchall()  # noqa: E731
        assert q("PRAGMA integrity_check") == [("ok",)]
        assert q("PRAGMA foreign_key_check") == []
        orders = q("SELECT id, reference, total, paid, status FROM orders")
        # Grouped once, not queried per order: the check stays linear in the number of
        # orders (stock_movements has no order_id index; per-order scans were quadratic).
        lines_of = {r[0]: r[1:] for r in q(
            "SELECT order_id, COUNT(*), COALESCE(SUM(total), 0), SUM(product_id IS NOT NULL) "
            "FROM order_lines GROUP BY order_id")}
        pays_of = {r[0]: r[1:] for r in q(
            "SELECT order_id, COUNT(*), COALESCE(SUM(amount), 0) FROM payments GROUP BY order_id")}
        moves_of = dict(q("SELECT order_id, COUNT(*) FROM stock_movements "
                          "WHERE order_id IS NOT NULL GROUP BY order_id"))
        audits_of: dict[str, list] = {}
        for eid, *rest in q("SELECT entity_id, json_extract(changes, '$.lines.after'), "
                            "json_extract(changes, '$.total.after') FROM audit_log"):
            audits_of.setdefault(eid, []).append(tuple(rest))
        ops_of: dict[str, list] = {}
        for eid, *rest in q("SELECT entity_id, type, json_array_length(payload, '$.lines'), "
                            "json_array_length(payload, '$.payments'), json_extract(payload, '$.reference') "
                            "FROM outbox"):
            ops_of.setdefault(eid, []).append(tuple(rest))
        for oid, ref, total, paid, status in orders:
            lines = lines_of.get(oid, (0, 0, None))
            pays = pays_of.get(oid, (0, 0))
            moves = moves_of.get(oid, 0)
            audits = audits_of.get(oid, [])
            ops = ops_of.get(oid, [])
            assert len(audits) == 1, (ref, audits)
            assert len(ops) == 1, (ref, ops)
            claimed_lines, claimed_total = audits[0]
            op_type, op_lines, op_pays, op_ref = ops[0]
            assert op_type == "order.create" and op_ref == ref
            assert lines[0] == claimed_lines == op_lines >= 1, (ref, lines, claimed_lines, op_lines)
            assert lines[1] == total == claimed_total, (ref, lines, total)
            assert moves == lines[2], (ref, moves, lines)
            assert pays[0] == op_pays and pays[1] == paid, (ref, pays, paid)
            assert status == ("completed" if paid >= total else "pending"), (ref, status, paid, total)
        # nothing left behind by an order that is absent
        for table, col in (("order_lines", "order_id"), ("payments", "order_id"),
                           ("stock_movements", "order_id")):
            assert q(f"SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL "
                     f"AND {col} NOT IN (SELECT id FROM orders)") == [(0,)], table
        # the shift the first sale opened by itself (the store's auto_open_shift): its op
        # and audit entry are the only others
        n_shifts = q("SELECT COUNT(*) FROM shifts")[0][0]
        assert n_shifts <= 1 and q("SELECT COUNT(*) FROM shifts WHERE status = 'open'") == [
            (n_shifts,)]
        assert q("SELECT type, COUNT(*) FROM outbox WHERE entity_id NOT IN (SELECT id FROM orders) "
                 "GROUP BY type") == ([("shift.open", 1)] if n_shifts else [])
        assert q("SELECT COUNT(*) FROM audit_log WHERE action = 'sale.record' "
                 "AND entity_id NOT IN (SELECT id FROM orders)") == [(0,)]
        # dense numbering, and the device row agrees with the rows
        n_orders = len(orders)
        n_ops = n_orders + n_shifts
        assert [r[0] for r in q("SELECT op_seq FROM outbox ORDER BY op_seq")] == list(range(1, n_ops + 1))
        assert [r[0] for r in q("SELECT seq FROM audit_log ORDER BY seq")] == list(range(1, n_ops + 1))
        ((op_seq, audit_seq, counter),) = q("SELECT op_seq, audit_seq, order_counter FROM device")
        assert op_seq == audit_seq == n_ops and counter == n_orders
        assert q("SELECT COUNT(DISTINCT reference) FROM orders") == [(n_orders,)]
    finally:
        con.close()
    db = Database(path, migrate=False)
    try:
        with db.read() as s:
            assert verify_chain(s, device_id) == []
    finally:
        db.close()
    return n_orders


@pytest.mark.slow
def test_kill_9_never_leaves_a_partial_sale(tmp_path: Path, no_keyring: None) -> None:
    data = tmp_path / "till"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    seed_catalog(store, 300)
    device_id = store.device_id
    store.close()
    path = data / DB_FILE
    rng = random.Random(20261123)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TILLSYNC_KEY_PASSPHRASE": ""}
    started = time.monotonic()
    reported: set[str] = set()
    orders = kills = 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.app.crash_child", str(data)],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        bufsize=0,
    )
    reader = LineReader(proc)

    def send(cmd: str) -> None:
        proc.stdin.write(cmd.encode() + b"\n")
        proc.stdin.flush()

    try:
        while kills < KILLS:
            assert time.monotonic() - started < TIME_BUDGET_S, f"only {kills} kills in the time budget"
            send(f"GO {rng.randrange(10**9)}")
            pid_line, _ = reader.until("PID ")
            till_pid = int(pid_line.split()[1])
            reader.until("READY")
            time.sleep(rng.uniform(0.05, 0.4))
            os.kill(till_pid, signal.SIGKILL)
            send("REAP")
            reaped, out = reader.until("REAPED ")
            status = int(reaped.split()[1])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                f"the till ended by itself ({status}) before the kill: {out[-3:]}"
            )
            kills += 1
            reported.update(line.split()[1] for line in out if line.startswith("DONE "))
            orders = check_store(path, device_id)
            con = sqlite3.connect(path)
            present = {r[0] for r in con.execute("SELECT reference FROM orders")}
            con.close()
            lost = reported - present
            assert not lost, f"sales reported done but missing after kill {kills}: {sorted(lost)[:5]}"
        send("QUIT")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the loop really did record sales between the kills
    assert orders >= KILLS, orders
    assert len(reported) >= KILLS, len(reported)
