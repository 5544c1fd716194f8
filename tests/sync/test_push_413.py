"""The terminal's push of a batch too large for the server: split in halves, never stuck.

A batch whose body passes MAX_BODY_BYTES is split before sending; a 413 from a server
with a lower limit splits it too; the halves' answers come back as one, in op_seq order,
and a half answered with a gap stops there (issue 20, part 3)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.domain.ids import new_id
from sync.client import PermanentError, SyncClient
from sync.protocol import MAX_BODY_BYTES, Operation, OpType


def _ops(n: int, pad: int = 0) -> list[Operation]:
    device = new_id()
    return [Operation(op_id=new_id(), op_seq=i + 1, type=OpType.ORDER_UPDATE, entity_id=new_id(),
                      actor_id=new_id(), device_id=device, created_at=datetime.now(UTC),
                      base_version=1, payload={"fields": {}, "reason": "x" * pad})
            for i in range(n)]


class Server:
    """A push endpoint refusing bodies over ``limit`` with 413, else applying in order."""

    def __init__(self, limit: int, gap_at: int | None = None) -> None:
        self.limit, self.gap_at = limit, gap_at
        self.sizes: list[int] = []
        self.last = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sizes.append(len(body))
        if len(body) > self.limit:
            return httpx.Response(413, json={"error": {
                "code": "too_large", "message": "too large", "request_id": "r",
                "details": {"max_bytes": self.limit}}})
        results: list[dict[str, Any]] = []
        gap = None
        for op in json.loads(body)["operations"]:
            if op["op_seq"] == self.gap_at:
                gap = op["op_seq"]
                break
            self.last = op["op_seq"]
            results.append({"op_id": op["op_id"], "op_seq": op["op_seq"], "status": "applied",
                            "entity_id": op["entity_id"], "version": 2})
        return httpx.Response(200, json={"results": results, "last_applied_seq": self.last,
                                         "gap_from": gap, "server_time": "2026-01-01T00:00:00Z"})


def _push(server: Server, ops: list[Operation]) -> Any:
    async def run() -> Any:
        async with SyncClient("http://server", "tt_x",
                              transport=httpx.MockTransport(server)) as client:
            return await client.push(ops)

    return asyncio.run(run())


def test_a_413_splits_the_batch_and_the_answers_come_back_as_one() -> None:
    ops = _ops(40, pad=100)
    one = len(ops[0].model_dump_json())
    server = Server(limit=one * 12)  # a server with a lower limit than ours
    resp = _push(server, ops)
    assert [r.op_seq for r in resp.results] == list(range(1, 41))
    assert resp.last_applied_seq == 40 and resp.gap_from is None
    assert server.sizes[0] > server.limit  # tried whole first, then halves
    assert max(s for s in server.sizes[1:] if s <= server.limit) <= server.limit


def test_a_gap_in_the_first_half_stops_there() -> None:
    server = Server(limit=5_000, gap_at=3)
    resp = _push(server, _ops(40, pad=100))
    assert resp.gap_from == 3 and [r.op_seq for r in resp.results] == [1, 2]


def test_a_batch_over_our_limit_is_split_before_sending() -> None:
    pad = MAX_BODY_BYTES // 8
    server = Server(limit=MAX_BODY_BYTES)
    resp = _push(server, _ops(10, pad=pad))
    assert len(resp.results) == 10
    assert all(size <= MAX_BODY_BYTES for size in server.sizes)  # never a 413 round trip


def test_one_op_too_large_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError) as err:
        _push(Server(limit=100), _ops(1))
    assert err.value.status == 413
