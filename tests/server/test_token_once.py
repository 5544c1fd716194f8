"""A staff request's access token is decoded once (server.auth.deps.token_claims): the
rate limiter (server/middleware.py identity_key), the route's ``current_staff`` and the
access line's ids (server/logging_setup.py) share the claims in the request's state,
whichever looks first. With the rate limiter off the route decoded it and the access
line decoded it again. Counted at PyJWT's ``jwt.decode`` on a real server, wrapped as
``tillsync-server serve`` wraps it, with the access line on; both databases, the rate
limiter on and off. A token that does not verify is still refused."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import uvicorn

from app.domain.permissions import Role
from server import logging_setup
from server.config import Settings
from server.main import create_app
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import RunningServer, make_tenant
from tests.server.test_backoffice_limits import _body


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[RunningServer]:
    """The app under uvicorn in a thread, inside RequestIdentity as the CLI serves it."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        logging_setup.RequestIdentity(app, app.state.ctx), log_level="warning",
        lifespan="on", loop="asyncio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.ctx,
                            settings)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _access_lines() -> Iterator[_Lines]:
    """The access logger at INFO with the ids filter, as logging_setup.configure sets it."""
    access = logging.getLogger(logging_setup.ACCESS_LOGGER)
    lines, ids, level = _Lines(), logging_setup.IdentityFilter(), access.level
    access.addFilter(ids)
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        access.removeHandler(lines)
        access.removeFilter(ids)
        access.setLevel(level)


@pytest.mark.parametrize("limiter", [False, True], ids=["limiter-off", "limiter-on"])
def test_a_staff_request_decodes_its_token_once(own_db_url: str, limiter: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url=own_db_url, jwt_secret="test-secret-" + uuid.uuid4().hex,
                        argon2_time_cost=1, argon2_memory_kib=1024,
                        rate_limit_enabled=limiter, rate_limit_burst=100_000,
                        server_data_key=TEST_DATA_KEY)
    decoded: list[str] = []
    real = jwt.decode

    def counted(token: Any, *args: Any, **kw: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kw)

    with _serving(settings) as srv, make_tenant(srv) as tenant, _access_lines() as lines:
        tenant.seen_at(Role.MANAGER)  # works at the store's till
        headers = tenant.login(Role.MANAGER)
        monkeypatch.setattr(jwt, "decode", counted)
        with srv.client() as c:
            for _ in range(3):
                before = len(decoded)
                assert c.get("/auth/me", headers=headers).status_code == 200
                assert len(decoded) - before <= 1
                before = len(decoded)
                r = c.post("/offline-orders", headers=headers, json=_body(tenant))
                assert r.status_code == 201, r.text
                assert len(decoded) - before <= 1
            # (a token that verified is not decoded again: test_token_once_verified.py)
            assert len(decoded) == 1
            forged = {"Authorization": headers["Authorization"][:-4] + "AAAA"}
            r = c.get("/auth/me", headers=forged)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
            assert len(decoded) == 2  # never remembered, decoded once in its request
        served = [r for r in lines.records if isinstance(r.args, tuple)
                  and r.args[1] in ("/auth/me", "/offline-orders")]
        assert len(served) == 7
        # the ids of the access line, from the claims the request decoded once
        assert [r.org_id for r in served] == [tenant.org_id] * 6 + [None]  # type: ignore[attr-defined]
