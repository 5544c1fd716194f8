"""An access token's signature is checked once per server process
(server.auth.deps.verified_claims): its later requests take the claims remembered,
while the token is unexpired and its key still verifies. Counted at PyJWT's
``jwt.decode`` on a real server, both databases; an expired token is refused though it
verified before (a key retired since: tests/server/test_jwt_rotation.py), and a
revoked sign-in still ends at once (current_staff reads the person every request)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from app.domain.permissions import Role
from server.config import Settings
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import make_tenant, running_server


def _settings(url: str, ttl_s: int = 900) -> Settings:
    return Settings(database_url=url, jwt_secret="test-secret-" + uuid.uuid4().hex,
                    argon2_time_cost=1, argon2_memory_kib=1024, access_token_ttl_s=ttl_s,
                    rate_limit_per_second=10_000, rate_limit_burst=100_000,
                    server_data_key=TEST_DATA_KEY)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    real = jwt.decode

    def counted(token: Any, *args: Any, **kw: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kw)

    monkeypatch.setattr(jwt, "decode", counted)
    return decoded


def test_a_token_is_verified_once_per_process(own_db_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with running_server(_settings(own_db_url)) as srv, make_tenant(srv) as tenant:
        manager, cashier = tenant.login(Role.MANAGER), tenant.login(Role.CASHIER)
        decoded = _counting(monkeypatch)
        with srv.client() as c:
            for _ in range(4):
                for headers in (manager, cashier):
                    assert c.get("/auth/me", headers=headers).status_code == 200
            assert len(decoded) == 2  # each token once
            # signed out everywhere: refused at once, the token's claims notwithstanding
            assert c.post("/auth/revoke-all", headers=cashier).status_code == 204
            r = c.get("/auth/me", headers=cashier)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
            forged = {"Authorization": manager["Authorization"][:-4] + "AAAA"}
            for _ in range(2):  # never remembered: decoded (and refused) every time
                assert c.get("/auth/me", headers=forged).status_code == 401
            assert len(decoded) == 4
            assert c.get("/auth/me", headers=manager).status_code == 200
            assert len(decoded) == 4


def test_an_expired_token_is_refused_though_it_verified_before(
        own_db_url: str) -> None:
    with running_server(_settings(own_db_url, ttl_s=2)) as srv, make_tenant(srv) as tenant:
        manager = tenant.login(Role.MANAGER)
        exp = jwt.decode(manager["Authorization"].split()[1],
                         options={"verify_signature": False})["exp"]
        with srv.client() as c:
            assert c.get("/auth/me", headers=manager).status_code == 200
            while time.time() < exp + 0.05:
                time.sleep(0.1)
            r = c.get("/auth/me", headers=manager)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
