"""Terminals (real local stores in tmp dirs) against a real server under uvicorn on 127.0.0.1.

The server is the project's own (server.main.create_app via tests/server/support.py),
on a fresh SQLite file built by its Alembic migrations. Tests marked with
``BACKENDS`` run a second time against a server on PostgreSQL (a database made for
the session with the helpers of tests/server/conftest.py, dropped afterwards;
skipped when PostgreSQL cannot be reached or started). The OS keyring is replaced
by an in-memory backend set with keyring.set_keyring, so tests never touch the
developer's keyring.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services.sales import SaleResult, record_sale
from app.store.local import LocalStore, open_store
from app.store.unit_of_work import Actor
from server.config import Settings
from server.tenancy import service as tenancy
from sync import credentials
from sync.client import SyncClient
from sync.enroll import enroll
from sync.service import SyncReport, SyncService, client_factory_for
from tests.conftest import fresh_store
from tests.server.support import RunningServer, Tenant, make_tenant, running_server


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in a dict (priority > 0, so app/store/keys.py accepts it)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.delenv("TILLSYNC_KEY_PASSPHRASE", raising=False)
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def _settings(database_url: str) -> Settings:
    from tests.server.conftest import TEST_DATA_KEY

    return Settings(
        database_url=database_url, server_data_key=TEST_DATA_KEY,
        # argon2id at the server tests' cost (tests/server/conftest.py): 1 MiB, not 8 MiB;
        # every tenant hashes 4 PINs, 4 passwords and 4 approval keys (whose cost follows)
        jwt_secret="sync-tests-" + uuid.uuid4().hex, argon2_time_cost=1, argon2_memory_kib=1024,
        rate_limit_per_second=10_000, rate_limit_burst=100_000, webhook_urls=[],
        pull_default_limit=50,
    )


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'server.db'}"
    with running_server(_settings(url)) as srv:
        yield srv


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[RunningServer]:
    import psycopg

    from tests.server import conftest as server_conftest

    if not server_conftest._ensure_pg():
        pytest.skip("PostgreSQL is not reachable and could not be started")
    name = f"tillsync_sync_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_conftest.PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        with running_server(_settings(url)) as srv:
            yield srv
    finally:
        with psycopg.connect(server_conftest.PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server(request: pytest.FixtureRequest) -> RunningServer:
    """The SQLite server, or the one named by ``BACKENDS`` (indirect parametrization)."""
    backend = getattr(request, "param", "sqlite")
    return request.getfixturevalue(f"{backend}_server")


# Run a test against the server on SQLite and on PostgreSQL.
BACKENDS = pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def tenant(server: RunningServer) -> Iterator[Tenant]:
    with make_tenant(server) as t:
        yield t


def enrollment_code(tenant: Tenant, store_id: str | None = None) -> str:
    with tenant.server.ctx.writer.begin() as s:
        code, _ = tenancy.create_enrollment_code(s, tenant.org_id, store_id or tenant.store_id, 600,
                                                 max_role=Role.OWNER)
    return code


@dataclass
class Till:
    store: LocalStore
    tenant: Tenant

    def actor(self, role: Role = Role.CASHIER) -> Actor:
        """The person of ``role``, as signed in: with the approval key their PIN gives."""
        staff_id = self.tenant.staff[role]
        return Actor(staff_id, f"{role.value} person", role,
                     approval_key=self.tenant.keys.get(staff_id))

    def sync(self, **kw: Any) -> SyncReport:
        return asyncio.run(self.service(**kw).run_once())

    def service(self, **kw: Any) -> SyncService:
        return SyncService(self.store, client_factory_for(self.store), **kw)

    def token(self) -> str:
        cred = credentials.load(self.store.data_dir, self.store.device_id)
        assert cred is not None
        return cred.token

    def client(self, base_url: str | None = None, **kw: Any) -> SyncClient:
        return SyncClient(base_url or self.store.device().server_url or "", self.token(), **kw)

    def sell(self, price: int = 250, qty_milli: int = 1000, product_id: str | None = None,
             name: str = "Coffee", pay: bool = True) -> SaleResult:
        cart = Cart(tax_inclusive=True)
        cart.add(CartLine(product_id=product_id, sku=None, name=name, unit_price=price,
                          tax_rate_ppm=200_000, qty_milli=qty_milli))
        tenders = [Tender(Method.CASH, cart.totals().total)] if pay else []
        return record_sale(self.store, self.actor(), cart, tenders)


def make_till(path: Path, tenant: Tenant, name: str = "Till", migrated: Path | None = None) -> Till:
    """A till enrolled in ``tenant``'s store (its data key in the keyring); its file a copy of
    ``migrated`` (the ``migrated_store_file`` fixture's) when given, else migrated here."""
    store = fresh_store(path, migrated, passphrase=None) if migrated else open_store(path)
    asyncio.run(enroll(store, tenant.server.base_url, enrollment_code(tenant), name))
    return Till(store, tenant)


@pytest.fixture
def till_factory(tmp_path: Path, tenant: Tenant, migrated_store_file: Path) -> Iterator[Any]:
    made: list[Till] = []

    def make(name: str = "Till") -> Till:
        till = make_till(tmp_path / f"{name}-{len(made)}", tenant, name, migrated_store_file)
        made.append(till)
        return till

    yield make
    for till in made:
        till.store.close()
