"""Files that hold shop data are private: 0600 files in a 0700 directory, whatever the umask.

Under the common umask 022 a new file is 0644 and a new directory 0755 (readable by every
local user). The till's store, its -wal and -shm, the key file, the credential file, the
print queue and the store marker, and the server's SQLite file, are checked here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.store import keys
from app.store.local import open_store
from printing.queue import PrintQueue
from server.db.engine import make_engine
from tests.conftest import TEST_PASSPHRASE

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(data_dir: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in data_dir.iterdir()}


def _fill(data_dir: Path) -> None:
    """A store with a customer (the key file is used), a print job and a credential file."""
    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    with store.db.write() as s:
        s.execute(text("UPDATE device SET server_url = 'https://sync.example.com'"))
    PrintQueue(data_dir / "print_queue.sqlite").add("Front", "receipt", b"\x1b@hello")
    keys.seal_file(data_dir / "terminal-credential.enc", b"token", TEST_PASSPHRASE,
                   aad=b"x", field="data")
    store.close()


def test_terminal_files_are_private_under_umask_022(tmp_path: Path, umask_022: None,
                                                    no_keyring: None) -> None:
    data = tmp_path / "data"
    _fill(data)
    store = open_store(data, passphrase=TEST_PASSPHRASE)  # with its -wal and -shm open
    try:
        modes = _modes(data)
        assert mode(data) == 0o700
        expected = {"tillsync.sqlite", "tillsync.sqlite-wal", "tillsync.sqlite-shm",
                    keys.KEY_FILE, "terminal-credential.enc", "print_queue.sqlite", "store.json"}
        assert expected <= set(modes), modes
        assert {name: m for name, m in modes.items() if m != 0o600} == {}
    finally:
        store.close()


def test_looser_modes_are_tightened_at_start(tmp_path: Path, umask_022: None,
                                             no_keyring: None) -> None:
    from ui.cli import main

    data = tmp_path / "data"
    _fill(data)
    (data / "scanner.json").write_text("{}")
    (data / "exports").mkdir()
    (data / "exports" / "old.csv").write_text("sku\n")
    for p in [data, *data.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    os.environ[keys.PASSPHRASE_ENV] = TEST_PASSPHRASE
    try:
        assert main(["--data-dir", str(data), "status"]) == 0
    finally:
        del os.environ[keys.PASSPHRASE_ENV]
    assert mode(data) == 0o700 and mode(data / "exports") == 0o700
    assert {str(p.relative_to(data)): mode(p) for p in data.rglob("*")
            if p.is_file() and mode(p) != 0o600} == {}
    assert os.umask(0o022) == 0o022  # the CLI gave the process its umask back


def test_the_store_alone_tightens_its_own_files(tmp_path: Path, umask_022: None,
                                                no_keyring: None) -> None:
    data = tmp_path / "data"
    open_store(data, passphrase=TEST_PASSPHRASE).close()
    os.chmod(data, 0o755)
    os.chmod(data / "tillsync.sqlite", 0o644)
    os.chmod(data / keys.KEY_FILE, 0o644)
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    store.close()
    assert (mode(data), mode(data / "tillsync.sqlite"), mode(data / keys.KEY_FILE)) == (
        0o700, 0o600, 0o600)


def test_the_servers_sqlite_file_is_private(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "server.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        sides = {p.name: mode(p) for p in tmp_path.iterdir()}
    engine.dispose()
    assert sides["server.sqlite"] == 0o600 and sides.get("server.sqlite-wal", 0o600) == 0o600
    os.chmod(path, 0o644)
    make_engine(f"sqlite:///{path}").dispose()  # an existing looser file is tightened
    assert mode(path) == 0o600
