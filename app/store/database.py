"""Opening the local SQLite store: durability pragmas, write locking, migrations.

One file in WAL mode with ``synchronous=FULL`` (a commit that returned survives a
power cut), foreign keys on and a busy timeout. Writers take the lock up front
(``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read lock; readers
use a second engine with ordinary deferred transactions, which WAL lets run
alongside a writer.

The store's files are private to the till's user (0600 in a 0700 directory, whatever
the umask; looser modes found at start are tightened). At start the file is checked
(``PRAGMA quick_check``): a damaged store is refused with :class:`StoreDamaged`, and a
store whose file is gone or empty where a store used to be (:data:`STORE_MARKER`) with
:class:`StoreMissing`, never silently replaced by a new empty one. Their messages are
written for the person at the till and point to docs/terminal-setup.md. A write that
fails because the disk is full is :class:`app.store.disk.DiskFull`, in words.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.store.disk import disk_full

if TYPE_CHECKING:  # alembic is imported only when a migration is due
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration; tests/app/test_migrations.py checks it is Alembic's head.
HEAD_REVISION = "0012"
BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger(__name__)

# SQLite's automatic WAL checkpoint runs inside whichever commit crosses the limit,
# so a cashier's sale would now and then pay for copying the log into the database.
# The limit is raised (WAL up to ~40 MB) and the store checkpoints when the till is
# idle instead (IdleCheckpointer). Durability is unchanged: a commit is synced to
# the WAL with synchronous=FULL either way.
WAL_AUTOCHECKPOINT_PAGES = 10_000
IDLE_CHECKPOINT_AFTER_S = 2.0
FULL_CHECK_EVERY_S = 6 * 3600  # PRAGMA integrity_check at an idle moment, this often

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}",
)


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's companions of a database file
STORE_MARKER = "store.json"  # in the data directory: a store lives here (device, server)
RECOVERY = ('See "When the database is damaged" in docs/terminal-setup.md for the backup '
            "and the recovery steps.")


class StoreUnusable(RuntimeError):
    """The till's data cannot be used safely. The message says what happened and what to
    do; the CLI and the desktop show it instead of a traceback."""


class StoreDamaged(StoreUnusable):
    """The database file is damaged; nothing more is written to it."""


class StoreMissing(StoreUnusable):
    """The database file is gone or empty where a store used to be."""


def private_dir(path: Path) -> Path:
    """``path`` made if missing and set to 0700 (only the till's user can enter it)."""
    path.mkdir(parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty if missing, and set to 0600, before anything writes to it
    (SQLite gives the -wal and -shm files the database file's mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    tighten(path, PRIVATE_FILE)
    return path


def tighten_tree(data_dir: Path) -> None:
    """``data_dir`` and everything in it closed to other users (group and other bits
    taken off: files 0600, folders 0700), as left by an older version or a careless copy.
    Links are left alone. For the till's own data directory only."""
    tighten(data_dir, PRIVATE_DIR)
    for entry in data_dir.rglob("*"):
        if not entry.is_symlink():
            tighten(entry, PRIVATE_DIR)


def tighten(path: Path, mode: int = PRIVATE_FILE) -> None:
    """``path``'s permission bits outside ``mode`` taken off (never added; POSIX only)."""
    if os.name != "posix" or not path.exists():
        return  # Windows keeps a user's data private through the profile's ACLs
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        os.chmod(path, current & mode)


def _make_engine(path: Path, *, immediate: bool) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        for pragma in PRAGMAS:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", str(engine.url))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except Exception:  # a new, empty store
            return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations; a store already at head skips loading Alembic (faster start-up)."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


class IdleCheckpointer:
    """Copies the WAL into the database when no write happened for a while."""

    def __init__(self, engine: Engine, idle_s: float = IDLE_CHECKPOINT_AFTER_S, *,
                 full_check: Callable[[], None] | None = None,
                 full_check_every_s: float = FULL_CHECK_EVERY_S) -> None:
        self._engine = engine
        self._idle_s = idle_s
        self._last_write = time.monotonic()
        self._dirty = False
        self._full_check, self._full_every = full_check, full_check_every_s
        self._last_full = time.monotonic()  # the quick check ran at start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        self._last_write = time.monotonic()
        self._dirty = True

    def checkpoint(self) -> None:
        raw = self._engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            raw.close()
        self._dirty = False

    def _run(self) -> None:
        while not self._stop.wait(self._idle_s / 2):
            idle = time.monotonic() - self._last_write >= self._idle_s
            if self._dirty and idle:
                try:
                    self.checkpoint()
                except Exception:  # a busy database: try again at the next idle moment
                    log.debug("idle checkpoint skipped", exc_info=True)
            if idle and self._full_check and time.monotonic() - self._last_full >= self._full_every:
                self._last_full = time.monotonic()
                try:
                    self._full_check()
                except Exception:  # noqa: BLE001 - a busy file: the next idle moment
                    log.warning("idle integrity check skipped", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _is_damage(exc: BaseException) -> bool:
    """Whether SQLite said the file is corrupt (SQLITE_CORRUPT) or not a database (NOTADB)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in (11, 26)


def _damaged(path: Path, detail: object) -> str:
    return (f"The till's database {path} is damaged ({detail}). Tillsync will not write to "
            "it, so nothing more is lost; do not delete it. " + RECOVERY)


def check_integrity(path: Path, *, full: bool = False) -> bool:
    """SQLite's ``quick_check`` (``integrity_check`` when ``full``: indexes against their
    tables too) of the file at ``path`` over a read-only connection (the check itself
    never writes to a damaged file); StoreDamaged when it finds anything. Returns
    whether the file holds a store (its migrations table)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            pragma = "integrity_check" if full else "quick_check"
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
            store = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'alembic_version'").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            raise StoreDamaged(_damaged(path, exc)) from exc
        raise
    if rows != ["ok"]:
        raise StoreDamaged(_damaged(path, _findings(rows)))
    return store


def _findings(rows: list[str]) -> str:
    """The check's findings in the words SQLite uses when a read meets the damage
    ("database disk image is malformed"), then its first three findings on one line:
    the "*** in database main ***" headings and line breaks left out, so a damaged page
    found by the check reads like one found by a query."""
    found = [line.strip() for row in rows for line in row.splitlines()
             if line.strip() and not line.lstrip().startswith("***")]
    return "; ".join(["database disk image is malformed: " + (found[0] if found else "?"),
                      *found[1:3]])


def _marker(path: Path) -> dict[str, Any] | None:
    """What :data:`STORE_MARKER` says of the store that lives beside ``path``, if any."""
    try:
        doc = json.loads((path.parent / STORE_MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        doc = {}
    return doc if isinstance(doc, dict) else {}


def check_present(path: Path) -> None:
    """StoreMissing when ``path`` is gone or empty but a store lived in its directory."""
    if path.exists() and path.stat().st_size > 0:
        return
    marker = _marker(path)
    if marker is not None:
        raise StoreMissing(_missing(path, marker))


def _missing(path: Path, marker: dict[str, Any]) -> str:
    server = marker.get("server_url")
    was = (f"the store of device {marker.get('device_id', '?')}"
           + (f", enrolled with {server}" if server else ""))
    gone = "is missing" if not path.exists() else "is empty"
    return (f"The till's database {path} {gone}, but this data directory held {was}. "
            "Tillsync will not start a new, empty store in its place: sales not yet synced "
            "would be lost without a word" + (" and the till would no longer be enrolled"
                                              if server else "") + ". Restore the database "
            f"from the backup. {RECOVERY}")


def private_sqlite(path: Path) -> Path:
    """An SQLite file and its companions (-wal, -shm, -journal) private before it is opened."""
    private_file(path)
    for suffix in SIDE_FILES:
        tighten(path.with_name(path.name + suffix), PRIVATE_FILE)
    return path


class Database:
    """The two engines over one store file and the sessions made from them."""

    def __init__(self, path: Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        check_present(self.path)
        private_sqlite(self.path)
        has_store = check_integrity(self.path)
        marker = _marker(self.path)
        if marker is not None and not has_store:  # every table gone where a store was
            raise StoreMissing(_missing(self.path, marker))
        self.writer = _make_engine(self.path, immediate=True)
        self.reader = _make_engine(self.path, immediate=False)
        self.damage: str | None = None  # why writes are refused, once damage was seen
        self._opened = False
        try:
            if migrate:
                upgrade(self.writer)
            self.remember(enrolled_only=False)
        except BaseException:
            self.writer.dispose()
            self.reader.dispose()
            raise
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        self.checkpointer = IdleCheckpointer(self.writer, full_check=self.full_check)

    def full_check(self) -> None:
        """The full integrity check (run when the till is idle): damage found means no
        more writes (:class:`StoreDamaged`), as damage found at start does."""
        try:
            check_integrity(self.path, full=True)
        except StoreDamaged as exc:
            log.error("%s", exc)
            self.damage = str(exc)

    def remember(self, *, enrolled_only: bool = True) -> None:
        """Write :data:`STORE_MARKER` (device id, server) so that a store file that later
        goes missing is noticed (:class:`StoreMissing`)."""
        try:
            with self.writer.connect() as conn:
                row = conn.exec_driver_sql("SELECT id, server_url FROM device LIMIT 1").first()
        except DBAPIError:
            return  # no device table yet (a store not migrated)
        if row is None or (enrolled_only and not row[1]):
            return
        doc = {"device_id": row[0], "server_url": row[1], "database": self.path.name}
        marker = self.path.parent / STORE_MARKER
        if _marker(self.path) != doc:
            tmp = private_file(marker.with_suffix(".tmp"))
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(tmp, marker)

    def set_cipher(self, cipher: Any) -> None:
        """Give sessions the store's data cipher (personal data in outbox payloads is sealed)."""
        from app.store import outbox_crypto  # noqa: F401  (registers the sealing events)

        self._write_sessions.configure(info={"cipher": cipher})
        self._read_sessions.configure(info={"cipher": cipher})
        self._opened = True  # the store opened with its key: remembered at close

    def _refuse_damaged(self, exc: BaseException) -> None:
        if _is_damage(exc):
            self.damage = _damaged(self.path, getattr(exc, "orig", exc))
            raise StoreDamaged(self.damage) from exc
        full = disk_full(exc, self.path.parent)
        if full is not None:  # said in words; the transaction was rolled back, nothing half-written
            raise full from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error. Refused
        (StoreDamaged) once the file was found damaged."""
        if self.damage:
            raise StoreDamaged(self.damage)
        try:
            with self._write_sessions() as session, session.begin():
                yield session
        except (DBAPIError, sqlite3.Error) as exc:  # the ORM's, or a raw cursor's (rows.py)
            self._refuse_damaged(exc)
            raise
        finally:
            self.checkpointer.wrote()

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with self._read_sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            self._refuse_damaged(exc)
            raise

    def close(self) -> None:
        self.checkpointer.stop()
        if not self.damage:
            try:
                self.remember(enrolled_only=not self._opened)  # a new store, or one enrolled now
            except (OSError, DBAPIError):
                log.warning("could not write %s", STORE_MARKER, exc_info=True)
        self.writer.dispose()
        self.reader.dispose()
