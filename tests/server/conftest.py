"""A real Tillsync server on 127.0.0.1 (uvicorn in a thread), on SQLite and PostgreSQL.

The database is built by the Alembic migrations (create_app runs them). PostgreSQL gets
a uniquely named database per test session, dropped afterwards.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from server.config import Settings
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
def fresh_pg_database() -> Iterator[str]:
    """A new, uniquely named PostgreSQL database, dropped afterwards."""
    if not _ensure_pg():
        pytest.skip("PostgreSQL is not reachable and could not be started")
    name = f"tillsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own, on SQLite and on PostgreSQL (for a test that
    starts its own servers with settings of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    with fresh_pg_database() as url:
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
        argon2_time_cost=1,
        argon2_memory_kib=8192,
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
