"""A real Tillsync server on 127.0.0.1 (uvicorn in a thread), on SQLite and PostgreSQL.

The database is built by the Alembic migrations (create_app runs them). PostgreSQL gets
a uniquely named database per test session, dropped afterwards. A test's own database
(``own_db_url``) is a copy of one migrated once per test process (a copied SQLite file,
a PostgreSQL database made from a template): the 21 migrations ran once instead of once
per test; tests of the migrations themselves take ``pg_database`` or a file of their own.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from server.config import Settings
from server.db.engine import run_migrations
from tests.server.support import (
    Receiver,
    RunningServer,
    Tenant,
    make_tenant,
    running_server,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TEST_DATA_KEY = base64.b64encode(b"tillsync-test-data-key-32-bytes!").decode()


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _ensure_pg() -> bool:
    if _pg_reachable():
        return True
    try:
        versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            check=True, timeout=60, capture_output=True,
        )
    except (OSError, subprocess.SubprocessError, IndexError):
        return False
    return _pg_reachable()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with Receiver() as rec:
        yield rec


@contextmanager
def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """A new, uniquely named PostgreSQL database (empty, or a copy of the database named
    ``template``), dropped afterwards."""
    if not _ensure_pg():
        pytest.skip("PostgreSQL is not reachable and could not be started")
    name = f"tillsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite server database the migrations built, once per test process (copied)."""
    path = tmp_path_factory.mktemp("migrated") / "server.db"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_pg_template() -> Iterator[str]:
    """The name of a PostgreSQL database the migrations built, once per test process: the
    template of the tests' own databases (nobody connects to it after the migrations)."""
    with fresh_pg_database() as url:
        run_migrations(url)  # its engine is disposed: no connection is left to the template
        yield url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own with no rows, on SQLite and on PostgreSQL
    (for a test that starts its own servers with settings of its own): a copy of the
    migrated one of this test process. The servers' own start-up migrations find it at
    head, as a restarted server does."""
    if request.param == "sqlite":
        path = tmp_path / "server.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        yield f"sqlite:///{path}"
        return
    with fresh_pg_database(template=request.getfixturevalue("migrated_pg_template")) as url:
        yield url


@pytest.fixture
def pg_database() -> Iterator[str]:
    """An empty PostgreSQL database of the test's own."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def settings(db_url: str, receiver: Receiver) -> Settings:
    return Settings(
        database_url=db_url,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        # argon2id at its cheapest sensible cost: make_tenant hashes 4 PINs, 4 passwords and
        # 4 approval keys (their cost follows this one) per test; 1 MiB is 0.4 ms a hash
        # here, 8 MiB was 4 ms (the tests check what is hashed and verified, not the cost)
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        rate_limit_per_second=10_000,
        rate_limit_burst=100_000,
        webhook_urls=[receiver.url],
        webhook_secret="whsec-test",
        webhook_poll_interval_s=0.1,
        webhook_backoff_base_s=0.2,
        server_data_key=TEST_DATA_KEY,
        # PostgreSQL is production mode; the shared server's tests read the docs and metrics
        public_docs=True,
        public_metrics=True,
    )


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[RunningServer]:
    with running_server(settings) as srv:
        yield srv


@pytest.fixture
def tenant(server: RunningServer) -> Iterator[Tenant]:
    """A fresh organisation with one store, one staff member per role and one terminal."""
    with make_tenant(server) as t:
        yield t
