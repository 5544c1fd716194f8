"""JWT signing keys with ids (issue 16, item 6): ``tillsync-server rotate-jwt-key`` adds a
key that signs from then on; tokens signed before keep working until they expire, so
staff signed in across a rotation stay signed in. A real server on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from argparse import Namespace
from datetime import timedelta

import jwt
import pytest

from app.domain.permissions import Role
from server.auth import jwt_keys
from server.config import Settings
from server.db.base import utcnow
from server.ops.cli import cmd_rotate_jwt_key
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import PASSWORD, RunningServer, make_tenant, running_server


def _me(srv: RunningServer, token: str) -> int:
    with srv.client() as c:
        return c.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _login(srv: RunningServer, staff_id: str) -> dict[str, str]:
    with srv.client() as c:
        r = c.post("/auth/login", json={"staff_id": staff_id, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()


def test_staff_signed_in_across_a_rotation_stay_signed_in(
        own_db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    secret = "rotation-" + uuid.uuid4().hex
    settings = Settings(database_url=own_db_url, jwt_secret=secret, argon2_time_cost=1,
                        argon2_memory_kib=8192, server_data_key=TEST_DATA_KEY,
                        rate_limit_per_second=10_000, rate_limit_burst=100_000,
                        webhook_urls=[])
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    monkeypatch.setenv("TILLSYNC_JWT_SECRET", secret)
    with running_server(settings) as srv, make_tenant(srv) as tenant:
        manager = tenant.staff[Role.MANAGER]
        before = _login(srv, manager)
        first_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        assert first_kid == jwt_keys.env_kid(secret)

        assert cmd_rotate_jwt_key(Namespace(db=own_db_url)) == 0  # tillsync-server rotate-jwt-key
        out = capsys.readouterr().out
        new_kid = out.split("new signing key ")[1].split(";")[0]
        assert f"key {first_kid} verifies the tokens it signed until" in out
        jwt_keys.ring(srv.ctx).reload()  # as every process does within RELOAD_S

        assert _me(srv, before["access_token"]) == 200  # still signed in
        with srv.client() as c:  # and the refresh gives a token of the new key
            r = c.post("/auth/refresh", json={"refresh_token": before["refresh_token"]})
            assert r.status_code == 200, r.text
            refreshed = r.json()["access_token"]
        assert jwt.get_unverified_header(refreshed)["kid"] == new_kid
        assert _me(srv, refreshed) == 200
        after = _login(srv, tenant.staff[Role.CASHIER])["access_token"]
        assert jwt.get_unverified_header(after)["kid"] == new_kid

        # a token of a key nobody holds, or signed with the old secret under a new kid
        forged = jwt.encode({**jwt.decode(after, options={"verify_signature": False})},
                            secret, algorithm="HS256", headers={"kid": new_kid})
        assert _me(srv, forged) == 401

        # once the old key's last token has expired, the old key no longer verifies
        with srv.ctx.writer.begin() as s:
            later = utcnow() + timedelta(seconds=settings.access_token_ttl_s + 3600)
            jwt_keys.rotate(s, settings, now=later)  # removes keys expired by then
        ring = jwt_keys.ring(srv.ctx)
        ring.reload()
        assert ring.secret_for(first_kid) is None
        assert _me(srv, before["access_token"]) == 401
        assert _me(srv, refreshed) == 200  # the second key verifies until its tokens expire
