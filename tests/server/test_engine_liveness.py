"""The pool hands out no dead PostgreSQL connection, without a round trip per checkout
(server/db/engine.py check_liveness): a connection whose backend was ended
(``pg_terminate_backend``, as a restart or an idle timeout would) is replaced before it
is used, and a connection used a moment ago is not pinged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.config import Settings
from server.db import engine as engine_module
from server.db.engine import make_engine
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import line, make_tenant, running_server

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _end_backends(url: str, pids: list[int] | None = None) -> int:
    """End these backends (every backend of the database but this one when None) and
    wait until they are gone."""
    with psycopg.connect(_plain(url), autocommit=True) as admin:
        if pids is None:
            pids = [r[0] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()")]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                            (pids,)).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the backends did not end"
            time.sleep(0.02)
    time.sleep(0.05)  # (their goodbye reaches the sockets)
    return len(pids)


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    eng = make_engine(pg_database)
    try:
        yield eng
    finally:
        eng.dispose()


def _pid(eng: Engine) -> int:
    with eng.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _counting_pings(eng: Engine) -> list[int]:
    pings: list[int] = []
    real = eng.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(1)
        return real(dbapi_conn)

    eng.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_a_pooled_connection_whose_backend_was_ended_is_replaced(engine: Engine,
                                                                  pg_database: str) -> None:
    before = _pid(engine)
    _end_backends(pg_database, [before])
    after = _pid(engine)  # no error: the dead connection was not handed out
    assert after != before


def test_every_pooled_connection_ended_at_once(engine: Engine, pg_database: str) -> None:
    """As after a server restart: each of several pooled connections is replaced."""
    held = [engine.connect() for _ in range(4)]
    pids = [int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in held]
    for conn in held:
        conn.close()
    assert _end_backends(pg_database) >= 4
    again = [engine.connect() for _ in range(4)]
    try:
        now = [int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in again]
    finally:
        for conn in again:
            conn.close()
    assert not set(now) & set(pids)


def test_a_connection_used_a_moment_ago_is_not_pinged(engine: Engine) -> None:
    pings = _counting_pings(engine)
    for _ in range(5):
        _pid(engine)
    assert pings == []  # pool_pre_ping sent a SELECT 1 at each of these checkouts


def test_a_connection_idle_for_long_is_pinged(monkeypatch: pytest.MonkeyPatch,
                                              pg_database: str) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    eng = make_engine(pg_database)
    try:
        pings = _counting_pings(eng)
        first = _pid(eng)
        assert _pid(eng) == first
        assert len(pings) == 1
    finally:
        eng.dispose()


def test_the_server_answers_after_its_backends_were_ended(pg_database: str) -> None:
    """A running server whose every database connection was ended answers the next
    requests (a sign-in, an order, a read) without an error."""
    settings = Settings(
        database_url=pg_database, jwt_secret="test-secret-" + uuid.uuid4().hex,
        argon2_time_cost=1, argon2_memory_kib=8192, rate_limit_per_second=10_000,
        rate_limit_burst=100_000, server_data_key=TEST_DATA_KEY)
    with running_server(settings) as server, make_tenant(server) as tenant:
        tenant.seen_at(Role.MANAGER)  # works at the store's till
        h = tenant.login(Role.MANAGER)
        with server.client() as c:
            assert c.get("/offline-orders", headers=h).status_code == 200
            for _ in range(2):
                assert _end_backends(pg_database) >= 1
                items = [line(None, 250)]
                oid = new_id()
                r = c.post("/offline-orders", headers=h, json={
                    "id": oid, "store_id": tenant.store_id, "currency": "EUR",
                    "tax_inclusive": True, "lines": items, "subtotal": items[0]["total"],
                    "discount": 0, "tax": items[0]["tax"], "total": items[0]["total"],
                    "created_at": datetime.now(UTC).isoformat()})
                assert r.status_code == 201, r.text
                assert c.get(f"/offline-orders/{oid}", headers=h).status_code == 200
            assert tenant.login(Role.MANAGER)
