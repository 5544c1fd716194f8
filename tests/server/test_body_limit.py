"""A request body past MAX_BODY_BYTES answers 413 ``too_large`` in the error envelope
(declared by Content-Length or streamed), on the push route, its shortcut and any other
endpoint; a body under the limit is read as usual (issue 20, part 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sync.protocol import MAX_BODY_BYTES
from tests.server.support import Tenant

MIB = 1024 * 1024


def _padded(size: int) -> bytes:
    """A push body of exactly ``size`` bytes (no operations, an unknown field padding it)."""
    head, tail = b'{"operations": [], "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _check_413(status: int, body: bytes) -> None:
    assert status == 413, body[:300]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert error["code"] == "too_large"
    assert error["details"] == {"max_bytes": MAX_BODY_BYTES}


@pytest.mark.parametrize("content_type", ["application/json", "application/x-tillsync+json"])
def test_a_push_over_the_limit_is_413_declared_or_streamed(tenant: Tenant,
                                                           content_type: str) -> None:
    term = tenant.term
    headers = {**term.headers, "Content-Type": content_type}
    with term.server.client() as c:
        assert c.post("/sync/push", json={"operations": []}, headers=term.headers
                      ).status_code == 200  # the token is known: the shortcut's case
        body = _padded(MAX_BODY_BYTES + 1)
        r = c.post("/sync/push", content=body, headers=headers)
        _check_413(r.status_code, r.content)

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            for i in range(0, len(body), MIB):
                yield body[i:i + MIB]

        r = c.post("/sync/push", content=chunks(), headers=headers)
        _check_413(r.status_code, r.content)
        r = c.post("/sync/push", content=_padded(30 * MIB), headers=headers)
        _check_413(r.status_code, r.content)
        # at the limit: read as usual
        r = c.post("/sync/push", content=_padded(MAX_BODY_BYTES), headers=headers)
        assert r.status_code == 200, r.text[:300]


def test_every_endpoint_has_the_limit(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.post("/auth/login", content=b'{"pad": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}',
                   headers={"Content-Type": "application/json"})
        _check_413(r.status_code, r.content)
        r = c.get("/health/live")
        assert r.status_code == 200
