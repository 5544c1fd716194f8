"""The persisted print queue and printer set-ups, in ``print_queue.sqlite``.

A print job is written here before anything is sent, with the bytes to print,
so a printer that is off, jammed or unplugged never loses a receipt: the job is
kept, failed with the reason, and can be retried or reprinted. The file is apart
from the store database so printing never takes the sales write lock. WAL and
``synchronous=FULL`` as for the store: a job that was queued survives a power cut.

A receipt's bytes name the customer, so they are not kept in clear: given the store's
cipher (``PrintService`` always gives it), every job's bytes are sealed with AES-GCM
under the terminal's customer-data key, bound to the job's id, and opened only to be
sent. A queue file from before (schema 1) is sealed when it is opened. Printed jobs
are deleted once older than :meth:`PrintQueue.keep_printed` (a setting kept in the
file, :data:`DEFAULT_KEEP_PRINTED` unless changed), when the queue opens and then at
most hourly; failed, pending and printing jobs are kept until someone acts. Deletes
and rewrites run with ``secure_delete`` on so the old bytes do not linger in free pages.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag

from app.domain.ids import new_id
from app.store.crypto import PersonalDataCipher
from app.store.database import private_dir, private_sqlite
from printing.connections import PrinterConfig

QUEUE_FILE = "print_queue.sqlite"
STATUSES = ("pending", "printing", "done", "failed")
SCHEMA_VERSION = 2  # 2: jobs.sealed, settings
STALE_PRINTING = timedelta(minutes=2)  # longer than any send: the sender died mid-job
DEFAULT_KEEP_PRINTED = timedelta(days=7)  # printed jobs kept this long (a reprint is made anew)
KEEP_PRINTED_SETTING = "keep_printed_days"
PRUNE_EVERY_S = 3600.0
_AAD = "print-job/"  # + job id: a sealed payload opens only as its own job's

SCHEMA = """
CREATE TABLE IF NOT EXISTS printers (
    name TEXT PRIMARY KEY,
    connection TEXT NOT NULL,
    address TEXT NOT NULL,
    port INTEGER NOT NULL,
    baudrate INTEGER NOT NULL,
    paper_mm INTEGER NOT NULL,
    open_drawer INTEGER NOT NULL,
    is_default INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    printer TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT,
    reference TEXT,
    payload BLOB NOT NULL,
    sealed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'printing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_jobs_printer_status_seq ON jobs (printer, status, seq);
CREATE INDEX IF NOT EXISTS ix_jobs_order_id ON jobs (order_id);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class PrintJobError(LookupError):
    """A job that cannot be handled as asked (unknown id, already printed, sealed under
    another key)."""


@dataclass(frozen=True)
class PrintJobView:
    """What the print-queue screen shows about a job (no payload)."""

    id: str
    printer: str
    kind: str  # receipt, refund, reprint, test
    order_id: str | None
    reference: str | None
    status: str  # pending, printing, done, failed
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class QueuedJob:
    """A job with its bytes, as the sender needs it."""

    view: PrintJobView
    payload: bytes


def _to_2(db: sqlite3.Connection) -> None:
    """Version 2: job bytes may be sealed (``jobs.sealed``); the settings table."""
    if "sealed" not in {r[1] for r in db.execute("PRAGMA table_info(jobs)")}:
        db.execute("ALTER TABLE jobs ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")


#: One step per version, applied in order to a file of an older version (its
#: ``user_version``); each is tested on a file saved by the release before it
#: (tests/printing/test_queue_upgrades.py, tests/fixtures/releases/).
UPGRADES: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = ((2, _to_2),)


def upgrade(db: sqlite3.Connection) -> int:
    """Bring the queue file to SCHEMA_VERSION in the caller's transaction; the version
    it had. A file from a newer version is refused rather than written in an old shape."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise PrintJobError(f"The print queue file was written by a newer Tillsync (version "
                            f"{found}, this one knows {SCHEMA_VERSION}); update Tillsync")
    for statement in SCHEMA.split(";"):  # tables new to a version are made here (IF NOT EXISTS)
        if statement.strip():
            db.execute(statement)
    for version, step in UPGRADES:
        if found < version:
            step(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _view(r: sqlite3.Row) -> PrintJobView:
    return PrintJobView(r["id"], r["printer"], r["kind"], r["order_id"], r["reference"], r["status"],
                        r["attempts"], r["last_error"], datetime.fromisoformat(r["created_at"]),
                        datetime.fromisoformat(r["updated_at"]))


def _config(r: sqlite3.Row) -> PrinterConfig:
    return PrinterConfig(r["name"], r["connection"], r["address"], r["port"], r["baudrate"],
                         r["paper_mm"], bool(r["open_drawer"]), bool(r["is_default"]))


class PrintQueue:
    """Jobs and printer set-ups in one SQLite file; safe to use from several threads.

    ``cipher`` is the store's customer-data cipher: job bytes are sealed with it. Without
    one (a tool or test with no store) they are written as given.
    """

    def __init__(self, path: Path, *, cipher: PersonalDataCipher | None = None) -> None:
        self.path = Path(path)
        self._cipher = cipher
        self._prune_lock = threading.Lock()
        self._pruned_at = 0.0
        private_dir(self.path.parent)  # jobs hold receipts: private like the store (0700/0600)
        private_sqlite(self.path)
        with self._tx() as db:
            upgrade(db)
        self.fail_interrupted()
        if self.seal_clear() + self.prune():
            self._checkpoint()  # the old pages, clear text and all, leave the file

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA secure_delete=ON")  # deleted and rewritten jobs leave no bytes behind
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, lock taken up front so two writers never deadlock."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def _checkpoint(self) -> None:
        with self._read() as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # sealing ----------------------------------------------------------------

    def _seal(self, job_id: str, payload: bytes) -> tuple[bytes, int]:
        """The at-rest form of a job's bytes and whether it is sealed."""
        if self._cipher is None or not payload:
            return payload, 0
        blob = self._cipher.encrypt(base64.b64encode(payload).decode("ascii"), field=_AAD + job_id)
        assert blob is not None  # a non-empty text always gives a ciphertext
        return blob, 1

    def _open(self, r: sqlite3.Row) -> bytes:
        stored = bytes(r["payload"])
        if not r["sealed"]:
            return stored
        if self._cipher is None:
            raise PrintJobError(f"Print job {r['id']} is sealed; open the queue with the store's key")
        try:
            text = self._cipher.decrypt(stored, field=_AAD + r["id"])
        except InvalidTag as exc:
            raise PrintJobError(
                f"Print job {r['id']} cannot be opened with this till's key (it was queued "
                "under another key, or damaged); print the receipt again from the order") from exc
        return base64.b64decode(text or "")

    def seal_clear(self) -> int:
        """Seal every job still kept in clear (a queue file from before sealing); how many."""
        if self._cipher is None:
            return 0
        with self._tx() as db:
            rows = db.execute("SELECT id, payload FROM jobs WHERE sealed = 0").fetchall()
            for r in rows:
                payload, sealed = self._seal(r["id"], bytes(r["payload"]))
                db.execute("UPDATE jobs SET payload = ?, sealed = ? WHERE id = ?",
                           (payload, sealed, r["id"]))
        return len(rows)

    # keeping printed jobs ---------------------------------------------------

    def keep_printed(self) -> timedelta:
        """How long a printed job is kept before :meth:`prune` deletes it."""
        with self._read() as db:
            r = db.execute("SELECT value FROM settings WHERE key = ?",
                           (KEEP_PRINTED_SETTING,)).fetchone()
        return timedelta(days=float(r["value"])) if r else DEFAULT_KEEP_PRINTED

    def set_keep_printed(self, keep: timedelta) -> None:
        """Keep printed jobs for ``keep`` (zero: delete them at the next prune)."""
        if keep < timedelta(0):
            raise ValueError("How long to keep printed jobs cannot be negative")
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                       (KEEP_PRINTED_SETTING, repr(keep / timedelta(days=1))))

    def prune(self) -> int:
        """Delete printed (done) jobs last touched longer ago than :meth:`keep_printed`;
        failed, pending and printing jobs stay until someone acts. Returns how many."""
        cutoff = (_now() - self.keep_printed()).isoformat()
        with self._tx() as db:
            cur = db.execute("DELETE FROM jobs WHERE status = 'done' AND updated_at < ?", (cutoff,))
        self._pruned_at = time.monotonic()
        return cur.rowcount

    def _maybe_prune(self) -> None:
        """:meth:`prune`, at most every :data:`PRUNE_EVERY_S` in a long-running till."""
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_S:
            return
        if self._prune_lock.acquire(blocking=False):
            try:
                self.prune()
            finally:
                self._prune_lock.release()

    # printers ---------------------------------------------------------------

    def printers(self) -> list[PrinterConfig]:
        with self._read() as db:
            return [_config(r) for r in db.execute("SELECT * FROM printers ORDER BY position, name")]

    def printer(self, name: str) -> PrinterConfig | None:
        with self._read() as db:
            r = db.execute("SELECT * FROM printers WHERE name = ?", (name,)).fetchone()
            return _config(r) if r else None

    def default_printer(self) -> PrinterConfig | None:
        """The printer marked default, else the first one set up."""
        printers = self.printers()
        return next((p for p in printers if p.default), printers[0] if printers else None)

    def save_printer(self, cfg: PrinterConfig) -> None:
        """Add or replace by name; marking one default unmarks the others."""
        cfg.validate()
        with self._tx() as db:
            if cfg.default:
                db.execute("UPDATE printers SET is_default = 0")
            pos = db.execute("SELECT position FROM printers WHERE name = ?", (cfg.name,)).fetchone()
            position = pos[0] if pos else db.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM printers").fetchone()[0]
            db.execute("INSERT OR REPLACE INTO printers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (cfg.name, cfg.connection, cfg.address.strip(), cfg.port, cfg.baudrate,
                        cfg.paper_mm, int(cfg.open_drawer), int(cfg.default), position))

    def remove_printer(self, name: str) -> None:
        """Forget a printer; its unsent jobs are kept and fail over on retry."""
        with self._tx() as db:
            db.execute("DELETE FROM printers WHERE name = ?", (name,))

    # jobs -------------------------------------------------------------------

    def add(self, printer: str, kind: str, payload: bytes, *, order_id: str | None = None,
            reference: str | None = None, status: str = "pending", error: str | None = None) -> str:
        job_id, now = new_id(), _now().isoformat()
        stored, sealed = self._seal(job_id, payload)
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs (id, printer, kind, order_id, reference, payload, sealed, status,"
                " attempts, last_error, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (job_id, printer, kind, order_id, reference, stored, sealed, status, error, now, now))
        return job_id

    def get(self, job_id: str) -> QueuedJob:
        with self._read() as db:
            r = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None:
            raise PrintJobError(f"No print job {job_id}")
        return QueuedJob(_view(r), self._open(r))

    def printers_with_pending(self) -> list[str]:
        with self._read() as db:
            rows = db.execute("SELECT printer FROM jobs WHERE status = 'pending' "
                              "GROUP BY printer ORDER BY MIN(seq)")
            return [r[0] for r in rows]

    def claim_next(self, printer: str) -> QueuedJob | None:
        """The printer's oldest pending job, marked printing, or None when it has none."""
        with self._tx() as db:
            r = db.execute("SELECT * FROM jobs WHERE printer = ? AND status = 'pending' "
                           "ORDER BY seq LIMIT 1", (printer,)).fetchone()
            if r is None:
                return None
            db.execute("UPDATE jobs SET status = 'printing', attempts = attempts + 1, updated_at = ? "
                       "WHERE id = ?", (_now().isoformat(), r["id"]))
        return self.get(r["id"])

    def finish(self, job_id: str, error: str | None) -> None:
        """Mark a sent job done, or failed with ``error``."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                       ("failed" if error else "done", error, _now().isoformat(), job_id))
        self._maybe_prune()

    def requeue(self, job_id: str, *, printer: str | None = None, payload: bytes | None = None,
                error: str | None = None) -> None:
        """Put a job back in its printer's line (or fail it again with ``error``)."""
        sets = ["status = ?", "updated_at = ?"]
        args: list[object] = ["failed" if error else "pending", _now().isoformat()]
        if error:
            sets.append("last_error = ?")
            args.append(error)
        if printer is not None:
            sets.append("printer = ?")
            args.append(printer)
        if payload is not None:
            stored, sealed = self._seal(job_id, payload)
            sets += ["payload = ?", "sealed = ?"]
            args += [stored, sealed]
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))

    def cancel(self, job_id: str) -> PrintJobView:
        """Drop a job that is waiting or failed (a person decided it is not wanted); returns it."""
        job = self.get(job_id).view
        if job.status not in ("pending", "failed"):
            raise PrintJobError("Only a waiting or failed job can be cancelled")
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE id = ? AND status IN ('pending', 'failed')", (job_id,))
        return job

    def jobs(self, status: str | None = None, limit: int = 100) -> list[PrintJobView]:
        """Newest first, optionally only one status."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with self._read() as db:
            rows = db.execute(f"SELECT * FROM jobs {where} ORDER BY seq DESC LIMIT ?", (*args, limit))
            return [_view(r) for r in rows]

    def fail_interrupted(self) -> int:
        """Jobs left 'printing' by a sender that died: failed, not resent on their own.

        The printer may have printed them already; a person decides whether to retry.
        """
        cutoff = (_now() - STALE_PRINTING).isoformat()
        with self._tx() as db:
            cur = db.execute("UPDATE jobs SET status = 'failed', last_error = ? "
                             "WHERE status = 'printing' AND updated_at < ?",
                             ("interrupted while printing; retry if the receipt did not come out", cutoff))
            return cur.rowcount
