"""A damaged, cut-short, emptied or deleted till database, and a damaged key file: words,
never a traceback, and nothing written over what is left.

Each test damages a real SQLite file in a temporary directory the way a failing disk, a
full disk or a careless hand would: a page overwritten with random bytes, the file cut
short, emptied, deleted.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from app import demo
from app.store.database import StoreDamaged, StoreMissing
from app.store.keys import KEY_FILE, DamagedKeyFile, KeyUnavailable
from app.store.local import DB_FILE, open_store
from tests.conftest import TEST_PASSPHRASE

PAGE = 4096
RECOVERY = "When the database is damaged"


@pytest.fixture
def data(tmp_path: Path, no_keyring: None) -> Path:
    """A data directory with a closed store of 200 products (its WAL checkpointed)."""
    d = tmp_path / "data"
    store = open_store(d, passphrase=TEST_PASSPHRASE)
    demo.seed(store, 200)
    store.close()
    assert not (d / f"{DB_FILE}-wal").exists()
    return d


def _enroll(d: Path) -> None:
    """Mark the store enrolled, as sync/enroll.py does (the credential kept beside it)."""
    from sync import credentials

    store = open_store(d, passphrase=TEST_PASSPHRASE)
    with store.db.write() as s:
        s.execute(text("UPDATE device SET server_url = 'https://sync.example.com'"))
    credentials.save(d, credentials.TerminalCredential(store.device_id, "secret-token",
                                                       "https://sync.example.com"), TEST_PASSPHRASE)
    store.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(d: Path, error: type[Exception]) -> str:
    db = d / DB_FILE
    before = _digest(db) if db.exists() else None
    with pytest.raises(error) as exc:
        open_store(d, passphrase=TEST_PASSPHRASE)
    assert (_digest(db) if db.exists() else None) == before  # nothing was written to it
    message = str(exc.value)
    assert RECOVERY in message and "Traceback" not in message
    return message


def test_a_page_of_random_bytes_is_found_at_start_and_nothing_is_written(data: Path) -> None:
    db = data / DB_FILE
    pages = db.stat().st_size // PAGE
    with db.open("r+b") as fh:
        fh.seek(PAGE * (pages // 2))
        fh.write(os.urandom(PAGE))
    message = _refused(data, StoreDamaged)
    # A query that meets the page raises "database disk image is malformed"; quick_check
    # reports it as findings ("Page 70: btreeInitPage() ..."), said in the same words first.
    # Which one happens depends on what the overwritten page held (the schema decides).
    assert message.startswith(f"The till's database {db} is damaged (database disk image is malformed")
    assert "***" not in message and "\n" not in message


def test_a_damaged_first_page_is_not_a_database(data: Path) -> None:
    db = data / DB_FILE
    with db.open("r+b") as fh:
        fh.write(os.urandom(PAGE))
    assert "(file is not a database)" in _refused(data, StoreDamaged)


def test_a_truncated_database_is_refused_in_words(data: Path) -> None:
    db = data / DB_FILE
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    assert "is damaged" in _refused(data, StoreDamaged)


def test_a_deleted_database_on_an_enrolled_till_is_not_replaced(data: Path) -> None:
    _enroll(data)
    for side in ("", "-wal", "-shm"):
        (data / f"{DB_FILE}{side}").unlink(missing_ok=True)
    message = _refused(data, StoreMissing)
    assert "is missing" in message and "enrolled with https://sync.example.com" in message
    assert "will not start a new, empty store" in message
    assert not (data / DB_FILE).exists()  # no new, empty, un-enrolled store was made


def test_an_emptied_database_on_an_enrolled_till_is_not_replaced(data: Path) -> None:
    _enroll(data)
    (data / DB_FILE).write_bytes(b"")
    assert "is empty" in _refused(data, StoreMissing)
    assert (data / DB_FILE).stat().st_size == 0
    # a valid but empty SQLite file (every table gone) is the same loss
    sqlite3.connect(data / DB_FILE).execute("PRAGMA user_version = 0").connection.close()
    with sqlite3.connect(data / DB_FILE) as conn:
        conn.execute("CREATE TABLE scratch (x)")
    assert "enrolled with" in _refused(data, StoreMissing)


def test_a_store_opened_once_is_remembered_too(tmp_path: Path, no_keyring: None) -> None:
    d = tmp_path / "fresh"
    open_store(d, passphrase=TEST_PASSPHRASE).close()
    (d / DB_FILE).unlink()
    assert "is missing" in _refused(d, StoreMissing)


@pytest.mark.parametrize("damage", [b"", b"{\"v\": 1, \"salt\": \"zz\"}", b"\x00\xff garbage"])
def test_a_damaged_key_file_is_said_in_words(data: Path, damage: bytes) -> None:
    (data / KEY_FILE).write_bytes(damage)
    with pytest.raises(DamagedKeyFile) as exc:
        open_store(data, passphrase=TEST_PASSPHRASE)
    assert str(exc.value).startswith(f"{data / KEY_FILE} is damaged")
    assert isinstance(exc.value, KeyUnavailable) and RECOVERY in str(exc.value)


def test_a_cut_short_key_file_is_said_in_words(data: Path) -> None:
    key = data / KEY_FILE
    key.write_bytes(key.read_bytes()[: key.stat().st_size // 2])
    with pytest.raises(DamagedKeyFile):
        open_store(data, passphrase=TEST_PASSPHRASE)


def test_damage_seen_while_running_refuses_every_later_write(data: Path) -> None:
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    try:
        db = data / DB_FILE
        with db.open("r+b") as fh:  # the disk fails under the running till
            for page in range(2, db.stat().st_size // PAGE):
                fh.seek(PAGE * page)
                fh.write(os.urandom(PAGE))
        store.db.writer.dispose()
        store.db.reader.dispose()  # new connections read the damaged file
        with pytest.raises(StoreDamaged, match="is damaged"), store.db.write() as s:
            s.execute(text("UPDATE products SET price = price + 1"))
        with pytest.raises(StoreDamaged, match=RECOVERY), store.db.write():
            pass  # refused before SQLite is asked again
    finally:
        store.close()


def test_the_idle_full_check_finds_damage_and_stops_writes(data: Path) -> None:
    import time

    from app.store.database import IdleCheckpointer

    store = open_store(data, passphrase=TEST_PASSPHRASE)
    try:
        store.db.checkpointer.stop()
        store.db.checkpointer = IdleCheckpointer(store.db.writer, idle_s=0.05,
                                                 full_check=store.db.full_check,
                                                 full_check_every_s=0.1)
        with store.db.write() as s:  # writes are fine until the check runs
            s.execute(text("UPDATE products SET price = price + 1"))
        db = data / DB_FILE
        with db.open("r+b") as fh:
            fh.seek(PAGE * (db.stat().st_size // PAGE // 2))
            fh.write(os.urandom(PAGE))
        deadline = time.monotonic() + 10
        while store.db.damage is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.db.damage is not None and "is damaged" in store.db.damage
        with pytest.raises(StoreDamaged, match=RECOVERY), store.db.write():
            pass
    finally:
        store.close()


def test_the_cli_says_what_happened_instead_of_a_traceback(data: Path, capsys,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.cli import main

    monkeypatch.setenv("TILLSYNC_KEY_PASSPHRASE", TEST_PASSPHRASE)
    (data / KEY_FILE).write_bytes(b"{")
    assert main(["--data-dir", str(data), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tillsync: {data / KEY_FILE} is damaged") and "Traceback" not in err

    db = data / DB_FILE
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 3)
    assert main(["--data-dir", str(data), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tillsync: The till's database {db} is damaged") and RECOVERY in err

    db.unlink()
    assert main(["--data-dir", str(data), "sync"]) == 2
    assert "is missing" in capsys.readouterr().err and not db.exists()
