"""Upgrades on real old files (issue 16, item 5): every release's saved till files
(tests/fixtures/releases/<version>/till: store, print queue, scanner settings; made by
scripts/save_release_fixtures.py) open with the newest code, every row kept.

Why not only migrate down and up: that proves the migrations reverse, not that a file a
shop really has still opens. Each release adds its own directory."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from app.store.local import open_store
from app.store.models import Customer, OutboxOperation
from printing.queue import QUEUE_FILE, SCHEMA_VERSION, PrintQueue
from ui.config import SCANNER_VERSION, ScannerConfig, load_scanner, save_scanner

RELEASES = Path(__file__).resolve().parents[1] / "fixtures" / "releases"
SAVED = sorted(p for p in RELEASES.iterdir() if (p / "manifest.json").exists())
SKIP = ("products_fts",)  # the search index's own tables: rebuilt, not rows of the shop
#: work queues a server at start may empty (the journal's pending links): not kept data
TRANSIENT = frozenset({"journal_pending"})


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def kept(saved: dict[str, int], now: dict[str, int]) -> dict[str, tuple[int, int | None]]:
    """The tables whose saved rows are not all there any more."""
    return {t: (n, now.get(t)) for t, n in saved.items()
            if not t.startswith(SKIP) and t != "alembic_version" and t not in TRANSIENT
            and now.get(t, -1) < n}


def test_there_is_a_saved_release() -> None:
    assert SAVED, "tests/fixtures/releases/ holds no release (scripts/save_release_fixtures.py)"


@pytest.mark.parametrize("release", SAVED, ids=[p.name for p in SAVED])
def test_the_newest_code_opens_a_saved_till_with_every_row(
        release: Path, tmp_path: Path, no_keyring: None) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    data = tmp_path / "till"
    shutil.copytree(release / "till", data)
    store = open_store(data, passphrase=manifest["passphrase"])  # migrates to the newest
    try:
        assert kept(manifest["till"], counts(data / "tillsync.sqlite")) == {}
        with store.db.read() as s:
            names = {store.cipher.decrypt(c.name_enc, field="name")
                     for c in s.scalars(select(Customer))}
            assert "Ann Customer" in names
            waiting = s.scalars(select(OutboxOperation)
                                .where(OutboxOperation.status == "pending")).all()
            assert len(waiting) == 2 and all(op.payload for op in waiting)
        queue = PrintQueue(data / QUEUE_FILE, cipher=store.cipher)
        assert kept(manifest["print_queue"], counts(data / QUEUE_FILE)) == {}
        jobs = queue.jobs()
        assert len(jobs) == manifest["print_queue"]["jobs"]
        assert {queue.get(j.id).payload for j in jobs} >= {b"receipt 0\n"}
        assert [p.name for p in queue.printers()] == ["Front"]
    finally:
        store.close()
    scanner = load_scanner(data)
    saved = {k: v for k, v in manifest["scanner"].items() if k != "version"}
    assert {k: getattr(scanner, k) for k in saved} == saved


def test_a_version_1_print_queue_file_is_upgraded(tmp_path: Path) -> None:
    """The first queue format (no sealed column, user_version 0/1) opens at the current one."""
    path = tmp_path / QUEUE_FILE
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE printers (name TEXT PRIMARY KEY, connection TEXT NOT NULL, address TEXT
          NOT NULL DEFAULT '', port INTEGER NOT NULL DEFAULT 9100, baudrate INTEGER NOT NULL
          DEFAULT 9600, paper_mm INTEGER NOT NULL DEFAULT 80, open_drawer INTEGER NOT NULL
          DEFAULT 0, is_default INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER, printer TEXT NOT NULL, kind TEXT
          NOT NULL, order_id TEXT, reference TEXT, payload BLOB NOT NULL, status TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL);
        INSERT INTO jobs VALUES ('j1', 1, 'Front', 'receipt', NULL, 'R1', X'6869', 'failed', 1,
          'offline', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00');
        PRAGMA user_version = 1;""")
    conn.close()
    queue = PrintQueue(path)
    assert queue.get("j1").payload == b"hi"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_settings_of_version_1_upgrade_and_save_their_version(tmp_path: Path) -> None:
    (tmp_path / "scanner.json").write_text(json.dumps(
        {"max_interval_ms": 40, "prefix": None, "suffix": None, "serial_port": "COM3"}))
    config = load_scanner(tmp_path)
    assert (config.max_interval_ms, config.prefix, config.serial_port) == (40, "", "COM3")
    save_scanner(tmp_path, config)
    doc = json.loads((tmp_path / "scanner.json").read_text())
    assert doc["version"] == SCANNER_VERSION and load_scanner(tmp_path) == config
    assert ScannerConfig() == load_scanner(tmp_path / "none")
