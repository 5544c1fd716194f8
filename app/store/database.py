"""Opening the local SQLite store: durability pragmas, write locking, migrations.

One file in WAL mode with ``synchronous=FULL`` (a commit that returned survives a
power cut), foreign keys on and a busy timeout. Writers take the lock up front
(``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read lock; readers
use a second engine with ordinary deferred transactions, which WAL lets run
alongside a writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # alembic is imported only when a migration is due
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration; tests/app/test_migrations.py checks it is Alembic's head.
HEAD_REVISION = "0002"
BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger(__name__)

# SQLite's automatic WAL checkpoint runs inside whichever commit crosses the limit,
# so a cashier's sale would now and then pay for copying the log into the database.
# The limit is raised (WAL up to ~40 MB) and the store checkpoints when the till is
# idle instead (IdleCheckpointer). Durability is unchanged: a commit is synced to
# the WAL with synchronous=FULL either way.
WAL_AUTOCHECKPOINT_PAGES = 10_000
IDLE_CHECKPOINT_AFTER_S = 2.0

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}",
)


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

    def __init__(self, engine: Engine, idle_s: float = IDLE_CHECKPOINT_AFTER_S) -> None:
        self._engine = engine
        self._idle_s = idle_s
        self._last_write = time.monotonic()
        self._dirty = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        self._last_write = time.monotonic()
        self._dirty = True

    def checkpoint(self) -> None:
        raw = self._engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            raw.close()
        self._dirty = False

    def _run(self) -> None:
        while not self._stop.wait(self._idle_s / 2):
            if self._dirty and time.monotonic() - self._last_write >= self._idle_s:
                try:
                    self.checkpoint()
                except Exception:  # a busy database: try again at the next idle moment
                    log.debug("idle checkpoint skipped", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Database:
    """The two engines over one store file and the sessions made from them."""

    def __init__(self, path: Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = _make_engine(self.path, immediate=True)
        self.reader = _make_engine(self.path, immediate=False)
        if migrate:
            upgrade(self.writer)
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        self.checkpointer = IdleCheckpointer(self.writer)

    def set_cipher(self, cipher: Any) -> None:
        """Give sessions the store's data cipher (personal data in outbox payloads is sealed)."""
        from app.store import outbox_crypto  # noqa: F401  (registers the sealing events)

        self._write_sessions.configure(info={"cipher": cipher})
        self._read_sessions.configure(info={"cipher": cipher})

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error."""
        try:
            with self._write_sessions() as session, session.begin():
                yield session
        finally:
            self.checkpointer.wrote()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.checkpointer.stop()
        self.writer.dispose()
        self.reader.dispose()
