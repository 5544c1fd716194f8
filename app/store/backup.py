"""Backups of the till's store: one sealed file per backup, kept in rotation.

Why SQLite's online backup: it copies a consistent picture of the store while the till
keeps selling (a plain file copy of a WAL database can miss or tear the last commits).
The copy is made in memory and sealed with the store's data key before it touches the
disk, so a backup on a USB stick holds no customer data, sales or PIN hashes in clear;
restoring needs the same key (the keyring entry or data-key.enc, see docs/security.md).

File layout (``*.tsbk``): the line ``TILLSYNC-BACKUP 1``, the header's length (4 bytes,
big-endian), the header (JSON: device, time, op_seq, order counter, counts, key check),
then the sealed database. The header is bound into the seal: edit it and the file no
longer opens.

Rotation (:func:`keep_in_rotation`): the newest backup of each of the last ``daily``
days and of each of the last ``weekly`` ISO weeks is kept; older ones are deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag

from app.store.crypto import PersonalDataCipher
from app.store.database import private_dir, private_file

MAGIC = b"TILLSYNC-BACKUP 1\n"
SUFFIX = ".tsbk"
_FIELD = "tillsync/backup"
KEY_CHECK = "local.data_key_check"  # app/store/local.py's sync_state row
#: sync_state row a restore leaves in the restored store: the till asks the server where
#: it stands before its next push (sync/recovery.py)
RESTORED = "restored_from_backup"


class BackupError(RuntimeError):
    """A backup that cannot be made or opened, said in words."""


@dataclass(frozen=True)
class BackupHeader:
    """What a backup holds, readable without the key (no personal data)."""

    device_id: str
    taken_at: str  # ISO time, UTC
    op_seq: int
    order_counter: int
    orders: int
    operations: int
    key_check: str

    @property
    def taken(self) -> datetime:
        return datetime.fromisoformat(self.taken_at)


def _copy(db_path: Path) -> sqlite3.Connection:
    """A consistent in-memory copy of the store, by SQLite's online backup."""
    source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        memory = sqlite3.connect(":memory:")
        source.backup(memory)
    finally:
        source.close()
    return memory


def _header(conn: sqlite3.Connection, now: datetime) -> BackupHeader:
    key_check = conn.execute("SELECT value FROM sync_state WHERE key = ?",
                             (KEY_CHECK,)).fetchone()
    if key_check is None:
        raise BackupError("The store has no data-key check yet; open it once first")
    device_id, op_seq, counter = conn.execute(
        "SELECT id, op_seq, order_counter FROM device LIMIT 1").fetchone()
    orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    operations = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return BackupHeader(device_id, now.astimezone(UTC).isoformat(), op_seq, counter,
                        orders, operations, key_check[0])


def _field(header_bytes: bytes) -> str:
    return f"{_FIELD}:{hashlib.sha256(header_bytes).hexdigest()}"


def backup_name(taken: datetime) -> str:
    return f"tillsync-{taken.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"


def take_backup(db_path: Path, cipher: PersonalDataCipher, dest_dir: Path, *,
                now: datetime | None = None) -> Path:
    """Write a sealed backup of the store at ``db_path`` into ``dest_dir``; its path.

    Written beside its final name and renamed: a crash leaves no half backup."""
    now = now or datetime.now(UTC)
    memory = _copy(db_path)
    try:
        header = _header(memory, now)
        data = memory.serialize()
    finally:
        memory.close()
    header_bytes = json.dumps(asdict(header), sort_keys=True).encode()
    sealed = cipher.seal_bytes(data, field=_field(header_bytes))
    private_dir(dest_dir)
    final = dest_dir / backup_name(now)
    tmp = private_file(final.with_suffix(".part"))
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(header_bytes).to_bytes(4, "big") + header_bytes + sealed)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return final


def _split(path: Path) -> tuple[bytes, bytes]:
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise BackupError(f"{path} is not a Tillsync backup")
    start = len(MAGIC) + 4
    size = int.from_bytes(raw[len(MAGIC):start], "big")
    return raw[start:start + size], raw[start + size:]


def read_header(path: Path) -> BackupHeader:
    """The backup's header (no key needed; the sealed part is not read)."""
    with open(path, "rb") as f:
        start = f.read(len(MAGIC) + 4)
        if not start.startswith(MAGIC):
            raise BackupError(f"{path} is not a Tillsync backup")
        header_bytes = f.read(int.from_bytes(start[len(MAGIC):], "big"))
    try:
        return BackupHeader(**json.loads(header_bytes))
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{path} has a damaged header") from exc


def open_backup(path: Path, cipher: PersonalDataCipher) -> bytes:
    """The backup's database file, opened with the store's data key."""
    header_bytes, sealed = _split(path)
    try:
        return cipher.open_bytes(sealed, field=_field(header_bytes))
    except InvalidTag as exc:
        raise BackupError(f"{path} was not sealed with this till's data key, or it was "
                          "altered; restore the right key (docs/backup-restore.md)") from exc


def backups_in(dest_dir: Path) -> list[Path]:
    """The backups in ``dest_dir``, oldest first (their names sort by time)."""
    return sorted(dest_dir.glob(f"tillsync-*{SUFFIX}")) if dest_dir.is_dir() else []


def _taken(path: Path) -> datetime:
    stamp = path.name.removeprefix("tillsync-").removesuffix(SUFFIX)
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)


def keep_in_rotation(dest_dir: Path, *, daily: int = 7, weekly: int = 4,
                     today: date | None = None) -> list[Path]:
    """Delete backups outside the rotation; the ones deleted."""
    today = today or datetime.now(UTC).date()
    keep: dict[tuple[str, object], Path] = {}
    for path in backups_in(dest_dir):  # oldest first: a later one of a day replaces it
        day = _taken(path).date()
        if today - day < timedelta(days=daily):
            keep[("day", day)] = path
        if today - day < timedelta(weeks=weekly):
            keep[("week", tuple(day.isocalendar())[:2])] = path
    kept = set(keep.values())
    gone = [p for p in backups_in(dest_dir) if p not in kept]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
