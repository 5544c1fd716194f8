"""Issue 12: a till refuses to enroll over plain ``http://`` with a server that is not its
own machine unless the admin passes ``--allow-insecure-http`` (then it enrolls and warns).

192.0.2.1 (TEST-NET-1) is only ever a string here: the refusal comes before any request,
and with the flag the test's client talks to the real test server on 127.0.0.1 while the
till stores the URL it was given. A guard fails the test on any request to 192.0.2.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sync.enroll as enroll_module
from app.store.local import open_store
from sync.client import SyncClient
from sync.enroll import EnrollError, check_server_url, enroll
from tests.server.support import Tenant
from tests.sync.conftest import enrollment_code
from ui import cli

LAN_HTTP = "http://192.0.2.1:8000"


@pytest.fixture(autouse=True)
def no_traffic_to_test_net(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail on any HTTP request to 192.0.2.1, before a socket is opened."""
    tried: list[str] = []
    real_send = httpx.AsyncClient.send

    async def guarded(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> Any:
        if request.url.host == "192.0.2.1":
            tried.append(str(request.url))
            raise AssertionError(f"a request went to {request.url}")
        return await real_send(self, request, **kw)

    monkeypatch.setattr(httpx.AsyncClient, "send", guarded)
    yield tried
    assert tried == []


class NoNetwork:
    def __init__(self, *a: Any, **kw: Any) -> None:
        raise AssertionError("enroll made a client for a refused URL")


def test_plain_http_to_another_machine_is_refused_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(enroll_module, "SyncClient", NoNetwork)
    code = cli.main(["--data-dir", str(tmp_path / "till"), "enroll", "--server", LAN_HTTP,
                     "--code", "X"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--allow-insecure-http" in err and "192.0.2.1" in err and "https://" in err
    store = open_store(tmp_path / "till")
    try:
        assert store.device().server_url is None  # nothing stored
    finally:
        store.close()


@pytest.mark.parametrize("url", ["http://sync.example.com", "http://10.0.0.5:8000",
                                 "http://[2001:db8::1]:8000", "ftp://sync.example.com",
                                 "sync.example.com"])
def test_check_server_url_refuses(url: str) -> None:
    with pytest.raises(EnrollError):
        check_server_url(url)


@pytest.mark.parametrize("url", ["https://sync.example.com", "https://192.0.2.1:8443",
                                 "http://127.0.0.1:8000", "http://localhost:8000",
                                 "http://[::1]:8000"])
def test_check_server_url_accepts_https_and_loopback(url: str) -> None:
    assert check_server_url(url) is None


def test_the_flag_enrolls_and_warns(
    tmp_path: Path, tenant: Tenant, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``tillsync enroll --allow-insecure-http``: enrolled (the client reaches the real test
    server on loopback), the given URL stored, a warning on stderr."""
    base = tenant.server.base_url
    monkeypatch.setattr(enroll_module, "SyncClient", lambda url, *a, **kw: SyncClient(base))
    code = cli.main(["--data-dir", str(tmp_path / "till"), "enroll", "--server", LAN_HTTP,
                     "--code", enrollment_code(tenant), "--allow-insecure-http"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Enrolled as device" in out
    assert "warning" in err and "plain http://" in err and "192.0.2.1" in err
    store = open_store(tmp_path / "till")
    try:
        assert store.device().server_url == LAN_HTTP
    finally:
        store.close()


def test_enroll_function_refuses_without_the_flag(tmp_path: Path) -> None:
    store = open_store(tmp_path / "till")
    try:
        with pytest.raises(EnrollError, match="--allow-insecure-http"):
            asyncio.run(enroll(store, LAN_HTTP, "X", client=NoNetwork.__new__(NoNetwork)))
    finally:
        store.close()
