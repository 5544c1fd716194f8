"""Hypothesis fuzz of a few endpoints against the real server: never a 5xx, always the envelope."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.ids import new_id
from app.domain.permissions import Role
from sync.protocol import OpType
from tests.server.support import Tenant

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
keys = st.sampled_from(["reference", "store_id", "lines", "total", "fields", "reason", "id",
                        "order_id", "amount", "product_id", "qty_delta_milli", "kind",
                        "movement_id", "conflict_id", "choice", "created_at", "price"])
payloads = st.dictionaries(keys, json_value, max_size=6)


def _check(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert set(resp.json()["error"]) == {"code", "message", "request_id", "details"}


@FUZZ
@given(op_type=st.sampled_from(list(OpType)), payload=payloads, seq_offset=st.integers(-1, 2),
       actor=st.sampled_from(["cashier", "manager", "stranger"]))
def test_push_fuzz(tenant: Tenant, op_type: OpType, payload: dict[str, Any], seq_offset: int,
                   actor: str) -> None:
    term = tenant.term
    actor_id = {"cashier": tenant.staff[Role.CASHIER], "manager": tenant.staff[Role.MANAGER],
                "stranger": new_id()}[actor]
    op = term.op(op_type.value, new_id(), actor_id, payload)
    op["op_seq"] = max(1, op["op_seq"] + seq_offset)
    term.seq = max(0, op["op_seq"] - 1) if seq_offset else term.seq
    with term.server.client() as c:
        resp = c.post("/sync/push", json={"operations": [op]}, headers=term.headers)
        _check(resp)
        if resp.status_code == 200:
            term.seq = resp.json()["last_applied_seq"]


@FUZZ
@given(body=st.one_of(json_value, st.dictionaries(
    st.sampled_from(["staff_id", "pin", "password", "refresh_token"]), json_value, max_size=3)),
    path=st.sampled_from(["/auth/login", "/auth/refresh", "/terminals/enroll", "/sync/push",
                          "/conflicts/x/resolve", "/auth/logout"]))
def test_json_bodies_fuzz(tenant: Tenant, body: Any, path: str) -> None:
    with tenant.server.client() as c:
        _check(c.post(path, json=body, headers=tenant.term.headers
                      if path == "/sync/push" else {}))


@FUZZ
@given(params=st.dictionaries(
    st.sampled_from(["after", "limit", "status", "date_from", "date_to", "store_id", "offline",
                     "offset"]),
    st.one_of(st.text(max_size=12), st.integers(-5, 10**12).map(str)), max_size=4))
def test_query_params_fuzz(tenant: Tenant, params: dict[str, str]) -> None:
    with tenant.server.client() as c:
        _check(c.get("/sync/pull", params=params, headers=tenant.term.headers))
        _check(c.get("/offline-orders", params=params, headers=tenant.login(Role.MANAGER)))
        _check(c.get("/conflicts", params=params, headers=tenant.login(Role.MANAGER)))
