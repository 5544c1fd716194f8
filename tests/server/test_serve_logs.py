"""Issue 19: ``tillsync-server serve`` logs one access line per request on stderr
(method, route template, status, time, request id, organization/store/terminal ids,
never a personal value), plain text by default, JSON lines with ``--log-format json``
or TILLSYNC_LOG_FORMAT=json. The server here is a real ``python -m server.cli serve``
process; the test reads what it writes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.permissions import Role
from server.main import build_context
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import PASSWORD, Tenant, make_tenant
from tests.server.test_tls_and_proxy import JWT_SECRET, TlsServer, free_port, settings_for

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+353871234567"


@contextlib.contextmanager
def serve(db_url: str, *args: str, env_extra: dict[str, str] | None = None
          ) -> Iterator[tuple[str, list[str]]]:
    """The server's base URL while it runs; the list gets its stderr lines once it stops."""
    port = free_port()
    env = dict(os.environ, TILLSYNC_JWT_SECRET=JWT_SECRET, TILLSYNC_SERVER_DATA_KEY=TEST_DATA_KEY,
               TILLSYNC_PRODUCTION="1", TILLSYNC_ARGON2_TIME_COST="1",
               TILLSYNC_ARGON2_MEMORY_KIB="8192", TILLSYNC_WEBHOOK_URLS="", **(env_extra or {}))
    env.pop("TILLSYNC_DATABASE_URL", None)
    if not env_extra or "TILLSYNC_LOG_FORMAT" not in env_extra:
        env.pop("TILLSYNC_LOG_FORMAT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--db", db_url, "--host", "127.0.0.1",
         "--port", str(port), *args],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"the server exited:\n{proc.stderr.read() if proc.stderr else ''}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield base, lines
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        lines.extend(line for line in err.splitlines() if line.strip())


def a_days_traffic(base: str, db_url: str) -> dict[str, Any]:
    """A till enrolled over the wire pushes a sale; a manager signs in and looks a
    customer up by phone. Returns the ids the log should show."""
    server = TlsServer(base, build_context(settings_for(db_url)), settings_for(db_url))
    try:
        with make_tenant(server) as tenant:
            term = tenant.term
            term.push([term.order_create(tenant.staff[Role.CASHIER], pay=True)])
            manager = tenant.login(Role.MANAGER)
            with server.client() as c:
                r = c.get("/offline-orders", params={"phone": PHONE, "limit": 5}, headers=manager)
                assert r.status_code == 200, r.text
            return {"org": tenant.org_id, "store": tenant.store_id, "terminal": term.device_id,
                    "tenant": tenant}
    finally:
        server.ctx.engine.dispose()


def _no_personal_values(lines: list[str], tenant: Tenant) -> None:
    text = "\n".join(lines)
    assert PHONE not in text and PHONE.lstrip("+") not in text
    assert PASSWORD not in text
    assert "person" not in text  # the staff names ("manager person")
    assert "HTTP/1.1" not in text  # uvicorn's own access line (client address, raw path) is off


def test_plain_access_lines_by_default(own_db_url: str) -> None:
    with serve(own_db_url) as (base, lines):
        seen = a_days_traffic(base, own_db_url)
    access = [line for line in lines if " tillsync.server.access " in line]
    push = [line for line in access if "POST /sync/push 200 " in line]
    assert len(push) == 1, "\n".join(lines)
    assert f"org_id={seen['org']}" in push[0] and f"store_id={seen['store']}" in push[0]
    assert f"terminal_id={seen['terminal']}" in push[0] and "request_id=" in push[0]
    assert push[0].split()[1] == "INFO" and push[0].rstrip().endswith(
        f"terminal_id={seen['terminal']}")
    lookup = [line for line in access if "GET /offline-orders?" in line]
    assert len(lookup) == 1 and "phone=[redacted]&limit=5 200" in lookup[0]
    assert f"org_id={seen['org']}" in lookup[0] and "terminal_id=" not in lookup[0]
    ids = [line.split("request_id=")[1].split()[0] for line in access]
    assert len(ids) == len(set(ids)), "one line per request"
    _no_personal_values(lines, seen["tenant"])


@pytest.mark.parametrize("how", ["flag", "env"])
def test_json_lines_when_asked(own_db_url: str, how: str) -> None:
    args = ("--log-format", "json") if how == "flag" else ()
    env = {"TILLSYNC_LOG_FORMAT": "json"} if how == "env" else None
    with serve(own_db_url, *args, env_extra=env) as (base, lines):
        seen = a_days_traffic(base, own_db_url)
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # start-up lines too
    access = [e for e in entries if e["logger"] == "tillsync.server.access"]
    push = [e for e in access if e["route"] == "/sync/push"]
    assert len(push) == 1, lines
    assert push[0]["method"] == "POST" and push[0]["status"] == 200
    assert isinstance(push[0]["duration_ms"], float) and len(push[0]["request_id"]) >= 16
    assert (push[0]["org_id"], push[0]["store_id"], push[0]["terminal_id"]) == (
        seen["org"], seen["store"], seen["terminal"])
    lookup = [e for e in access if e["route"] == "/offline-orders"]
    assert lookup[0]["query"] == "phone=[redacted]&limit=5" and "terminal_id" not in lookup[0]
    _no_personal_values(lines, seen["tenant"])


def test_an_unknown_log_format_is_refused(own_db_url: str) -> None:
    env = dict(os.environ, TILLSYNC_LOG_FORMAT="xml", TILLSYNC_JWT_SECRET=JWT_SECRET,
               TILLSYNC_SERVER_DATA_KEY=TEST_DATA_KEY)
    done = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--db", own_db_url,
                           "--port", str(free_port())], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "TILLSYNC_LOG_FORMAT='xml'" in done.stderr
