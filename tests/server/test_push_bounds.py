"""No 5xx from a push's input: an op out of range or malformed is rejected on its own.

Issue 20, part 3. Each case is a push of [valid order, bad op, valid order], through the
FastAPI route and through the push shortcut (server/sync/fast_push.py), on SQLite and
PostgreSQL: the bad op is ``rejected`` with a reason naming the field (never an
exception's text), quarantined, counted in ``last_applied_seq``, and its neighbours apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.limits import MAX_AMOUNT
from app.domain.permissions import Role
from sync.protocol import PushRequest
from tests.server.support import Tenant, Terminal

Spoil = Callable[[dict[str, Any]], None]


def _total(op: dict[str, Any]) -> None:
    op["payload"]["total"] = 10**30


def _qty(op: dict[str, Any]) -> None:
    op["payload"]["lines"][0]["qty_milli"] = 2**63


def _payment(op: dict[str, Any]) -> None:
    op["payload"]["payments"][0]["amount"] = 10**25


def _negative_qty(op: dict[str, Any]) -> None:
    op["payload"]["lines"][0]["qty_milli"] = -1000


def _nul_reference(op: dict[str, Any]) -> None:
    op["payload"]["reference"] = "GO-01\x000001"


def _long_entity(op: dict[str, Any]) -> None:
    op["entity_id"] = "e" * 10_000


def _op_id(op: dict[str, Any]) -> None:
    op["op_id"] = f"not-a-uuid-{new_id()[-12:]}"


def _unknown_type(op: dict[str, Any]) -> None:
    op["type"] = "order.teleport"


def _base_version(op: dict[str, Any]) -> None:
    op["base_version"] = 2**63


CASES: dict[str, tuple[Spoil, str]] = {
    "total 10**30": (_total, "total"),
    "qty_milli 2**63": (_qty, "lines.0.qty_milli"),
    "payment 10**25": (_payment, "payments.0.amount"),
    "negative sale quantity": (_negative_qty, "lines.0.qty_milli"),
    "NUL in reference": (_nul_reference, "NUL"),
    "10,000-character entity_id": (_long_entity, "entity_id"),
    "op_id not a UUID": (_op_id, "op_id"),
    "unknown type": (_unknown_type, "type"),
    "base_version 2**63": (_base_version, "base_version"),
}


def _post(term: Terminal, ops: list[dict[str, Any]], via: str) -> dict[str, Any]:
    """Through the route (a ``+json`` type: the shortcut declines it) or the shortcut."""
    body = json.dumps({"operations": ops}).encode()
    headers = {**term.headers, "Content-Type": "application/json" if via == "shortcut"
               else "application/x-tillsync+json"}
    with term.server.client() as c:
        if via == "shortcut":  # the shortcut takes tokens this process has seen
            assert c.post("/sync/push", json={"operations": []}, headers=term.headers
                          ).status_code == 200
        r = c.post("/sync/push", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _quarantine(tenant: Tenant) -> list[dict[str, Any]]:
    with tenant.server.client() as c:
        r = c.get("/sync/quarantine", params={"limit": 500},
                  headers=tenant.login(Role.ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("via", ["route", "shortcut"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_op_is_rejected_in_words_and_its_batch_applies(tenant: Tenant, case: str,
                                                            via: str) -> None:
    spoil, field = CASES[case]
    term = tenant.enroll(name=f"{case} {via}")
    cashier = tenant.staff[Role.CASHIER]
    before = term.order_create(cashier, pay=True)
    bad = term.order_create(cashier, pay=True)
    after = term.order_create(cashier, pay=True)
    spoil(bad)
    resp = _post(term, [before, bad, after], via)
    assert [r["status"] for r in resp["results"]] == ["applied", "rejected", "applied"]
    assert [r["op_seq"] for r in resp["results"]] == [1, 2, 3]
    assert resp["last_applied_seq"] == 3 and resp["gap_from"] is None
    reason = resp["results"][1]["reason"]
    assert field in reason
    assert "Error(" not in reason and "Traceback" not in reason
    assert resp["results"][1]["op_id"] == bad["op_id"]
    filed = [q for q in _quarantine(tenant) if q["device_id"] == term.device_id]
    assert [q["op_id"] for q in filed] == [bad["op_id"]]
    assert filed[0]["reason"] == reason
    # the same push again: stored answers, nothing applied or quarantined twice
    again = _post(term, [before, bad, after], via)
    assert [r["status"] for r in again["results"]] == ["duplicate", "rejected", "duplicate"]
    assert again["results"][1]["reason"] == reason
    assert len([q for q in _quarantine(tenant) if q["device_id"] == term.device_id]) == 1


def test_ranges_reasons_name_the_limit(tenant: Tenant) -> None:
    term, cashier = tenant.enroll(name="Ranges"), tenant.staff[Role.CASHIER]
    op = term.order_create(cashier, pay=True)
    _total(op)
    reason = term.push([op])["results"][0]["reason"]
    assert "total" in reason and f"{MAX_AMOUNT}" in reason
    op = term.order_create(cashier, pay=True)
    _op_id(op)
    reason = term.push([op])["results"][0]["reason"]
    assert reason.startswith("invalid operation: op_id") and "UUID" in reason


def test_an_item_without_an_op_seq_makes_the_push_422_not_500(tenant: Tenant) -> None:
    term = tenant.enroll(name="No seq")
    for item in ({"op_id": new_id()}, {"op_id": "x" * 65, "op_seq": 1}, {"op_seq": 1},
                 {"op_id": new_id(), "op_seq": 2**63}, 7):
        with term.server.client() as c:
            r = c.post("/sync/push", json={"operations": [item]}, headers=term.headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error"


def test_the_published_schema_carries_the_ranges(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        schema = c.get("/openapi.json").json()
    defs = schema["components"]["schemas"]
    op = defs["Operation"]["properties"]
    assert op["op_seq"]["maximum"] == 2**31 - 1 and op["op_seq"]["minimum"] == 1
    assert op["entity_id"]["maxLength"] == 36 and "pattern" in op["entity_id"]
    push = defs["PushRequest"]["properties"]["operations"]
    assert push["items"] == {"$ref": "#/components/schemas/Operation"}
    assert push["maxItems"] == 500
    # how the server reads a bad item is not part of the push's schema
    assert "RawOperation" not in PushRequest.model_json_schema()["$defs"]


def test_a_refused_op_resubmitted_unfixed_is_422_and_fixed_applies(tenant: Tenant) -> None:
    term, cashier = tenant.enroll(name="Resubmit"), tenant.staff[Role.CASHIER]
    long_id = term.order_create(cashier)
    _long_entity(long_id)
    big = term.order_create(cashier, pay=True)
    good_payload = json.loads(json.dumps(big["payload"]))
    _total(big)
    resp = term.push([long_id, big])
    assert [r["status"] for r in resp["results"]] == ["rejected", "rejected"]
    filed = {q["op_id"]: q for q in _quarantine(tenant)}
    admin = tenant.login(Role.ADMIN)
    with tenant.server.client() as c:
        r = c.post(f"/sync/quarantine/{filed[long_id['op_id']]['id']}/resubmit", json={},
                   headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_value"
        assert "entity_id" in r.json()["error"]["message"]
        r = c.post(f"/sync/quarantine/{filed[big['op_id']]['id']}/resubmit",
                   json={"payload": good_payload}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["status"] == "applied"


def test_a_decision_note_past_its_column_is_rejected_in_words(tenant: Tenant) -> None:
    """The wire took 2,000 characters where approvals.decision_note holds 1,000: stored
    whole on SQLite, an internal error on PostgreSQL."""
    term, manager = tenant.enroll(name="Long note"), tenant.staff[Role.MANAGER]
    approval_id = new_id()
    op = term.op("approval.decide", approval_id, manager, {
        "approval_id": approval_id, "approved": False, "note": "N" * 1500,
        "decided_at": "2026-12-03T10:00:00+00:00"})
    result = term.push([op])["results"][0]
    assert result["status"] == "rejected"
    assert "note" in result["reason"] and "1000" in result["reason"], result["reason"]
