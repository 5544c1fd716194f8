"""The queue always moves: every rejection advances last_applied_seq, is quarantined once,
and results come back in op_seq order (issue 20, part 3). Also: a pull's ``head`` is
never below its own cursor."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal


def _quarantined(tenant: Tenant, term: Terminal) -> list[dict[str, Any]]:
    with tenant.server.client() as c:
        r = c.get("/sync/quarantine", params={"limit": 500}, headers=tenant.login(Role.ADMIN))
    assert r.status_code == 200, r.text
    return [q for q in r.json() if q["device_id"] == term.device_id]


def _push(term: Terminal, ops: list[dict[str, Any]], via: str) -> dict[str, Any]:
    content_type = "application/json" if via == "shortcut" else "application/x-tillsync+json"
    with term.server.client() as c:
        if via == "shortcut":
            c.post("/sync/push", json={"operations": []}, headers=term.headers)
        r = c.post("/sync/push", content=json.dumps({"operations": ops}),
                   headers={**term.headers, "Content-Type": content_type})
    assert r.status_code == 200, r.text
    return r.json()


def test_another_devices_device_id_is_rejected_and_the_queue_moves(tenant: Tenant) -> None:
    term, other = tenant.enroll(name="Mine"), tenant.enroll(name="Other")
    cashier = tenant.staff[Role.CASHIER]
    strays = []
    for via in ("route", "shortcut"):
        stray = term.order_create(cashier, pay=True)
        strays.append(stray["op_id"])
        stray["device_id"] = other.device_id
        fine = term.order_create(cashier, pay=True)
        resp = _push(term, [fine, stray][::-1], via)  # sent out of order on purpose
        assert [(r["op_seq"], r["status"]) for r in resp["results"]] == [
            (stray["op_seq"], "rejected"), (fine["op_seq"], "applied")]
        assert "device_id" in resp["results"][0]["reason"]
        assert resp["last_applied_seq"] == fine["op_seq"] and resp["gap_from"] is None
        nxt = term.order_create(cashier)
        after = _push(term, [nxt], via)  # the next push is not held at the stray op
        assert after["gap_from"] is None
        assert after["results"][0]["status"] == "applied"
    assert sorted(q["op_id"] for q in _quarantined(tenant, term)) == sorted(strays)


def test_a_reused_op_seq_is_quarantined_once_and_answers_in_order(tenant: Tenant) -> None:
    term, cashier = tenant.enroll(name="Reuse"), tenant.staff[Role.CASHIER]
    first = term.order_create(cashier)
    assert term.push([first])["last_applied_seq"] == 1
    reused = term.order_create(cashier)
    reused["op_seq"] = 1  # a client that renumbered
    term.seq = 1
    second = term.order_create(cashier)
    for _ in range(2):  # sent twice: one quarantine entry
        resp = _push(term, [second, reused], "route")
        assert [(r["op_seq"], r["status"]) for r in resp["results"]] == [
            (1, "rejected"), (2, "applied" if _ == 0 else "duplicate")]
        assert resp["results"][0]["reason"] == (
            f"op_seq 1 was already used by op {first['op_id']}")
        assert resp["last_applied_seq"] == 2
    filed = _quarantined(tenant, term)
    assert [q["op_id"] for q in filed] == [reused["op_id"]]
    assert filed[0]["reason"].startswith("op_seq 1 was already used")


def test_an_op_id_of_another_device_consumes_its_op_seq(tenant: Tenant) -> None:
    term, other = tenant.enroll(name="Copycat"), tenant.enroll(name="Original")
    cashier = tenant.staff[Role.CASHIER]
    original = other.order_create(cashier)
    assert other.push([original])["results"][0]["status"] == "applied"
    copy = term.order_create(cashier)
    copy["op_id"] = original["op_id"]
    fine = term.order_create(cashier)
    resp = _push(term, [copy, fine], "shortcut")
    assert [(r["op_seq"], r["status"]) for r in resp["results"]] == [
        (1, "rejected"), (2, "applied")]
    assert resp["last_applied_seq"] == 2 and resp["gap_from"] is None
    filed = _quarantined(tenant, term)
    assert [q["op_id"] for q in filed] == [original["op_id"]]
    # an admin's resubmission never touches the other device's stored result
    with tenant.server.client() as c:
        r = c.post(f"/sync/quarantine/{filed[0]['id']}/resubmit", json={},
                   headers=tenant.login(Role.ADMIN))
        assert r.status_code == 200, r.text
    replay = other.push([original])["results"][0]
    assert replay["status"] == "duplicate" and replay["entity_id"] == original["entity_id"]


def test_no_reason_is_an_exceptions_text(tenant: Tenant) -> None:
    """The catch-all of server/sync/dispatch.py answers in words and logs the error."""
    from server.sync import dispatch

    term, cashier = tenant.enroll(name="Bug"), tenant.staff[Role.CASHIER]
    op = term.op("customer.upsert", new_id(), cashier, {"name": "Ann"})
    real = dispatch.HANDLERS[dispatch.OpType.CUSTOMER_UPSERT]

    def broken(_oc: Any) -> Any:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    dispatch.HANDLERS[dispatch.OpType.CUSTOMER_UPSERT] = broken
    try:
        resp = term.push([op])
    finally:
        dispatch.HANDLERS[dispatch.OpType.CUSTOMER_UPSERT] = real
    reason = resp["results"][0]["reason"]
    assert resp["results"][0]["status"] == "rejected"
    assert "OverflowError" not in reason and "INTEGER" not in reason
    assert "could not apply this operation" in reason and op["op_id"] in reason
    assert resp["last_applied_seq"] == op["op_seq"]


def test_head_is_never_below_the_pages_cursor(tenant: Tenant) -> None:
    """PostgreSQL reads the store's head before the page's rows: a push committing in
    between put the cursor past the head."""
    reader, writer = tenant.enroll(name="Reader"), tenant.enroll(name="Writer")
    cashier = tenant.staff[Role.CASHIER]
    stop = threading.Event()

    def keep_pushing() -> None:
        with writer.server.client() as c:
            while not stop.is_set():
                writer.push([writer.order_create(cashier)], client=c)

    thread = threading.Thread(target=keep_pushing, daemon=True)
    thread.start()
    bad: list[tuple[int, int]] = []
    try:
        after = 0
        with reader.server.client() as c:
            for _ in range(300):
                page = c.get("/sync/pull", params={"after": after, "limit": 1000},
                             headers=reader.headers).json()
                if page["head"] < page["cursor"]:
                    bad.append((page["head"], page["cursor"]))
                after = page["cursor"]
    finally:
        stop.set()
        thread.join(30)
    assert not bad


def test_an_op_the_server_cannot_write_is_rejected_alone(tenant: Tenant,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An error outside any op's savepoint (here: writing the op's stored result, as an
    integer past 64 bits once did on SQLite) used to fail the whole push with 500 on every
    try. The chunk is now applied op by op and only that op is rejected, in words."""
    from server.db.models import ProcessedOp
    from server.sync import chunk

    term, cashier = tenant.enroll(name="Poison"), tenant.staff[Role.CASHIER]
    ops = [term.order_create(cashier, pay=True) for _ in range(3)]
    poison = ops[1]["entity_id"]
    real = chunk.insert_rows

    def insert_rows(conn: Any, table: Any, rows: Any) -> None:
        if table is ProcessedOp.__table__ and any(
                r["entity_id"] == poison and r["status"] != "rejected" for r in rows):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        real(conn, table, rows)

    monkeypatch.setattr(chunk, "insert_rows", insert_rows)
    resp = _push(term, ops, "shortcut")
    assert [r["status"] for r in resp["results"]] == ["applied", "rejected", "applied"]
    assert resp["last_applied_seq"] == 3
    reason = resp["results"][1]["reason"]
    assert "could not apply this operation" in reason and "OverflowError" not in reason
    assert [q["op_id"] for q in _quarantined(tenant, term)] == [ops[1]["op_id"]]
