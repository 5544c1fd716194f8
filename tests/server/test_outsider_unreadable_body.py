"""A body that starts as JSON but holds bytes that are not UTF-8, an integer of 5,000
digits, or arrays nested 5,000 deep answered 400 ``bad_request`` ("There was an error
parsing the body", details null), a code docs/ never name: docs/sync-protocol.md §2
and docs/client-guide.md §6 say a body that is not JSON, or not UTF-8, is
``422 validation_error`` with ``type`` ``json_invalid`` and ``loc`` ["body", position]
(helper O, a client written from docs/ alone). FastAPI turns json.loads' JSONDecodeError
into that 422 and any other failure of it into the 400."""

from __future__ import annotations

from app.domain.permissions import Role
from tests.server.support import Tenant

LATIN1 = b'{"code": "caf\xe9", "pin": "1234"}'
STRAY = b'{"protocol": 1, "operations": [{"op_id": "\xff"}]}'
BODIES = {  # the body, and the position of its first byte that is not UTF-8
    "latin-1 after a JSON start": (LATIN1, LATIN1.index(b"\xe9")),
    "a stray 0xff in a string": (STRAY, STRAY.index(b"\xff")),
    "an integer of 5,000 digits": (b'{"protocol": 1' + b"0" * 5000 + b"}", 0),
    "arrays nested 5,000 deep": (b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", 0),
}


def test_a_body_that_is_not_utf8_or_too_deep_is_422_json_invalid(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        for path, headers in (("/sync/push", tenant.term.headers), ("/auth/login", {}),
                              ("/terminals/enroll", {}),
                              ("/offline-orders", tenant.login(Role.MANAGER))):
            for what, (raw, position) in BODIES.items():
                r = c.post(path, content=raw, headers={
                    **headers, "Content-Type": "application/json"})
                assert r.status_code == 422, (path, what, r.text)
                err = r.json()["error"]
                assert err["code"] == "validation_error", (path, what, err)
                assert err["details"] == [{"loc": ["body", str(position)],
                                           "msg": "JSON decode error",
                                           "type": "json_invalid"}], (path, what, err)
                assert r.headers["X-Request-ID"] == err["request_id"]


def test_other_bad_requests_keep_their_answer(tenant: Tenant) -> None:
    """Only the body FastAPI could not parse changes: a valid body still reaches the
    route, and a push of a protocol the server does not speak is still 400."""
    with tenant.server.client() as c:
        r = c.post("/sync/push", headers=tenant.term.headers,
                   json={"protocol": 2, "operations": []})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "unsupported_protocol"
        r = c.post("/sync/push", headers=tenant.term.headers,
                   json={"protocol": 1, "operations": []})
        assert r.status_code == 200, r.text
