"""Floods are limited by client address before any token is trusted, then by identity,
and on PostgreSQL the limit holds across server processes (issue 12).

Each test runs its own servers with a small limit (rate 1/s, burst 60) on a database of
its own, so the buckets never meet those of the session's server."""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack

import httpx
import pytest

from app.domain.permissions import Role
from server.config import Settings
from server.ratelimit import LEASE_TTL_S
from tests.server.conftest import TEST_DATA_KEY, fresh_pg_database
from tests.server.support import PINS, RunningServer, make_tenant, running_server

RATE, BURST = 1.0, 60


def _settings(url: str) -> Settings:
    return Settings(database_url=url, jwt_secret="flood-secret-" + secrets.token_hex(24),
                    argon2_time_cost=1, argon2_memory_kib=8192, rate_limit_per_second=RATE,
                    rate_limit_burst=BURST, webhook_urls=[], server_data_key=TEST_DATA_KEY)


def _client(srv: RunningServer, address: str = "127.0.0.1") -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.x.y.z is this machine)."""
    return httpx.Client(base_url=srv.base_url, timeout=60,
                        transport=httpx.HTTPTransport(local_address=address))


def _random_bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}


def _most_allowed(elapsed: float, processes: int = 1) -> float:
    """What one bucket lets through in ``elapsed`` seconds, plus the documented slack of
    shared leases (rate * LEASE_TTL_S) and one token of rounding per process."""
    return BURST + RATE * (elapsed + LEASE_TTL_S) + processes


def test_random_bearer_headers_from_one_address_are_limited(own_db_url: str) -> None:
    with running_server(_settings(own_db_url)) as srv, _client(srv) as c:
        start = time.monotonic()
        codes = [c.get("/auth/me", headers=_random_bearer()).status_code for _ in range(300)]
        codes += [c.post("/auth/login", headers=_random_bearer(),
                         json={"staff_id": "nobody", "pin": "1234"}).status_code
                  for _ in range(300)]
        elapsed = time.monotonic() - start
        limited = codes.count(429)
        assert len(codes) - limited <= _most_allowed(elapsed), (limited, elapsed)
        assert codes[-1] == 429  # sign-in included
        r = c.get("/auth/me", headers=_random_bearer())
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # another address is not held up by this one's flood
        with _client(srv, "127.0.0.2") as other:
            assert other.get("/auth/me").status_code == 401


def test_one_token_from_many_addresses_is_limited_by_identity(own_db_url: str) -> None:
    with running_server(_settings(own_db_url)) as srv, make_tenant(srv) as tenant:
        with _client(srv) as c:
            r = c.post("/auth/login", json={"staff_id": tenant.staff[Role.CASHIER],
                                            "pin": PINS[Role.CASHIER]})
            assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        with ExitStack() as stack:
            clients = [stack.enter_context(_client(srv, f"127.0.0.{i}"))
                       for i in range(10, 20)]
            start = time.monotonic()
            codes = [clients[i % 10].get("/auth/me", headers=auth).status_code
                     for i in range(200)]
            elapsed = time.monotonic() - start
        # each address alone stays far under its own limit (20 requests each)
        assert set(codes) == {200, 429}, codes
        assert codes.count(200) <= _most_allowed(elapsed), elapsed


@pytest.mark.postgres
@pytest.mark.parametrize("random_bearer", [False, True], ids=["no-token", "random-token"])
def test_two_server_processes_share_one_limit_on_postgres(random_bearer: bool) -> None:
    """Two create_app instances on one PostgreSQL database (as two uvicorn workers would
    be) together let through what one bucket allows, not twice as much."""
    with fresh_pg_database() as url, ExitStack() as stack:
        servers = [stack.enter_context(running_server(_settings(url))) for _ in range(2)]
        clients = [stack.enter_context(_client(s)) for s in servers]
        start = time.monotonic()
        codes = [clients[i % 2].get("/auth/me", headers=_random_bearer() if random_bearer
                                    else {}).status_code
                 for i in range(400)]
        elapsed = time.monotonic() - start
        allowed = len(codes) - codes.count(429)
        assert allowed <= _most_allowed(elapsed, processes=2), (allowed, elapsed)
        assert allowed >= BURST // 2, allowed  # leases never starve a client wholesale
        for srv in servers:
            limits = srv.ctx.extras["request_limits"]
            assert limits.shared  # type: ignore[attr-defined]
