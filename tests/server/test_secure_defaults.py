"""Issue 12, "Defaults that open the door": the server refuses default or missing secrets
in production mode, webhooks are never signed with an empty key and carry no customer
names, /docs, /openapi.json and /metrics are closed outside a local dev server, and every
answer carries the security headers (the push shortcut's too)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.domain.ids import new_id
from app.domain.permissions import Role
from server import cli
from server.config import InsecureSettingsError, Settings
from server.db.models import WebhookDelivery
from server.main import create_app
from server.security_headers import SecurityHeadersMiddleware
from server.webhooks import worker
from tests.server.conftest import TEST_DATA_KEY, fresh_pg_database
from tests.server.support import Receiver, RunningServer, Tenant, make_tenant, running_server

REAL_SECRET = "a-real-secret-" + "x" * 40


def _light(**kw: Any) -> Settings:
    return Settings(argon2_time_cost=1, argon2_memory_kib=8192, server_data_key=TEST_DATA_KEY,
                    **kw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def prod_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database and what makes a server on it production mode: PostgreSQL by itself;
    SQLite with a non-loopback bind (the refusal comes before any socket is opened)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/prod.db", {"bind_host": "0.0.0.0"}
        return
    with fresh_pg_database() as url:
        yield url, {}


# --- secrets at start ------------------------------------------------------------------


def test_production_refuses_the_default_jwt_secret(prod_url: tuple[str, dict[str, Any]]) -> None:
    url, mode = prod_url
    with pytest.raises(InsecureSettingsError) as info:
        create_app(_light(database_url=url, **mode))
    message = str(info.value)
    assert "TILLSYNC_JWT_SECRET" in message and "secrets.token_urlsafe" in message


@pytest.mark.parametrize("secret", ["", "short-but-not-default", "dev-insecure-change-me"])
def test_production_refuses_a_short_or_default_secret(secret: str, tmp_path: Any) -> None:
    settings = _light(database_url=f"sqlite:///{tmp_path}/x.db", jwt_secret=secret,
                      bind_host="192.0.2.10")  # a string only: nothing binds or connects
    with pytest.raises(InsecureSettingsError, match="TILLSYNC_JWT_SECRET"):
        create_app(settings)


def test_production_refuses_webhooks_without_a_secret(prod_url: tuple[str, dict[str, Any]]) -> None:
    url, mode = prod_url
    settings = _light(database_url=url, jwt_secret=REAL_SECRET,
                      webhook_urls=["https://hooks.example.com/x"], **mode)
    with pytest.raises(InsecureSettingsError) as info:
        create_app(settings)
    assert "TILLSYNC_WEBHOOK_SECRET" in str(info.value)
    assert "TILLSYNC_JWT_SECRET" not in str(info.value)


def test_forced_production_mode_on_loopback_sqlite(tmp_path: Any) -> None:
    settings = _light(database_url=f"sqlite:///{tmp_path}/x.db", production=True)
    with pytest.raises(InsecureSettingsError, match="TILLSYNC_PRODUCTION"):
        create_app(settings)


def test_dev_server_starts_with_a_loud_warning(tmp_path: Any,
                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = _light(database_url=f"sqlite:///{tmp_path}/dev.db")
    with caplog.at_level(logging.WARNING, logger="tillsync.server"):
        app = create_app(settings)
    assert app is not None
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("INSECURE" in m and "TILLSYNC_JWT_SECRET" in m for m in warned), warned


def test_serve_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``tillsync-server serve --host 0.0.0.0`` with no secret: exit 2, one line naming the
    variable, and uvicorn is never started."""
    import uvicorn

    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append((a, kw)))
    for name in ("TILLSYNC_JWT_SECRET", "TILLSYNC_BIND_HOST", "TILLSYNC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    code = cli.main(["serve", "--db", f"sqlite:///{tmp_path}/s.db", "--host", "0.0.0.0",
                     "--port", "8000"])
    err = capsys.readouterr().err
    assert code == 2 and started == []
    assert err.count("\n") == 1 and "TILLSYNC_JWT_SECRET" in err and "0.0.0.0" in err


def test_serve_drops_the_server_header_and_passes_tls(tmp_path: Any) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    args = cli.build_parser().parse_args(
        ["serve", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
         "--forwarded-allow-ips", "10.1.2.3"])
    options = cli.uvicorn_options(args)
    assert options["server_header"] is False
    assert options["ssl_certfile"] == str(cert) and options["ssl_keyfile"] == str(key)
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.1.2.3"
    missing = cli.build_parser().parse_args(["serve", "--ssl-certfile", str(tmp_path / "no")])
    with pytest.raises(cli.SetupError, match="no such file"):
        cli.uvicorn_options(missing)


# --- webhooks ------------------------------------------------------------------------------


def test_webhooks_are_never_signed_with_an_empty_key(tmp_path: Any) -> None:
    """A dev server with webhooks and no secret starts, but sends nothing: the deliveries
    wait (pending) for a secret instead of going out "signed" with an empty key."""
    with Receiver() as rec:
        settings = _light(database_url=f"sqlite:///{tmp_path}/wh.db", webhook_urls=[rec.url],
                          webhook_worker_enabled=False)
        with running_server(settings) as srv, make_tenant(srv) as t:
            t.term.push([t.term.order_create(t.staff[Role.CASHIER])])
            assert asyncio.run(worker.deliver_once(srv.ctx)) == 0
            assert rec.events_of(t.org_id) == []
            with srv.ctx.reader() as s:
                statuses = {d.status for d in s.query(WebhookDelivery).all()}
            assert statuses == {"pending"}


def test_webhook_bodies_name_customers_by_id_only(
    tenant: Tenant, receiver: Receiver, server: RunningServer
) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    name, phone, email = f"Siobhan {uuid.uuid4().hex[:6]}", "+353871234567", "s@example.ie"
    customer_id = new_id()
    create = term.order_create(cashier)
    create["payload"]["customer"] = {"id": customer_id, "name": name, "phone": phone,
                                     "email": email}
    term.push([create])
    deadline = time.monotonic() + 20
    bodies: list[bytes] = []
    while time.monotonic() < deadline:
        bodies = [r["body"] for r in receiver.events_of(tenant.org_id)
                  if json.loads(r["body"])["type"] == "offline_order.created"]
        if bodies:
            break
        time.sleep(0.1)
    assert bodies, "no offline_order.created delivery"
    body = bodies[0]
    for value in (name, phone, email):
        assert value.encode() not in body
    assert json.loads(body)["data"]["customer"] == {"id": customer_id}


# --- docs, metrics, headers --------------------------------------------------------------

DOCS = ("/docs", "/redoc", "/openapi.json")


def test_dev_server_opens_docs_and_metrics_to_local_requests_only(tmp_path: Any) -> None:
    settings = _light(database_url=f"sqlite:///{tmp_path}/dev.db")
    with running_server(settings) as srv, srv.client() as c:
        for path in (*DOCS, "/metrics"):
            assert c.get(path).status_code == 200, path
            # forwarded by a proxy on this machine: not local, so closed
            r = c.get(path, headers={"X-Forwarded-For": "203.0.113.7"})
            assert r.status_code == 404, path
        assert "swagger" in c.get("/docs").text.lower()


def test_production_closes_docs_and_puts_metrics_behind_a_token(
    prod_url: tuple[str, dict[str, Any]],
) -> None:
    url, mode = prod_url
    if mode:  # SQLite: forced production mode, since the test server binds loopback
        mode = {"production": True}
    settings = _light(database_url=url, jwt_secret=REAL_SECRET, metrics_token="m-" + "t" * 40,
                      **mode)
    with running_server(settings) as srv, srv.client() as c:
        for path in DOCS:
            assert c.get(path).status_code == 404, path
        r = c.get("/metrics")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": f"Bearer {settings.metrics_token}"})
        assert ok.status_code == 200 and "tillsync_http_requests_total" in ok.text
        assert c.get("/health").status_code == 200


def _call(app_settings: Settings, path: str, server: tuple[str, int] = ("127.0.0.1", 8000),
          headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, dict[bytes, bytes]]:
    """One request through the middleware around an app answering 200."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": path, "headers": headers or [],
             "client": ("127.0.0.1", 5555), "server": server, "scheme": "http",
             "query_string": b""}
    mw = SecurityHeadersMiddleware(inner, app_settings)
    asyncio.run(mw(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"])


def test_the_gates_without_a_server() -> None:
    prod = Settings(database_url="postgresql+psycopg://h/d", jwt_secret=REAL_SECRET)
    assert _call(prod, "/metrics")[0] == 404  # production, no token: off
    assert _call(prod, "/openapi.json")[0] == 404
    assert _call(prod.model_copy(update={"public_docs": True}), "/openapi.json")[0] == 200
    assert _call(prod.model_copy(update={"public_metrics": True}), "/metrics")[0] == 200
    dev = Settings(database_url="sqlite:///x.db")
    assert _call(dev, "/metrics")[0] == 200
    assert _call(dev.model_copy(update={"public_docs": False}), "/docs")[0] == 404
    # a dev server (secrets never checked) reached on a LAN address refuses everything
    status, headers = _call(dev, "/health", server=("10.0.0.5", 8000))
    assert status == 503 and headers[b"x-frame-options"] == b"DENY"


def _assert_headers(r: httpx.Response, *, tls: bool = False) -> None:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert h["cache-control"] == "no-store"
    assert ("strict-transport-security" in h) is tls


def test_every_answer_carries_the_security_headers(tenant: Tenant, server: RunningServer) -> None:
    term = tenant.term
    with server.client() as c:
        _assert_headers(c.get("/health"))
        _assert_headers(c.get("/auth/me"))  # 401
        r = c.post("/sync/push", json={"operations": [term.order_create(
            tenant.staff[Role.CASHIER])]}, headers=term.headers)  # the fast push path
        assert r.status_code == 200
        _assert_headers(r)
        _assert_headers(c.get("/offline-orders", headers=tenant.login(Role.MANAGER)))
        # behind a trusted proxy (loopback) that says https: HSTS
        _assert_headers(c.get("/health", headers={"X-Forwarded-Proto": "https"}), tls=True)
        docs = c.get("/docs")  # open on the shared test server (public_docs)
        assert docs.status_code == 200
        assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
