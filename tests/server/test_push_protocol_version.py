"""POST /sync/push's ``protocol``: 1 (or no field: the first tills' meaning) is read; any
version the server does not speak (a till newer than the server) is refused with
``400 unsupported_protocol`` naming the versions it speaks, nothing applied, on the
FastAPI route and on the push shortcut (server/sync/fast_push.py) alike, SQLite and
PostgreSQL. It was read as protocol 1."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.permissions import Role
from server.sync.schemas import SUPPORTED_PROTOCOLS
from sync.protocol import PROTOCOL_VERSION
from tests.server.support import Tenant


def _position(tenant: Tenant) -> int:
    term = tenant.term
    with term.server.client() as c:
        r = c.get("/sync/position", headers=term.headers)
        assert r.status_code == 200, r.text
        return int(r.json()["last_applied_seq"])


def _push(tenant: Tenant, body: dict[str, Any]) -> Any:
    with tenant.term.server.client() as c:
        return c.post("/sync/push", json=body, headers=tenant.term.headers)


def test_the_server_speaks_protocol_1() -> None:
    assert SUPPORTED_PROTOCOLS == (PROTOCOL_VERSION,) == (1,)


@pytest.mark.parametrize("protocol", [2, 99])
def test_a_push_of_an_unknown_protocol_is_refused_not_read_as_1(
        tenant: Tenant, protocol: int) -> None:
    term = tenant.term
    cashier = tenant.staff[Role.CASHIER]
    # first request of this token: the FastAPI route (the shortcut knows no token yet)
    op = term.order_create(cashier, pay=True)
    r = _push(tenant, {"protocol": protocol, "operations": [op]})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "unsupported_protocol"
    assert error["details"] == {"protocol": protocol, "supported": [1]}
    assert f"protocol {protocol}" in error["message"] and "speaks sync protocol 1" in error["message"]
    assert _position(tenant) == 0  # nothing applied
    # the token is now known to the process: the push shortcut answers the same
    r = _push(tenant, {"protocol": protocol, "operations": [op]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_protocol", r.text
    r = _push(tenant, {"protocol": protocol, "operations": []})  # even with nothing in it
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_protocol", r.text
    assert _position(tenant) == 0
    # the same operation as protocol 1 applies
    r = _push(tenant, {"protocol": 1, "operations": [op]})
    assert r.status_code == 200, r.text
    assert [res["status"] for res in r.json()["results"]] == ["applied"]


def test_a_push_without_protocol_is_protocol_1(tenant: Tenant) -> None:
    term = tenant.term
    op = term.order_create(tenant.staff[Role.CASHIER], pay=True)
    r = _push(tenant, {"operations": [op]})
    assert r.status_code == 200, r.text
    assert [res["status"] for res in r.json()["results"]] == ["applied"]
    assert _position(tenant) == 1


def test_protocol_0_stays_a_validation_error(tenant: Tenant) -> None:
    r = _push(tenant, {"protocol": 0, "operations": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text


def test_the_till_sends_protocol_1() -> None:
    """The reference client (sync/client.py) names its protocol in every push."""
    import asyncio
    import json

    import httpx

    from sync.client import SyncClient

    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"results": [], "last_applied_seq": 0,
                                         "server_time": "2026-12-04T10:00:00+00:00"})

    async def push() -> None:
        async with SyncClient("http://till.test", "tt_x",
                              transport=httpx.MockTransport(answer)) as client:
            await client.push([])

    asyncio.run(push())
    assert [body["protocol"] for body in sent] == [PROTOCOL_VERSION]
