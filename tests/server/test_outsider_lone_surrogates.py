"""A push may carry "\\ud800" (a lone UTF-16 surrogate, valid JSON syntax, no Unicode
text) where the payload is free: an approval request's ``details``, an edit's value.
On SQLite it was applied, and then every snapshot of the store answered 500 (the answer
cannot be encoded): no new till of the store could make its first sync. On PostgreSQL
the push itself answered 500, which docs/sync-protocol.md §2 calls transient, so the
till resent it for ever and its queue stood still. A sale with one in a line's name was
refused but filed as sent, and then the quarantine list answered 500 (helper O, a
client written from docs/ alone). Such an op is rejected in its place, as one holding a
NUL character is (docs/sync-protocol.md §5), filed with the character replaced; the
operations around it apply."""

from __future__ import annotations

import json
from typing import Any

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import Tenant

LONE = "LONE\ud800"


def _raw_push(tenant: Tenant, ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The push as a body json.dumps writes (ASCII: the surrogate as \\ud800)."""
    body = json.dumps({"operations": ops})
    with tenant.server.client() as c:
        r = c.post("/sync/push", content=body, headers={
            **tenant.term.headers, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def _approval_request(tenant: Tenant, order_id: str, details: dict[str, Any]) -> dict[str, Any]:
    approval = new_id()
    return tenant.term.op("approval.request", approval, tenant.staff[Role.CASHIER], {
        "approval_id": approval, "kind": "delete", "order_id": order_id, "reason": "wrong",
        "details": details, "requested_at": "2026-12-04T10:00:00+00:00"})


def _everything_still_answers(tenant: Tenant) -> list[dict[str, Any]]:
    """The store's snapshot, pull and the quarantine list answer 200; the open entries."""
    term = tenant.term
    with tenant.server.client() as c:
        r = c.get("/sync/snapshot", params={"limit": 1000}, headers=term.headers)
        assert r.status_code == 200, r.text
        r = c.get("/sync/pull", params={"after": 0}, headers=term.headers)
        assert r.status_code == 200, r.text
        r = c.get("/sync/quarantine", params={"limit": 500}, headers=tenant.login(Role.OWNER))
        assert r.status_code == 200, r.text
        return r.json()


def test_a_lone_surrogate_in_a_free_payload_is_rejected_and_the_rest_applies(
        tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    sale = term.order_create(cashier)
    assert term.push([sale])["results"][0]["status"] == "applied"
    ops = [term.order_create(cashier),
           _approval_request(tenant, sale["entity_id"], {"why": LONE}),
           _approval_request(tenant, sale["entity_id"], {LONE: 1}),
           term.order_create(cashier)]
    got = _raw_push(tenant, ops)["results"]
    assert [r["status"] for r in got] == ["applied", "rejected", "rejected", "applied"], got
    assert all("not Unicode" in r["reason"] for r in got[1:3]), got
    held = {e["op_id"]: e for e in _everything_still_answers(tenant)}
    assert ops[1]["op_id"] in held and ops[2]["op_id"] in held
    assert held[ops[1]["op_id"]]["operation"]["payload"]["details"] == {"why": "LONE\ufffd"}


def test_a_refused_sale_with_a_lone_surrogate_leaves_the_quarantine_readable(
        tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    bad = term.order_create(cashier)
    bad["payload"]["lines"][0]["name"] = LONE
    (result,) = _raw_push(tenant, [bad])["results"]
    assert result["status"] == "rejected", result
    held = {e["op_id"]: e for e in _everything_still_answers(tenant)}
    assert held[bad["op_id"]]["operation"]["payload"]["lines"][0]["name"] == "LONE\ufffd"


def test_an_invalid_op_with_a_lone_surrogate_is_refused_in_its_place(tenant: Tenant) -> None:
    """One the schema refuses anyway (an entity_id that is no UUID) is filed readable."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    bad = term.order_create(cashier)
    bad["entity_id"] = LONE
    bad["payload"]["note"] = LONE
    ops = [bad, term.order_create(cashier)]
    got = _raw_push(tenant, ops)["results"]
    assert [r["status"] for r in got] == ["rejected", "applied"], got
    held = {e["op_id"]: e for e in _everything_still_answers(tenant)}
    assert held[bad["op_id"]]["operation"]["payload"]["note"] == "LONE\ufffd"


def test_a_resubmit_carrying_a_lone_surrogate_is_refused(tenant: Tenant) -> None:
    """POST /sync/quarantine/{id}/resubmit runs the op without the push's intake: a fixed
    payload with a lone surrogate was applied (SQLite: the store's snapshots then 500)."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    sale = term.order_create(cashier)
    assert term.push([sale])["results"][0]["status"] == "applied"
    bad = _approval_request(tenant, sale["entity_id"], {})
    bad["payload"]["kind"] = "teleport"
    assert term.push([bad])["results"][0]["status"] == "rejected"
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        (entry,) = c.get("/sync/quarantine", params={"op_id": bad["op_id"]},
                         headers=owner).json()
        fixed = dict(bad["payload"], kind="delete", details={"why": LONE})
        r = c.post(f"/sync/quarantine/{entry['id']}/resubmit",
                   content=json.dumps({"payload": fixed}),
                   headers={**owner, "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        # refused before the handler, as any REST body holding one (server/middleware.py,
        # fce560e); the handler's own check (invalid_value) stays behind it
        assert r.json()["error"]["code"] == "validation_error"
        assert "not Unicode" in r.json()["error"]["message"]
    held = {e["op_id"]: e for e in _everything_still_answers(tenant)}
    assert held[bad["op_id"]]["status"] == "open"
