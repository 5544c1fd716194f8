"""sync/trace.py: the W3C ``traceparent`` a till puts on its requests, and the server
tracing a request that carries one as a child of it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from sync import trace

HEADER_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


def test_a_header_is_w3c_sampled_with_new_ids_each_time() -> None:
    values = [trace.traceparent() for _ in range(50)]
    assert all(HEADER_RE.match(v) and trace.PATTERN.match(v) for v in values), values
    assert len({v[3:35] for v in values}) == 50 and len({v[36:52] for v in values}) == 50
    assert trace.trace_id_of(values[0]) == values[0][3:35]
    assert trace.trace_id_of("00-" + "0" * 32 + "-" + "1" * 16 + "-01") is None
    assert trace.trace_id_of("not a header") is None


def test_ids_are_never_all_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["0" * 32, "ab" * 16, "0" * 16, "cd" * 8])
    monkeypatch.setattr(trace.secrets, "token_hex", lambda size: next(drawn))
    assert trace.traceparent() == f"00-{'ab' * 16}-{'cd' * 8}-01"


def test_a_sync_round_is_one_trace_of_many_requests() -> None:
    with trace.sync_round() as trace_id:
        inside = [trace.traceparent() for _ in range(3)]
    assert {v[3:35] for v in inside} == {trace_id}
    assert len({v[36:52] for v in inside}) == 3  # each request its own parent id
    assert trace.traceparent()[3:35] != trace_id  # the round closed


def test_the_request_hook_stamps_each_request_and_keeps_one_given() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200, json={})

    given = "00-" + "1" * 32 + "-" + "2" * 16 + "-00"

    async def requests() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer),
                                     event_hooks={"request": [trace.stamp]}) as c:
            await c.get("http://server.test/sync/pull")
            with trace.sync_round() as trace_id:
                await c.post("http://server.test/sync/push", json={})
                await c.get("http://server.test/sync/pull")
            await c.get("http://server.test/sync/pull", headers={"traceparent": given})
            return trace_id

    trace_id = asyncio.run(requests())
    assert all(v is not None and HEADER_RE.match(v) for v in seen[:3]), seen
    assert [v[3:35] for v in seen[1:3] if v] == [trace_id, trace_id]
    assert seen[0] and seen[0][3:35] != trace_id
    assert seen[3] == given



def test_the_sync_client_stamps_every_request() -> None:
    """sync/client.py installs the hook: each request of the till's client carries a
    traceparent of its own."""
    from sync.client import SyncClient

    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        if request.url.path == "/sync/push":
            return httpx.Response(200, json={"results": [], "last_applied_seq": 0,
                                             "server_time": "2026-12-04T10:00:00+00:00"})
        return httpx.Response(200, json={})

    async def requests() -> None:
        async with SyncClient("http://server.test", "tt_x",
                              transport=httpx.MockTransport(answer)) as client:
            await client.push([])
            await client.attention()

    asyncio.run(requests())
    assert len(seen) == 2 and all(v and HEADER_RE.match(v) for v in seen), seen
    assert seen[0] != seen[1]
