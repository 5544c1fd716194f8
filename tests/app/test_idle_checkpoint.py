"""The WAL is copied into the database while the till is idle, not inside a sale."""

import shutil
import sqlite3
import time

from sqlalchemy import text

from app.store.database import Database, IdleCheckpointer


def _rows_in_main_file(db_path, tmp_path) -> int:
    copy = tmp_path / "main-only.sqlite"
    shutil.copy(db_path, copy)  # the main file alone, without its -wal
    con = sqlite3.connect(copy)
    try:
        return con.execute("SELECT count(*) FROM sync_state").fetchone()[0]
    finally:
        con.close()


def test_idle_checkpoint_moves_committed_rows_into_the_main_file(tmp_path):
    db = Database(tmp_path / "s.sqlite")
    db.checkpointer.stop()
    db.checkpointer = IdleCheckpointer(db.writer, idle_s=0.2)
    try:
        db.checkpointer.checkpoint()  # the schema made by the migrations, into the main file
        with db.write() as s:
            s.execute(text("INSERT INTO sync_state(key, value) VALUES ('k', 'v')"))
        assert _rows_in_main_file(db.path, tmp_path) == 0  # only in the WAL so far
        deadline = time.monotonic() + 5
        while _rows_in_main_file(db.path, tmp_path) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _rows_in_main_file(db.path, tmp_path) == 1
    finally:
        db.close()


def test_autocheckpoint_limit_is_raised_on_every_connection(tmp_path):
    db = Database(tmp_path / "s.sqlite")
    try:
        for session in (db.write, db.read):
            with session() as s:
                assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
    finally:
        db.close()
