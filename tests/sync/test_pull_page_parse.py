"""A pull page read by orjson with its changes made without pydantic's per-field work
(sync/protocol.py ``parse_pull_page``) equals the page pydantic validates, whatever the
changes' shapes (as the server sends them, with fields missing, extra or of another
type), and refuses what pydantic refuses, with the same error types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from sync import protocol
from sync.protocol import PullResponse, parse_pull_page

SERVER = {"position": 5, "entity_type": "order", "entity_id": "o1", "version": 2,
          "deleted": False, "data": {"lines": [{"id": "l1"}], "total": 250},
          "origin_device_id": "d1", "op_id": None}


def _page(*changes: Any, **extra: Any) -> bytes:
    return json.dumps({"changes": list(changes), "cursor": 9, "has_more": True,
                       "server_time": "2026-12-04T10:00:00Z", "head": 12, **extra}).encode()


@pytest.mark.parametrize("change", [
    SERVER,
    {k: v for k, v in SERVER.items() if k not in ("deleted", "op_id", "origin_device_id")},
    SERVER | {"position": "5"},          # pydantic's lax int
    SERVER | {"deleted": 0},
    SERVER | {"unknown": 1},             # ignored
    SERVER | {"version": 2.0},
])
def test_a_page_parses_as_pydantic_does(change: dict[str, Any]) -> None:
    body = _page(SERVER, change, SERVER | {"position": 6, "data": {}})
    fast, slow = parse_pull_page(body), PullResponse.model_validate_json(body)
    assert fast == slow
    assert [c.model_dump(mode="json") for c in fast.changes] == \
        [c.model_dump(mode="json") for c in slow.changes]
    assert [c.model_fields_set for c in fast.changes] == [c.model_fields_set for c in slow.changes]


@pytest.mark.parametrize("body", [
    b'{"changes": [', b"[1]", _page(SERVER | {"data": []}), _page(SERVER | {"entity_id": None}),
    _page(SERVER)[:-1] + b', "cursor": "x"}', b'{"cursor": 1}',
])
def test_what_pydantic_refuses_is_refused(body: bytes) -> None:
    with pytest.raises(ValidationError) as slow:
        PullResponse.model_validate_json(body)
    with pytest.raises(ValidationError) as fast:
        parse_pull_page(body)
    assert {e["type"] for e in fast.value.errors()} == {e["type"] for e in slow.value.errors()}


def test_the_fast_way_is_on() -> None:
    assert protocol._FAST  # a pydantic that keeps its state otherwise turns it off (and fails here)
