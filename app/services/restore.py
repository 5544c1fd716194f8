"""Putting a backup back in place of the till's store, never backwards in silence.

Why it compares first: a restore replaces the store, so what the current store holds
and the backup does not (sales made since, operations not yet synced) would be gone
from this till. Restore says what that is (:class:`Newer`) and goes on only when told
to (``force``); even then the current file is kept beside it, renamed, never deleted.
What the server already holds comes back at the next sync (sync/recovery.py): the
till's op_seq and receipt numbers continue after the server's, none is used twice.

Run it with the till closed (``tillsync restore``): the store must not be open.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.domain.words import count_of
from app.store import keys
from app.store.backup import RESTORED, BackupError, BackupHeader, open_backup, read_header
from app.store.crypto import PersonalDataCipher
from app.store.database import SIDE_FILES, private_file
from app.store.local import DB_FILE


class RestoreRefused(RuntimeError):
    """The restore would lose something the current store holds; said in words."""


@dataclass
class Newer:
    """What the current store holds that the backup does not."""

    orders: int = 0
    operations: int = 0
    unsynced: int = 0

    def __bool__(self) -> bool:
        return bool(self.orders or self.operations)

    def words(self) -> str:
        return (f"The current store holds {count_of(self.orders, 'order')} and "
                f"{count_of(self.operations, 'operation')} newer than this backup ({self.unsynced} not yet synced to the "
                "server: those would be lost). Restore with --force to go back anyway; the "
                "current file is kept beside it.")


@dataclass
class Restored:
    header: BackupHeader
    newer: Newer
    kept_as: Path | None


def _newer(current: Path, restored: sqlite3.Connection) -> Newer:
    """Orders and operations in ``current`` that the restored copy lacks."""
    cur = sqlite3.connect(current, timeout=30)
    try:
        orders = {r[0] for r in cur.execute("SELECT id FROM orders")}
        ops = dict(cur.execute("SELECT op_id, status FROM outbox").fetchall())
    finally:
        cur.close()
    orders -= {r[0] for r in restored.execute("SELECT id FROM orders")}
    for (op_id,) in restored.execute("SELECT op_id FROM outbox"):
        ops.pop(op_id, None)
    return Newer(len(orders), len(ops), sum(1 for v in ops.values() if v == "pending"))


def _load(data: bytes) -> sqlite3.Connection:
    """The backup's database in memory, to read (a WAL file's header says so in bytes 18
    and 19; in memory it must read as a rollback-journal file)."""
    readable = bytearray(data)
    readable[18:20] = b"\x01\x01"
    conn = sqlite3.connect(":memory:")
    conn.deserialize(bytes(readable))
    return conn


def _cipher(data_dir: Path, header: BackupHeader, passphrase: str | None) -> PersonalDataCipher:
    """The key the backup was sealed with: the current one, or one a rotation since
    retired (the store then re-seals its customers with the current key when it next
    opens, app/store/key_rotation.reseal_restored)."""
    loaded = keys.load_or_create(data_dir, header.device_id, passphrase, create=False)
    retired = keys.read_slot(data_dir, header.device_id, keys.RETIRED, passphrase)
    for key in (loaded.key, *retired):
        if keys.key_check(key) == header.key_check:
            return PersonalDataCipher(key)
    raise BackupError("This backup was sealed with another data key than the one found "
                      f"in the {loaded.source} (or any key it retired); restore that key "
                      "first (docs/backup-restore.md)")


def _set_aside(db: Path, now: datetime) -> Path | None:
    """Rename the current store (and its -wal/-shm) out of the way; never delete it."""
    if not db.exists():
        return None
    kept = db.with_name(f"{db.name}.before-restore-{now.strftime('%Y%m%dT%H%M%SZ')}")
    for suffix in ("", *SIDE_FILES):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    return kept


def _mark_restored(path: Path, header: BackupHeader) -> None:
    """Leave the mark that makes the till line up with the server before it pushes."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                         (RESTORED, header.taken_at))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for side in SIDE_FILES:
        path.with_name(path.name + side).unlink(missing_ok=True)


def restore(data_dir: Path, backup: Path, *, passphrase: str | None = None,
            force: bool = False) -> Restored:
    """Put ``backup`` in place of the store in ``data_dir`` (the till closed).

    RestoreRefused, saying what is newer, unless nothing is or ``force``."""
    data_dir = Path(data_dir)
    header = read_header(backup)
    data = open_backup(backup, _cipher(data_dir, header, passphrase))
    db = data_dir / DB_FILE
    conn = _load(data)
    try:
        newer = _newer(db, conn) if db.exists() and db.stat().st_size else Newer()
    finally:
        conn.close()
    if newer and not force:
        raise RestoreRefused(newer.words())
    kept = _set_aside(db, datetime.now(UTC))
    tmp = private_file(db.with_name(db.name + ".restoring"))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    _mark_restored(tmp, header)
    os.replace(tmp, db)
    return Restored(header, newer, kept)
