"""The persisted print queue and printer set-ups, in ``print_queue.sqlite``.

A print job is written here before anything is sent, with the bytes to print,
so a printer that is off, jammed or unplugged never loses a receipt: the job is
kept, failed with the reason, and can be retried or reprinted. The file is apart
from the store database so printing never takes the sales write lock. WAL and
``synchronous=FULL`` as for the store: a job that was queued survives a power cut.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.domain.ids import new_id
from app.store.database import private_dir, private_sqlite
from printing.connections import PrinterConfig

QUEUE_FILE = "print_queue.sqlite"
STATUSES = ("pending", "printing", "done", "failed")
SCHEMA_VERSION = 1
STALE_PRINTING = timedelta(minutes=2)  # longer than any send: the sender died mid-job

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
    status TEXT NOT NULL CHECK (status IN ('pending', 'printing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_jobs_printer_status_seq ON jobs (printer, status, seq);
CREATE INDEX IF NOT EXISTS ix_jobs_order_id ON jobs (order_id);
"""


class PrintJobError(LookupError):
    """A job that cannot be handled as asked (unknown id, already printed)."""


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
    """Jobs and printer set-ups in one SQLite file; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)  # jobs hold receipts: private like the store (0700/0600)
        private_sqlite(self.path)
        with self._read() as db:  # executescript manages its own transaction
            db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        self.fail_interrupted()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
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
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs (id, printer, kind, order_id, reference, payload, status, attempts,"
                " last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (job_id, printer, kind, order_id, reference, payload, status, error, now, now))
        return job_id

    def get(self, job_id: str) -> QueuedJob:
        with self._read() as db:
            r = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None:
            raise PrintJobError(f"No print job {job_id}")
        return QueuedJob(_view(r), bytes(r["payload"]))

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

    def requeue(self, job_id: str, *, printer: str | None = None, payload: bytes | None = None,
                error: str | None = None) -> None:
        """Put a job back in its printer's line (or fail it again with ``error``)."""
        sets, args = ["status = ?", "updated_at = ?"], ["failed" if error else "pending", _now().isoformat()]
        if error:
            sets.append("last_error = ?")
            args.append(error)
        if printer is not None:
            sets.append("printer = ?")
            args.append(printer)
        if payload is not None:
            sets.append("payload = ?")
            args.append(payload)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))

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
