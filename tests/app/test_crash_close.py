"""Kill -9 a till while it closes shifts, many times: never a half-closed shift, never a
reused or skipped Z number (issue 14). The child (tests/app/crash_close_child.py) opens,
trades a little and closes shifts in a loop; the parent SIGKILLs it at random moments,
then checks the file: each shift is open with no Z at all, or closed with its Z number,
report, audit entry and exactly one ``shift.close`` operation; the Z numbers are 1..N;
every Z the child was told was made is there."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store.audit import verify_chain
from app.store.database import Database
from app.store.local import DB_FILE, open_store
from tests.app.test_crash import ROOT, LineReader
from tests.conftest import TEST_PASSPHRASE

KILLS = 30
TIME_BUDGET_S = 300  # generous: the machine is shared; the kills, not the speed, are the point


def check_shifts(path: Path, device_id: str) -> list[int]:
    """Every invariant of the shifts after a crash; returns the Z numbers made."""
    con = sqlite3.connect(path)
    try:
        q = lambda sql, *a: con.execute(sql, a).fetchall()  # noqa: E731
        assert q("PRAGMA integrity_check") == [("ok",)]
        closes = {}
        for entity_id, payload in q("SELECT entity_id, payload FROM outbox WHERE type = 'shift.close'"):
            assert entity_id not in closes, f"two closes of shift {entity_id}"
            closes[entity_id] = json.loads(payload)["z_number"]
        audits = {r[0] for r in q("SELECT entity_id FROM audit_log WHERE action = 'shift.close'")}
        zs = []
        for sid, status, z, report, counted, closed_at in q(
                "SELECT id, status, z_number, report, counted_cash, closed_at FROM shifts"):
            if status == "open":
                assert (z, report, counted, closed_at) == (None, None, None, None), sid
                assert sid not in closes and sid not in audits, sid
            else:
                assert status == "closed" and None not in (z, report, counted, closed_at), sid
                assert closes.get(sid) == z == json.loads(report)["z_number"], (sid, z)
                assert sid in audits, sid
                zs.append(z)
        assert len(q("SELECT id FROM shifts WHERE status = 'open'")) <= 1
        assert sorted(zs) == list(range(1, len(zs) + 1)), sorted(zs)  # gap-free, none twice
        n_ops = q("SELECT COUNT(*) FROM outbox")[0][0]
        assert [r[0] for r in q("SELECT op_seq FROM outbox ORDER BY op_seq")] == list(range(1, n_ops + 1))
    finally:
        con.close()
    db = Database(path, migrate=False)
    try:
        with db.read() as s:
            assert verify_chain(s, device_id) == []
    finally:
        db.close()
    return zs


def child_stderr(proc: subprocess.Popen) -> str:
    """Everything the child (and its tills) wrote on stderr: ends it first, so the read ends."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return proc.stderr.read().decode(errors="replace")


@pytest.mark.slow
def test_kill_9_during_closes_never_half_closes_or_reuses_a_z(tmp_path: Path, no_keyring: None) -> None:
    data = tmp_path / "till"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    device_id = store.device_id
    store.close()
    path = data / DB_FILE
    rng = random.Random(20261203)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TILLSYNC_KEY_PASSPHRASE": ""}
    started = time.monotonic()
    reported: set[int] = set()
    kills, zs = 0, []
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.app.crash_close_child", str(data)],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        bufsize=0)
    reader = LineReader(proc)

    def send(cmd: str) -> None:
        proc.stdin.write(cmd.encode() + b"\n")
        proc.stdin.flush()

    try:
        while kills < KILLS:
            assert time.monotonic() - started < TIME_BUDGET_S, f"only {kills} kills in the time budget"
            send(f"GO {rng.randrange(10**9)}")
            till_pid = int(reader.until("PID ")[0].split()[1])
            reader.until("READY")
            time.sleep(rng.uniform(0.02, 0.4))
            os.kill(till_pid, signal.SIGKILL)
            send("REAP")
            reaped, out = reader.until("REAPED ")
            status = int(reaped.split()[1])
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                raise AssertionError(
                    f"the till ended by itself ({status}) before the kill: {out[-3:]}\n"
                    f"its stderr:\n{child_stderr(proc)}")
            kills += 1
            reported.update(int(line.split()[1]) for line in out if line.startswith("Z "))
            zs = check_shifts(path, device_id)
            lost = reported - set(zs)
            assert not lost, f"Z reports made but missing after kill {kills}: {sorted(lost)[:5]}"
        send("QUIT")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(zs) >= KILLS, len(zs)  # the loop really did close shifts between the kills
