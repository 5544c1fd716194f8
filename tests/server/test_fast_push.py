"""POST /sync/push answered by its shortcut (server/sync/fast_push.py) behaves as the route.

The shortcut takes only pushes with a token this process has seen and a valid JSON
body; everything else must reach the FastAPI route and get its usual answers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.domain.permissions import Role
from server.auth.deps import terminal_cache
from server.security import sha256_hex
from server.sync import fast_push
from tests.server.support import Tenant, Terminal


def _call_shortcut(term: Terminal, body: bytes, headers: dict[str, str]
                   ) -> tuple[bool, list[dict[str, Any]]]:
    """Call the shortcut as the middleware does, on the server's own context."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/sync/push",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}

    async def run() -> bool:
        return await fast_push.handle(term.server.ctx, scope, body, send)

    return asyncio.run(run()), sent


def _json_headers(term: Terminal) -> dict[str, str]:
    return {**term.headers, "Content-Type": "application/json"}


def test_shortcut_takes_a_known_token_and_a_valid_body_only(tenant: Tenant) -> None:
    term, cashier = tenant.enroll(name="Fast"), tenant.staff[Role.CASHIER]
    op = term.order_create(cashier, pay=True)
    body = json.dumps({"operations": [op]}).encode()
    handled, sent = _call_shortcut(term, body, _json_headers(term))
    assert not handled and not sent  # a token this process has not seen: the route's job

    first = term.push([op])  # through the route, which remembers the token
    assert first["results"][0]["status"] == "applied"
    assert sha256_hex(term.token) in terminal_cache(tenant.server.ctx)

    handled, sent = _call_shortcut(term, body, _json_headers(term))
    assert handled
    assert sent[0]["status"] == 200
    answer = json.loads(sent[1]["body"])
    assert answer["results"][0]["status"] == "duplicate"
    assert answer["results"][0]["version"] == first["results"][0]["version"]
    assert set(answer) == set(first)

    for bad_body, headers in ((b'{"operations": [{"op_id": 1}]}', _json_headers(term)),
                              (b"not json", _json_headers(term)),
                              (body, {**term.headers, "Content-Type": "text/plain"}),
                              (body, {"Content-Type": "application/json"})):
        handled, sent = _call_shortcut(term, bad_body, headers)
        assert not handled and not sent


def test_over_http_the_shortcut_answers_like_the_route(tenant: Tenant) -> None:
    term, cashier = tenant.enroll(name="Fast HTTP"), tenant.staff[Role.CASHIER]
    ops = [term.order_create(cashier, pay=True) for _ in range(3)]
    via_route = term.push(ops[:1])  # first push: the route
    via_shortcut = term.push(ops[1:])  # the token is known now: the shortcut
    assert [r["status"] for r in via_route["results"] + via_shortcut["results"]] == [
        "applied"] * 3
    assert via_shortcut["last_applied_seq"] == 3
    assert set(via_route) == set(via_shortcut)
    with tenant.server.client() as c:
        bad = c.post("/sync/push", content=b"{broken", headers=_json_headers(term))
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "validation_error"
        metrics = c.get("/metrics").text
    assert 'route="/sync/push"' in metrics


def test_a_revoked_terminal_is_refused_at_once_though_its_token_is_cached(tenant: Tenant
                                                                           ) -> None:
    term, cashier = tenant.enroll(name="Soon revoked"), tenant.staff[Role.CASHIER]
    assert term.push([term.order_create(cashier)])["results"][0]["status"] == "applied"
    assert sha256_hex(term.token) in terminal_cache(tenant.server.ctx)
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        r = c.post(f"/terminals/{term.device_id}/revoke", headers=owner)
        assert r.status_code == 200, r.text
        late = term.order_create(cashier)
        refused = c.post("/sync/push", json={"operations": [late]}, headers=term.headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_token"
        empty = c.post("/sync/push", json={"operations": []}, headers=term.headers)
        assert empty.status_code == 401
    other = tenant.term  # the same server's other terminals keep pushing
    assert other.push([other.order_create(cashier)])["results"][0]["status"] == "applied"
