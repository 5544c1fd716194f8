"""Engine and session set-up for SQLite (default) and PostgreSQL, and running migrations."""

from __future__ import annotations

import logging
import os
import select
import stat
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import json_dumps
from server.journal.chain import watch

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Session options: writers take SQLite's write lock at BEGIN (no upgrade deadlocks);
# readers use a deferred BEGIN (and REPEATABLE READ on PostgreSQL for snapshots).
WRITE = {"sqlite_begin": "IMMEDIATE"}
READ = {"sqlite_begin": "DEFERRED"}
#: a connection for one statement that commits (or reads) alone: on PostgreSQL in
#: autocommit, which spares the BEGIN and the COMMIT (or the ROLLBACK at its return to
#: the pool), each a round trip of its own with psycopg
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def lone_statement(engine: Engine, sqlite: dict[str, Any] = READ) -> dict[str, Any]:
    """Execution options of a connection for a lone statement: :data:`AUTOCOMMIT` on
    PostgreSQL; ``sqlite`` (a transaction of that mode, as before) on SQLite, whose BEGIN
    costs no round trip and whose mode says which lock the statement takes first."""
    return AUTOCOMMIT if engine.dialect.name == "postgresql" else sqlite

# psycopg prepares a statement on the server once it has run five times, and PostgreSQL
# then keeps the plan it made for the table sizes of that moment. On a new database
# the push's id look-ups were planned while the tables were nearly empty: sequential
# scans, kept while orders grew into the thousands, so every push read every order,
# payment and stored result (PostgreSQL's CPU per push doubled within minutes, until
# ANALYZE). With this threshold psycopg never prepares a single statement (each is
# planned for the tables as they are); an executemany, whose rows all share one
# statement, is still prepared once (psycopg always prepares those).
PREPARE_ONLY_EXECUTEMANY = 2**31 - 1
#: ... unless the database plans every execution of a prepared statement for its values
#: (``plan_cache_mode = force_custom_plan``, set for the server's role or database:
#: docs/server-deploy.md "Prepared statements"): no plan is kept, and a statement run
#: twice on a connection is prepared (parsed once: ~1 ms of CPU less per back-office
#: order, benchmarks/notes/scale.md). Read on each new connection (``SHOW``), so a
#: pooler's server connections, which get the role's settings, decide alike; a session
#: ``SET`` is never relied on (PgBouncer's transaction pooling would not keep it).
PREPARE_WITH_CUSTOM_PLANS = 1
CUSTOM_PLANS = "force_custom_plan"
log = logging.getLogger("tillsync.server.db")


PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def private_sqlite_file(url: str) -> Path | None:
    """The SQLite database file of ``url`` made private to the server's user (0600)
    before SQLite opens it, whatever the umask (SQLite gives its -wal and -shm files the
    database file's mode); an existing file or companion with a looser mode is
    tightened. None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    if os.name != "posix":
        return path
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists() and stat.S_IMODE(side.stat().st_mode) != PRIVATE_FILE:
            os.chmod(side, PRIVATE_FILE)
    return path


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and explicit BEGIN modes, and
    its file is private (:func:`private_sqlite_file`)."""
    kwargs.setdefault("json_serializer", json_dumps)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        private_sqlite_file(url)
        pool = {} if in_memory else {"pool_size": 20, "max_overflow": 30}
        engine = create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, **pool, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    kwargs.setdefault("connect_args", {"prepare_threshold": PREPARE_ONLY_EXECUTEMANY})
    engine = create_engine(url, pool_size=20, max_overflow=20, **kwargs)
    check_liveness(engine)
    if kwargs["connect_args"].get("prepare_threshold") == PREPARE_ONLY_EXECUTEMANY:
        prepare_with_custom_plans(engine)
    return engine


def prepare_with_custom_plans(engine: Engine) -> None:
    """Each new connection prepares its statements (:data:`PREPARE_WITH_CUSTOM_PLANS`)
    only if its ``plan_cache_mode`` is ``force_custom_plan``; said once per engine."""
    told: list[str] = []

    @event.listens_for(engine, "connect")
    def _plans(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SHOW plan_cache_mode")
            row = cur.fetchone()
        mode = str(row[0]) if row else ""
        if dbapi_conn.info.transaction_status:  # (not idle: a pooler's or driver's BEGIN)
            dbapi_conn.rollback()
        if mode == CUSTOM_PLANS:
            dbapi_conn.prepare_threshold = PREPARE_WITH_CUSTOM_PLANS
        if mode not in told:
            told.append(mode)
            log.info("PostgreSQL plan_cache_mode is %s: %s", mode or "unknown",
                     "statements are prepared" if mode == CUSTOM_PLANS else
                     "single statements are not prepared (set plan_cache_mode = "
                     "force_custom_plan for the role to prepare them: "
                     "docs/server-deploy.md)")


#: a pooled connection unused for longer than this is pinged before it is handed out
PING_AFTER_IDLE_S = 30.0
_IDLE_SINCE = "tillsync_idle_since"


def check_liveness(engine: Engine, ping_after_idle_s: float | None = None) -> None:
    """Hand out no dead pooled connection, without a round trip per checkout.

    ``pool_pre_ping`` sent a ``SELECT 1`` at every checkout: three round trips per
    back-office order (the staff look-up, the reference, the order), each costing both
    processes CPU. A connection the server ended (``pg_terminate_backend``, a restart, an
    idle timeout) has its end waiting on the socket: PostgreSQL sends its FATAL message
    and closes. So a connection is pinged only when its socket has something to read
    (nothing should arrive on an idle connection) or it sat in the pool longer than
    :data:`PING_AFTER_IDLE_S` (a peer gone without a word); a failed ping, or a
    connection psycopg knows is closed, is replaced by a new one before it is used
    (tests/server/test_engine_liveness.py ends backends under a live pool)."""
    idle_limit = PING_AFTER_IDLE_S if ping_after_idle_s is None else ping_after_idle_s
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None:  # a new connection (or one never handed back)
            return
        if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
            raise exc.DisconnectionError("the connection was closed")
        if time.monotonic() - since < idle_limit and not _has_input(dbapi_conn):
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as error:  # any failure: a new connection, not an error answer
            raise exc.DisconnectionError(f"ping failed: {error}") from error


def _has_input(dbapi_conn: Any) -> bool:
    """Whether the idle connection's socket can be read (data, end of file or an error)
    without waiting: PostgreSQL said something, most likely goodbye."""
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # (no socket: closed)
        return True
    if not hasattr(select, "poll"):  # (Windows)
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def session_factories(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """(writer, reader) session factories sharing one pool."""
    writer = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)
    reader = sessionmaker(engine.execution_options(**READ), expire_on_commit=False)
    watch(writer)  # each commit chains its audit entries (docs/journal.md)
    return writer, reader


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def run_migrations(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (safe to call from many workers)."""
    command.upgrade(alembic_config(url), revision)
