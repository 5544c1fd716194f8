"""Approvals (request / decide / settled by order.delete and refund.create), customer data
sealed at rest, staff codes, store settings and the pull head, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, select, text

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Event
from tests.server.support import RunningServer, Tenant, Terminal, line


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _request(term: Terminal, actor: str, order_id: str, kind: str = "delete",
             details: dict | None = None) -> dict:
    aid = new_id()
    return term.op("approval.request", aid, actor, {
        "approval_id": aid, "kind": kind, "order_id": order_id, "reason": "customer changed mind",
        "details": details or {}, "requested_at": _now()})


def _latest(changes: list[dict], entity_type: str, entity_id: str) -> dict:
    mine = [c for c in changes if c["entity_type"] == entity_type and c["entity_id"] == entity_id]
    assert mine, f"no {entity_type} {entity_id} in the feed"
    return mine[-1]["data"]


def _event_types(server: RunningServer, org_id: str) -> set[str]:
    with server.ctx.reader() as s:
        return set(s.scalars(select(Event.type).where(Event.org_id == org_id)))


def test_request_reject_and_queue_through_the_feed(tenant: Tenant) -> None:
    term = tenant.term
    cashier, manager, stock = (tenant.staff[r] for r in (Role.CASHIER, Role.MANAGER, Role.STOCK))
    create = term.order_create(cashier)
    req = _request(term, cashier, create["entity_id"])
    by_stock = _request(term, stock, create["entity_id"])
    res = term.push([create, req, by_stock])["results"]
    assert [r["status"] for r in res] == ["applied", "applied", "rejected"]
    assert "may not do order.delete.request" in res[2]["reason"]
    again = term.push([req])["results"][0]
    assert again["status"] == "duplicate"

    other = tenant.enroll(name="Till 2")  # the queue is the same on every terminal
    changes, _ = other.pull_all()
    queued = _latest(changes, "approval", req["entity_id"])
    assert queued["status"] == "pending" and queued["kind"] == "delete"
    assert queued["requested_by"] == cashier and queued["order_id"] == create["entity_id"]

    decide = other.op("approval.decide", req["entity_id"], manager, {
        "approval_id": req["entity_id"], "approved": False, "note": "keep it", "decided_at": _now()})
    by_cashier = other.op("approval.decide", req["entity_id"], cashier, {
        "approval_id": req["entity_id"], "approved": False, "note": None, "decided_at": _now()})
    res = other.push([decide, by_cashier])["results"]
    assert res[0]["status"] == "applied" and res[0]["version"] == 2
    assert res[1]["status"] == "rejected" and "approval.decide" in res[1]["reason"]
    changes, _ = term.pull_all()
    decided = _latest(changes, "approval", req["entity_id"])
    assert decided["status"] == "rejected" and decided["decided_by"] == manager
    assert decided["decision_note"] == "keep it" and decided["version"] == 2
    assert "approval.decided" in _event_types(tenant.server, tenant.org_id)

    # a late approval of the rejected request (another manager, offline) is a conflict
    late = term.op("approval.decide", req["entity_id"], tenant.staff[Role.OWNER], {
        "approval_id": req["entity_id"], "approved": True, "note": None, "decided_at": _now()})
    res = term.push([late])["results"][0]
    assert res["status"] == "conflict" and res["conflict_id"]


def test_order_delete_and_refund_carrying_approval_id_approve_it(tenant: Tenant) -> None:
    term = tenant.term
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    pending = term.order_create(cashier)
    paid = term.order_create(cashier, pay=True)
    del_req = _request(term, cashier, pending["entity_id"])
    term.push([pending, paid, del_req])
    with tenant.server.client() as c:
        order = c.get(f"/offline-orders/{paid['entity_id']}",
                      headers=tenant.login(Role.OWNER)).json()["order"]
    line = order["lines"][0]
    details = {"lines": [{"line_id": line["id"], "qty_milli": line["qty_milli"],
                          "amount": line["total"]}], "amount": line["total"], "method": "cash",
               "restock": False}
    ref_req = _request(term, cashier, paid["entity_id"], "refund", details)
    delete = term.op("order.delete", pending["entity_id"], manager, {
        "reason": "customer changed mind", "approved_by": manager,
        "approval_id": del_req["entity_id"]})
    refund_id = new_id()
    refund = term.op("refund.create", refund_id, manager, {
        "refund_id": refund_id, "order_id": paid["entity_id"], "lines": details["lines"],
        "amount": details["amount"], "method": "cash", "restock": False,
        "reason": "customer changed mind", "approved_by": manager,
        "approval_id": ref_req["entity_id"], "created_at": _now()})
    res = term.push([ref_req, delete, refund])["results"]
    assert [r["status"] for r in res] == ["applied"] * 3, res
    changes, _ = term.pull_all()
    for req in (del_req, ref_req):
        state = _latest(changes, "approval", req["entity_id"])
        assert state["status"] == "approved" and state["decided_by"] == manager
    assert _latest(changes, "order", pending["entity_id"])["status"] == "deleted"
    assert _latest(changes, "order", paid["entity_id"])["refunded"] == details["amount"]
    types = _event_types(tenant.server, tenant.org_id)
    assert {"approval.requested", "approval.decided", "refund.created",
            "offline_order.deleted"} <= types
    with term.server.client() as c:  # the snapshot carries approvals and the store too
        snap = c.get("/sync/snapshot", headers=term.headers).json()
    kinds = {ch["entity_type"] for ch in snap["changes"]}
    assert {"approval", "store", "staff", "order"} <= kinds


def _raw_dump(url: str) -> str:
    """Every row of every table, read WITHOUT the data key, as one string."""
    engine = create_engine(url)
    try:
        out = []
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    out.append(json.dumps([str(v) for v in row]))
        return "\n".join(out)
    finally:
        engine.dispose()


def test_customer_personal_data_is_sealed_at_rest(tenant: Tenant, server: RunningServer) -> None:
    term, cashier, manager = tenant.term, tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    name, phone, email = "Zebulon Quartzfield", "+353 87 555 0199", "zeb.quartz@example.org"
    create = term.order_create(cashier)
    create["payload"]["customer"] = {"id": new_id(), "name": name, "phone": phone, "email": email}
    edit = term.op("order.update", create["entity_id"], manager, {"fields": {"customer": {
        "base": create["payload"]["customer"],
        "value": create["payload"]["customer"] | {"email": "zeb.new@example.org"}}}})
    cust = term.op("customer.upsert", new_id(), cashier,
                   {"name": "Yolanda Brightwater", "phone": "0871234567"})
    res = term.push([create, edit, cust])["results"]
    assert [r["status"] for r in res] == ["applied"] * 3, res

    raw = _raw_dump(server.settings.database_url)
    for secret in (name, phone, email, "zeb.new@example.org", "Yolanda Brightwater",
                   "0871234567", "Quartzfield"):
        assert secret not in raw, f"{secret!r} is stored in plaintext"
    assert "enc1:" in raw

    changes, _ = term.pull_all()  # authorized reads see the plaintext
    customer = _latest(changes, "order", create["entity_id"])["customer"]
    assert customer["name"] == name and customer["email"] == "zeb.new@example.org"
    with server.client() as c:
        h = tenant.login(Role.MANAGER)
        detail = c.get(f"/offline-orders/{create['entity_id']}", headers=h).json()
        assert detail["order"]["customer"]["phone"] == phone
        found = c.get("/offline-orders", params={"phone": "+353875550199"}, headers=h).json()
        assert [o["id"] for o in found["items"]] == [create["entity_id"]]
        none = c.get("/offline-orders", params={"phone": "+353875550198"}, headers=h).json()
        assert none["items"] == []


def test_staff_codes_store_settings_and_pull_head(tenant: Tenant) -> None:
    term = tenant.term
    changes, cursor = term.pull_all()
    codes = {c["data"]["code"] for c in changes if c["entity_type"] == "staff"}
    assert codes == {"1001", "1002", "1003", "1004", "1005"}
    with tenant.server.client() as c:
        h = tenant.login(Role.OWNER)
        r = c.post("/staff", json={"name": "Dup", "role": "cashier", "pin": "9999",
                                   "code": "1003"}, headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "code_taken"
        r = c.post("/staff", json={"name": "Nia", "role": "cashier", "pin": "9999",
                                   "code": "2001"}, headers=h)
        assert r.status_code == 201 and r.json()["code"] == "2001"
        r = c.patch(f"/stores/{tenant.store_id}", headers=h, json={
            "address": "1 Quay St", "tax_id": "IE9", "locale": "de_DE",
            "receipt_footer": "Danke!"})
        assert r.status_code == 200 and r.json()["version"] == 2
        cashier = tenant.login(Role.CASHIER)
        r = c.patch(f"/stores/{tenant.store_id}", headers=cashier, json={"tax_id": "x"})
        assert r.status_code == 403
        page = c.get("/sync/pull", params={"after": cursor, "limit": 1},
                     headers=term.headers).json()
        assert page["head"] == cursor + 2 and page["has_more"]
    changes, _ = term.pull_all(cursor)
    store = _latest(changes, "store", tenant.store_id)
    assert store["receipt_footer"] == "Danke!" and store["locale"] == "de_DE"
    assert store["version"] == 2 and store["currency"] == "EUR"
    assert _latest(changes, "staff", changes[0]["entity_id"])["code"] == "2001"


def _refund_events(server: RunningServer, org_id: str) -> list[dict]:
    with server.ctx.reader() as s:
        rows = s.scalars(select(Event).where(Event.org_id == org_id, Event.type == "refund.created")
                         .order_by(Event.created_at, Event.id)).all()
        return [e.payload["data"]["refund"] for e in rows]


def test_a_refund_names_the_approval_it_carried_out(tenant: Tenant) -> None:
    """Feed, snapshot, back-office order and refund.created all carry approval_id: pushed
    refund.create with approval_id, approval decided in the back office, direct refund."""
    term = tenant.term
    tenant.seen_at(Role.CASHIER, Role.MANAGER)  # both work at the store's till
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    paid = term.order_create(cashier, lines=[line(None, 500), line(None, 700), line(None, 900)],
                             pay=True)
    term.push([paid])
    oid = paid["entity_id"]
    lines = paid["payload"]["lines"]

    def refund_of(li: dict) -> dict:
        return {"lines": [{"line_id": li["id"], "qty_milli": 1000, "amount": li["total"]}],
                "amount": li["total"], "method": "cash", "restock": False}

    # 1. requested at a till, carried out by a manager's refund.create naming the approval
    details = refund_of(lines[0])
    req = _request(term, cashier, oid, "refund", details)
    pushed_id = new_id()
    refund = term.op("refund.create", pushed_id, manager, details | {
        "refund_id": pushed_id, "order_id": oid, "reason": "broken", "approved_by": manager,
        "approval_id": req["entity_id"], "created_at": _now()})
    res = term.push([req, refund])["results"]
    assert [r["status"] for r in res] == ["applied", "applied"], res

    with tenant.server.client() as c:
        # 2. requested in the back office by a cashier, approved there by a manager
        r = c.post(f"/offline-orders/{oid}/refunds", headers=tenant.login(Role.CASHIER),
                   json=refund_of(lines[1]) | {"refund_id": new_id(), "reason": "too big"})
        assert r.status_code == 202, r.text
        bo_approval = r.json()["approval"]["id"]
        r = c.post(f"/approvals/{bo_approval}/decide", headers=tenant.login(Role.MANAGER),
                   json={"approved": True})
        assert r.status_code == 200, r.text
        # 3. refunded directly by a manager: no approval
        direct_id = new_id()
        r = c.post(f"/offline-orders/{oid}/refunds", headers=tenant.login(Role.MANAGER),
                   json=refund_of(lines[2]) | {"refund_id": direct_id, "reason": "scratched"})
        assert r.status_code == 201, r.text
        order = c.get(f"/offline-orders/{oid}", headers=tenant.login(Role.OWNER)).json()["order"]

    bo_refund = r.json()["order"]["refunds"]
    expected = {pushed_id: req["entity_id"], direct_id: None}
    by_id = {x["id"]: x["approval_id"] for x in order["refunds"]}
    assert len(by_id) == 3 and {k: by_id[k] for k in expected} == expected
    (decided_id,) = set(by_id) - set(expected)
    assert by_id[decided_id] == bo_approval
    assert {x["id"]: x["approval_id"] for x in bo_refund} == by_id

    changes, _ = term.pull_all()
    feed = _latest(changes, "order", oid)
    assert {x["id"]: x["approval_id"] for x in feed["refunds"]} == by_id
    with term.server.client() as c:
        snap = c.get("/sync/snapshot", headers=term.headers).json()
    (snapped,) = [ch["data"] for ch in snap["changes"]
                  if ch["entity_type"] == "order" and ch["entity_id"] == oid]
    assert {x["id"]: x["approval_id"] for x in snapped["refunds"]} == by_id
    events = {e["id"]: e["approval_id"] for e in _refund_events(tenant.server, tenant.org_id)}
    assert events == by_id
    # the approval's own record names the refund that carried it out
    assert _latest(changes, "approval", req["entity_id"])["details"]["refund_id"] == pushed_id


def test_approving_a_refund_whose_details_are_malformed_says_what_in_words(
        tenant: Tenant) -> None:
    """The request's details are only read when it is carried out; their problems were
    reported as pydantic's raw text."""
    term = tenant.term
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    cashier = tenant.staff[Role.CASHIER]
    create = term.order_create(cashier, pay=True)
    req = _request(term, cashier, create["entity_id"], kind="refund",
                   details={"lines": [{"line_id": "nope", "qty_milli": "lots"}], "amount": 1})
    assert [r["status"] for r in term.push([create, req])["results"]] == ["applied", "applied"]
    with tenant.server.client() as c:
        r = c.post(f"/approvals/{req['entity_id']}/decide", json={"approved": True},
                   headers=tenant.login(Role.MANAGER))
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert message.startswith("the refund request's details are not valid: lines.0."), message
    assert "validation error" not in message and "https://" not in message, message
