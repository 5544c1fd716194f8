"""Restore drills (issue 16, item 3): a till restored from its own backup, and a server
restored from its backup, each counted order by order: 0 lost, 0 duplicated, 0
references used twice, no sale rejected, the quarantine empty.

Real parts: real till stores in tmp dirs, the real server under uvicorn on SQLite and on
PostgreSQL; the till's backup is made and restored by app/services (the sealed file),
the server's by SQLite's online backup or pg_dump/pg_restore.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import delete, select

from app.services.backup import BackupPolicy, backup_now
from app.services.restore import RestoreRefused, restore
from app.store.backup import RESTORED
from app.store.local import open_store
from app.store.models import Order, OutboxOperation, SyncState
from server.config import Settings
from server.db.models import Order as ServerOrder
from server.db.models import QuarantinedOp
from server.main import create_app
from tests.server.support import RunningServer, Tenant, make_tenant
from tests.sync.conftest import BACKENDS, Till, _settings, make_till


def server_orders(srv: RunningServer, store_id: str) -> list[tuple[str, str | None]]:
    with srv.ctx.reader() as s:
        return [(r.id, r.reference) for r in s.execute(
            select(ServerOrder.id, ServerOrder.reference).where(ServerOrder.store_id == store_id))]


def quarantined(srv: RunningServer, org_id: str) -> int:
    with srv.ctx.reader() as s:
        return len(s.scalars(select(QuarantinedOp.id).where(QuarantinedOp.org_id == org_id)).all())


def till_orders(till: Till) -> list[tuple[str, str]]:
    with till.store.db.read() as s:
        return [(r.id, r.reference) for r in s.execute(select(Order.id, Order.reference))]


def outbox_states(till: Till) -> Counter[str]:
    with till.store.db.read() as s:
        return Counter(s.scalars(select(OutboxOperation.status)))


def assert_no_repeats(pairs: list[tuple[str, str | None]]) -> None:
    ids = Counter(i for i, _ in pairs)
    refs = Counter(r for _, r in pairs)
    assert max(ids.values()) == 1, "an order twice"
    assert max(refs.values()) == 1, f"a reference used twice: {refs.most_common(3)}"


@BACKENDS
def test_till_restored_from_its_backup_loses_and_repeats_nothing(
        till_factory, tenant: Tenant, tmp_path: Path) -> None:
    till = till_factory("A")
    other = till_factory("B")
    before_backup = [till.sell(100 + i).order_id for i in range(5)]
    till.sync()
    backup = backup_now(till.store, BackupPolicy(directory=tmp_path / "backups")).path
    after_backup = [till.sell(200 + i).order_id for i in range(6)]
    till.sync()  # the server holds 11 of this till's sales; the backup 5
    data_dir = till.store.data_dir
    till.store.close()

    with pytest.raises(RestoreRefused) as refused:
        restore(data_dir, backup)
    assert "6 orders" in str(refused.value) and "0 not yet synced" in str(refused.value)
    done = restore(data_dir, backup, force=True)
    assert done.kept_as is not None and done.kept_as.exists()  # the newer file is kept aside
    till.store = open_store(data_dir)
    assert len(till_orders(till)) == 5

    offline = [till.sell(300 + i).order_id for i in range(4)]  # before the till syncs again
    report = till.sync()

    assert report.recovery is not None and report.recovery.till_restored
    assert report.recovery.renumbered == 4 and len(report.recovery.references) == 4
    assert report.push.rejected == [] and report.push.applied == 4
    assert outbox_states(till) == Counter({"done": 10})  # and the shift its first sale opened
    on_server = server_orders(tenant.server, tenant.store_id)
    assert_no_repeats(on_server)
    everyone = set(before_backup + after_backup + offline)
    assert {i for i, _ in on_server} >= everyone and len(on_server) == 15
    assert quarantined(tenant.server, tenant.org_id) == 0
    here = till_orders(till)  # the 6 sales only the server held are back on the till
    assert_no_repeats(here)
    assert {i for i, _ in here} == everyone
    assert dict(here) == {i: r for i, r in on_server if i in everyone}
    with till.store.db.read() as s:  # the next sale continues after every used number
        device = s.get(type(till.store.device()), till.store.device_id)
        assert device is not None and device.op_seq == 16  # 15 sales and the shift
    later = till.sell(999)
    assert till.sync().push.applied == 1
    assert_no_repeats(server_orders(tenant.server, tenant.store_id))
    other.sync()
    assert {i for i, _ in till_orders(other)} >= everyone | {later.order_id}


@BACKENDS
def test_till_copied_back_by_hand_lines_up_after_its_first_refused_push(
        till_factory, tenant: Tenant, tmp_path: Path) -> None:
    """A store file put back without ``tillsync restore`` (no mark): the first push of its
    new sales is refused (their op_seqs are used); the pull answer's device_seq shows the
    till is behind, and the same round moves them after the server's and applies them."""
    till = till_factory("A")
    first = [till.sell(100 + i).order_id for i in range(3)]
    till.sync()
    backup = backup_now(till.store, BackupPolicy(directory=tmp_path / "backups")).path
    second = [till.sell(200 + i).order_id for i in range(4)]
    till.sync()
    data_dir = till.store.data_dir
    till.store.close()
    restore(data_dir, backup, force=True)
    till.store = open_store(data_dir)
    with till.store.db.write() as s:  # as if the file had been copied back by hand
        s.execute(delete(SyncState).where(SyncState.key == RESTORED))
    offline = [till.sell(300 + i).order_id for i in range(2)]
    report = till.sync()
    assert report.recovery is not None and report.recovery.renumbered == 2
    assert outbox_states(till) == Counter({"done": 6})  # and the shift its first sale opened
    on_server = server_orders(tenant.server, tenant.store_id)
    assert_no_repeats(on_server)
    assert {i for i, _ in on_server} == set(first + second + offline)
    assert_no_repeats(till_orders(till))
    assert {i for i, _ in till_orders(till)} == set(first + second + offline)


# ---------------------------------------------------------------- the server restored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server_on(settings: Settings, port: int) -> Iterator[RunningServer]:
    """The real server on a port of our choosing: the restored one answers where the
    tills already point (tests/server/support.py's running_server takes any port)."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", loop="asyncio"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app.state.ctx, settings)
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()


class SqliteServerFile:
    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "server.db"
        self.url = f"sqlite:///{self.path}"
        self.saved = tmp / "server-backup.db"

    def back_up(self) -> None:  # online, while the server runs
        src, dst = sqlite3.connect(self.path), sqlite3.connect(self.saved)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()

    def put_back(self) -> None:
        for side in ("-wal", "-shm"):
            self.path.with_name(self.path.name + side).unlink(missing_ok=True)
        shutil.copyfile(self.saved, self.path)

    def drop(self) -> None:
        pass


class PostgresDatabase:
    """The drill of docs/server-deploy.md: pg_dump -Fc, then pg_restore into a new database."""

    def __init__(self, tmp: Path) -> None:
        from tests.server import conftest as server_conftest

        if not server_conftest._ensure_pg():
            pytest.skip("PostgreSQL is not reachable and could not be started")
        self.admin = server_conftest.PG_ADMIN
        self.name = f"tillsync_drill_{uuid.uuid4().hex[:10]}"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        self.saved = tmp / "server.dump"
        self._sql(f'CREATE DATABASE "{self.name}"')

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def back_up(self) -> None:
        subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f",
                        str(self.saved), self.name], check=True)

    def put_back(self) -> None:
        self._sql(f'DROP DATABASE "{self.name}" WITH (FORCE)')
        self._sql(f'CREATE DATABASE "{self.name}"')
        subprocess.run(["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "--no-owner",
                        "-d", self.name, str(self.saved)], check=True)

    def drop(self) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_server_restored_from_backup_gets_back_every_order(backend: str, tmp_path: Path) -> None:
    db = SqliteServerFile(tmp_path) if backend == "sqlite" else PostgresDatabase(tmp_path)
    settings = _settings(db.url)
    port = _free_port()
    try:
        with server_on(settings, port) as first, make_tenant(first) as tenant:
            a = make_till(tmp_path / "A", tenant, "A")
            b = make_till(tmp_path / "B", tenant, "B")
            early = [a.sell(100 + i).order_id for i in range(5)]
            early += [b.sell(150 + i).order_id for i in range(3)]
            a.sync(), b.sync()
            db.back_up()
            late = [a.sell(200 + i).order_id for i in range(6)]
            late += [b.sell(250 + i).order_id for i in range(4)]
            a.sync(), b.sync()
            a.sync()  # A has B's late sales too
            assert len(server_orders(first, tenant.store_id)) == 18
        first.ctx.engine.dispose()  # the server process is gone: no connection left open
        db.put_back()
        with server_on(settings, port) as restored:
            assert len(server_orders(restored, tenant.store_id)) == 8  # 10 synced sales lost
            # nothing waiting on A (its 11 sales and the shift the first opened)
            assert outbox_states(a) == Counter({"done": 12})
            report = a.sync()
            assert report.recovery is not None and report.recovery.server_restored
            assert report.recovery.resent == 6 and report.push.applied == 6
            b.sync()
            a.sync()  # B's resent sales come to A through the feed
            on_server = server_orders(restored, tenant.store_id)
            assert_no_repeats(on_server)
            assert {i for i, _ in on_server} == set(early + late)
            assert quarantined(restored, tenant.org_id) == 0
            for till in (a, b):
                here = till_orders(till)
                assert_no_repeats(here)
                assert {i for i, _ in here} == set(early + late), till.store.device().name
                assert set(outbox_states(till)) == {"done"}  # nothing rejected or waiting
            next_sale = a.sell(999).order_id
            assert a.sync().push.applied == 1
            assert next_sale in {i for i, _ in server_orders(restored, tenant.store_id)}
        a.store.close()
        b.store.close()
    finally:
        db.drop()
