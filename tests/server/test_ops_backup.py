"""``tillsync-server backup``: an online, checked copy of the SQLite database (issue 16,
item 4). PostgreSQL's drill (pg_dump/pg_restore) is in tests/sync/test_restore_drills.py."""

from __future__ import annotations

import sqlite3
import threading
from argparse import Namespace
from pathlib import Path

import pytest

from server.cli import SetupError, main
from server.ops.cli import cmd_backup


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in ("products", "feed_entries", "stock_levels", "staff")}
    finally:
        conn.close()


def test_backup_copies_every_row_while_the_database_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "server.db"
    url = f"sqlite:///{db}"
    assert main(["demo", "--db", url, "--products", "400",
                 "--code-file", str(tmp_path / "code.txt")]) == 0
    stop = threading.Event()

    def keep_writing() -> None:  # another writer, as pushes would be
        conn = sqlite3.connect(db, timeout=30)
        while not stop.is_set():
            with conn:
                conn.execute("UPDATE stores SET name = name")
        conn.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert cmd_backup(Namespace(db=url, dest=tmp_path)) == 0  # tillsync-server backup DIR
    finally:
        stop.set()
        writer.join()
    out = capsys.readouterr().out
    assert "backup written" in out and "checked" in out
    copy = next(tmp_path.glob("tillsync-server-*.db"))
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    assert _counts(copy) == _counts(db)
    assert _counts(copy)["products"] == 400
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with pytest.raises(SetupError, match="exists already"):  # never over an existing file
        cmd_backup(Namespace(db=url, dest=copy))


def test_backup_of_postgresql_points_at_pg_dump() -> None:
    with pytest.raises(SetupError, match="pg_dump -Fc"):
        cmd_backup(Namespace(db="postgresql+psycopg://postgres@127.0.0.1:5432/x", dest=Path(".")))
