"""Till backups (issue 16, item 2): sealed, in rotation, idle-timed; restore that says
what is newer and keeps the store it replaces. Real store files, the real CLI."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services.backup import BackupPolicy, IdleBackup, backup_now
from app.services.restore import RestoreRefused, restore
from app.services.sales import record_sale
from app.store import backup as files
from app.store.local import LocalStore, open_store
from app.store.models import Order
from app.store.unit_of_work import Actor
from tests.conftest import TEST_PASSPHRASE
from ui.cli import main as tillsync


def sell(store: LocalStore, actor: Actor, price: int = 250) -> str:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Tea", unit_price=price,
                      tax_rate_ppm=200_000, qty_milli=1000))
    return record_sale(store, actor, cart, [Tender(Method.CASH, cart.totals().total)]).order_id


def orders(store: LocalStore) -> set[str]:
    with store.db.read() as s:
        return set(s.scalars(select(Order.id)))


def test_a_backup_is_sealed_and_says_what_it_holds(store: LocalStore, actors, tmp_path: Path
                                                   ) -> None:
    for _ in range(3):
        sell(store, actors[Role.CASHIER])
    path = backup_now(store, BackupPolicy(directory=tmp_path / "b")).path
    raw = path.read_bytes()
    assert b"SQLite format 3" not in raw and b"Cashier" not in raw  # nothing in clear
    header = files.read_header(path)
    # op_seq: the shift the first sale opened (auto_open_shift) and the three sales
    assert (header.orders, header.op_seq, header.device_id) == (3, 4, store.device_id)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert files.open_backup(path, store.cipher).startswith(b"SQLite format 3")
    tampered = path.with_name("tampered" + files.SUFFIX)
    tampered.write_bytes(raw.replace(b'"orders": 3', b'"orders": 9'))
    with pytest.raises(files.BackupError, match="altered"):
        files.open_backup(tampered, store.cipher)


def test_rotation_keeps_a_week_of_days_and_a_month_of_weeks(tmp_path: Path) -> None:
    today = date(2026, 12, 3)
    for days_ago in range(0, 60):
        for hour in (2, 14):
            at = datetime(2026, 12, 3, hour, tzinfo=UTC) - timedelta(days=days_ago)
            (tmp_path / files.backup_name(at)).write_bytes(b"x")
    gone = files.keep_in_rotation(tmp_path, daily=7, weekly=4, today=today)
    kept = [files._taken(p) for p in files.backups_in(tmp_path)]
    assert len(gone) == 120 - len(kept)
    days = {k.date() for k in kept}
    assert {today - timedelta(days=d) for d in range(7)} <= days
    assert all(k.hour == 14 for k in kept)  # the newest of each day
    assert min(days) >= today - timedelta(weeks=4)
    weeks = {tuple(d.isocalendar())[:2] for d in days}
    assert len(weeks) == 5  # this week and the four before it (partly)


def test_restore_says_what_is_newer_and_keeps_the_file_it_replaces(
        store: LocalStore, actors, tmp_path: Path) -> None:
    cashier = actors[Role.CASHIER]
    first = {sell(store, cashier) for _ in range(2)}
    path = backup_now(store, BackupPolicy(directory=tmp_path / "b")).path
    later = {sell(store, cashier) for _ in range(3)}
    data_dir = store.data_dir
    store.close()
    with pytest.raises(RestoreRefused, match=r"3 orders and 3 operations.*3 not yet synced"):
        restore(data_dir, path, passphrase=TEST_PASSPHRASE)
    reopened = open_store(data_dir, passphrase=TEST_PASSPHRASE)  # untouched by the refusal
    assert orders(reopened) == first | later
    reopened.close()
    done = restore(data_dir, path, passphrase=TEST_PASSPHRASE, force=True)
    assert done.kept_as is not None and done.newer.orders == 3
    back = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    assert orders(back) == first
    back.close()
    assert done.kept_as.stat().st_size > 0


def test_idle_backup_waits_for_a_quiet_till_and_a_due_time(store: LocalStore, tmp_path: Path
                                                            ) -> None:
    idle = IdleBackup(store, BackupPolicy(directory=tmp_path / "b", idle_after_s=0.2))
    assert idle.tick() is None  # just used
    time.sleep(0.25)
    assert idle.tick() is not None  # idle, and no backup yet
    assert idle.tick() is None  # one a day
    assert len(files.backups_in(tmp_path / "b")) == 1


def test_the_cli_backs_up_and_restores(store: LocalStore, actors, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    sell(store, actors[Role.CASHIER])
    data_dir = store.data_dir
    store.close()
    key = tmp_path / "passphrase"
    key.write_text(TEST_PASSPHRASE)
    common = ["--data-dir", str(data_dir), "--key-passphrase-file", str(key)]
    assert tillsync([*common, "backup", "--to", str(tmp_path / "b")]) == 0
    assert "Backup written" in capsys.readouterr().out
    path = files.backups_in(tmp_path / "b")[0]
    assert tillsync([*common, "restore", str(path)]) == 0  # nothing newer: no --force needed
    assert "Restored the backup" in capsys.readouterr().out
