"""What a client written from docs/ alone found the server taking that no till sends
(/tmp/outsider, helper O): a sale in another currency than the store's, negative money
on a sale, a card payment beyond the balance. Refused alike by a push (one op: the ORM
handler; several: the bulk writer), kept in quarantine, and by the back office (422)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Order, QuarantinedOp, Staff
from server.db.models import Terminal as TerminalRow
from tests.server.support import PINS, RunningServer, Tenant, line, make_tenant

NOW = lambda: datetime.now(UTC).isoformat()  # noqa: E731


def _results(tenant: Tenant, ops: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["status"], r.get("reason") or "") for r in tenant.term.push(ops)["results"]]


def _both_paths(tenant: Tenant, make_bad: Any) -> list[str]:
    """The reasons a bad sale gets alone (ORM handler) and between two good ones (bulk)."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    alone = make_bad()
    (status, reason), = _results(tenant, [alone])
    assert status == "rejected", reason
    run = [term.order_create(cashier), make_bad(), term.order_create(cashier)]
    got = _results(tenant, run)
    assert [s for s, _ in got] == ["applied", "rejected", "applied"], got
    with tenant.server.ctx.reader() as s:
        held = set(s.scalars(select(QuarantinedOp.op_id).where(
            QuarantinedOp.org_id == tenant.org_id)))
        assert s.get(Order, alone["entity_id"]) is None
    assert {alone["op_id"], run[1]["op_id"]} <= held
    return [reason, got[1][1]]


def _rest(tenant: Tenant, **change: Any) -> tuple[int, dict[str, Any]]:
    li = line(None, 500, 1000)
    body = {"id": new_id(), "store_id": tenant.store_id, "currency": "EUR",
            "tax_inclusive": True, "lines": [li], "subtotal": li["gross"], "discount": 0,
            "tax": li["tax"], "total": li["total"], "created_at": NOW()}
    lines = change.pop("lines", None)
    if lines:
        body["lines"] = [dict(li, **lines)]
    body.update(change)
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    with tenant.server.client() as c:
        r = c.post("/offline-orders", headers=tenant.login(Role.MANAGER), json=body)
    return r.status_code, r.json()


def test_a_sale_in_another_currency_than_the_stores_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]

    def usd() -> dict[str, Any]:
        op = term.order_create(cashier, pay=True)
        op["payload"]["currency"] = "USD"
        return op

    for reason in _both_paths(tenant, usd):
        assert "currency USD is not this store's currency EUR" in reason
    status, body = _rest(tenant, currency="USD")
    assert status == 422, body
    assert "currency USD is not this store's currency EUR" in body["error"]["message"]


def test_negative_money_on_a_sale_is_refused(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    for reason in _both_paths(tenant, lambda: term.order_create(
            cashier, lines=[line(None, -500, 1000)])):
        assert "Line 1: the unit price cannot be negative" in reason
    neg = line(None, -500, 1000)
    status, body = _rest(tenant, lines=neg, subtotal=neg["gross"], tax=neg["tax"],
                         total=neg["total"])
    assert status == 422, body
    assert "unit price cannot be negative" in body["error"]["message"]
    # a line's figures below zero at a price that is not: refused too
    for reason in _both_paths(tenant, lambda: _with_line(
            term.order_create(cashier), total=-1)):
        assert "Line 1: the total cannot be negative" in reason


def _with_line(op: dict[str, Any], **change: Any) -> dict[str, Any]:
    op["payload"]["lines"][0].update(change)
    return op


def _paid(op: dict[str, Any], method: str, amount: int) -> dict[str, Any]:
    oid = op["entity_id"]
    op["payload"]["payments"] = [{"id": new_id(), "order_id": oid, "method": method,
                                  "amount": amount, "tendered": amount, "change": 0,
                                  "created_at": NOW()}]
    return op


def test_a_card_payment_beyond_the_balance_is_refused_cash_is_flagged(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    for reason in _both_paths(tenant, lambda: _paid(term.order_create(cashier), "card",
                                                    10**9)):
        assert "A card payment cannot be more than the balance due" in reason
    cash = _paid(term.order_create(cashier), "cash", 10**9)
    (status, reason), = _results(tenant, [cash])
    assert status == "applied", reason
    assert _flagged(tenant, cash["entity_id"])  # cash: change, flagged as payment.record
    oid = new_id()
    li = line(None, 500, 1000)
    status, body = _rest(tenant, id=oid, payments=[
        {"id": new_id(), "order_id": oid, "method": "card", "amount": 10**9,
         "tendered": 10**9, "change": 0, "created_at": NOW()}])
    assert status == 422, body
    assert "card payment cannot be more than the balance due" in body["error"]["message"]
    # POST /offline-orders/{id}/payments: a card payment beyond what is still due
    status, body = _rest(tenant)
    assert status == 201, body
    order_id, total = body["order"]["id"], body["order"]["total"]
    assert total == li["total"]
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.post(f"/offline-orders/{order_id}/payments", headers=h,
                   json={"id": new_id(), "method": "card", "amount": total + 1})
        assert r.status_code == 422, r.text
        assert "more than the balance due" in r.json()["error"]["message"]
        r = c.post(f"/offline-orders/{order_id}/payments", headers=h,
                   json={"id": new_id(), "method": "card", "amount": total})
        assert r.status_code in (200, 201), r.text
    # a till's card payment.record beyond the order's total: refused, kept in quarantine
    pending = term.order_create(cashier)
    assert _results(tenant, [pending])[0][0] == "applied"
    pid = pending["entity_id"]
    pay = term.op("payment.record", pid, cashier, _paid(pending, "card", 10**9)[
        "payload"]["payments"][0])
    (status, reason), = _results(tenant, [pay])
    assert status == "rejected" and "more than the balance due" in reason, reason


def _flagged(tenant: Tenant, order_id: str) -> bool:
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, order_id)
        assert order is not None
        return "overpaid" in (order.flags or [])


def test_a_body_that_is_not_json_is_422_as_the_docs_say(tenant: Tenant) -> None:
    """docs/client-guide.md §6 and docs/sync-protocol.md §2: 422 validation_error with
    ``details`` [{loc, msg, type: json_invalid}] (they promised 400 bad_request)."""
    with tenant.server.client() as c:
        for path, headers in (("/sync/push", tenant.term.headers),
                              ("/auth/login", {}), ("/terminals/enroll", {}),
                              ("/offline-orders", tenant.login(Role.MANAGER))):
            for raw in (b"{not json", b"\xff\xfe"):
                r = c.post(path, content=raw, headers={
                    **headers, "Content-Type": "application/json"})
                assert r.status_code == 422, (path, raw, r.text)
                err = r.json()["error"]
                assert err["code"] == "validation_error", err
                assert [d["type"] for d in err["details"]] == ["json_invalid"], err
                assert err["details"][0]["loc"][0] == "body", err
    root = Path(__file__).parents[2] / "docs"
    for doc in ("client-guide.md", "sync-protocol.md"):
        text = (root / doc).read_text()
        assert "`bad_request` (a body that is not JSON)" not in text, doc
        assert "json_invalid" in text, doc


def test_money_and_quantities_are_json_integers_only(tenant: Tenant) -> None:
    """true, "100" or 100.0 where the schema says integer: refused naming the field,
    not coerced to 1 or 100 (the till sends ints)."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    for field, value in (("unit_price", True), ("unit_price", "100"), ("qty_milli", "1000"),
                         ("total", 1.0), ("tax_rate_ppm", False)):
        for reason in _both_paths(tenant, lambda f=field, v=value: _with_line(
                term.order_create(cashier), **{f: v})):
            assert "invalid OrderCreate payload" in reason and field in reason, reason
    total = term.order_create(cashier)
    total["payload"]["total"] = str(total["payload"]["total"])
    (status, reason), = _results(tenant, [total])
    assert status == "rejected" and "total" in reason, reason
    status, body = _rest(tenant, lines={"unit_price": "500"})
    assert status == 422, body
    assert ["body", "lines", "0", "unit_price"] in [d["loc"] for d in body["error"]["details"]]
    status, body = _rest(tenant)
    assert status == 201, body
    with tenant.server.client() as c:
        r = c.post(f"/offline-orders/{body['order']['id']}/payments",
                   headers=tenant.login(Role.MANAGER),
                   json={"id": new_id(), "method": "cash", "amount": "100"})
        assert r.status_code == 422, r.text
        assert ["body", "amount"] in [d["loc"] for d in r.json()["error"]["details"]]


def test_a_sign_in_through_a_till_is_for_its_organizations_staff(
        tenant: Tenant, server: RunningServer) -> None:
    """Org A's till token with org B's credentials: 403 other_organization (was 200, the
    till's ceiling not applied); a wrong secret stays 401 invalid_credentials; a revoked
    till's token with a code: 401 invalid_token (was 422 org_required)."""
    till = tenant.enroll(name="Counter", max_role=Role.MANAGER)
    bearer = {"Authorization": f"Bearer {till.token}"}
    with make_tenant(server) as other, server.client() as c:
        for body in ({"staff_id": other.staff[Role.OWNER], "pin": PINS[Role.OWNER]},
                     {"staff_id": other.staff[Role.CASHIER], "pin": PINS[Role.CASHIER]}):
            r = c.post("/auth/login", json=body, headers=bearer)
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "other_organization"
        r = c.post("/auth/login", headers=bearer, json={
            "staff_id": other.staff[Role.OWNER], "pin": "000000"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
        # the same person without the till's token, and the till's own staff: fine
        assert c.post("/auth/login", json={"staff_id": other.staff[Role.OWNER],
                                           "pin": PINS[Role.OWNER]}).status_code == 200
        assert c.post("/auth/login", headers=bearer, json={
            "staff_id": tenant.staff[Role.CASHIER], "pin": PINS[Role.CASHIER]}
        ).status_code == 200
        with server.ctx.writer.begin() as s:
            row = s.get(TerminalRow, till.device_id)
            assert row is not None
            row.revoked = True
        by_id = c.post("/auth/login", headers=bearer, json={  # a staff id: token ignored
            "staff_id": tenant.staff[Role.CASHIER], "pin": PINS[Role.CASHIER]})
        assert by_id.status_code == 200, by_id.text
        with server.ctx.reader() as s:
            staff_code = s.scalar(select(Staff.code).where(
                Staff.id == tenant.staff[Role.CASHIER]))
        r = c.post("/auth/login", headers=bearer,
                   json={"code": staff_code, "pin": PINS[Role.CASHIER]})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token", r.text


def test_an_enrollment_link_takes_only_an_http_server_address(tenant: Tenant) -> None:
    """javascript:, ftp: and a value with CR/LF went into the link and QR (201)."""
    with tenant.server.client() as c:
        h = tenant.login(Role.OWNER)
        for bad in ("javascript:alert(1)", "ftp://evil", "http://x\r\nSet-Cookie: a=b",
                    "https://", "tillsync.example"):
            r = c.post("/terminals/enrollment-links", headers=h,
                       json={"store_id": tenant.store_id, "server_url": bad})
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["error"]["details"][0]["loc"] == ["body", "server_url"]
        r = c.post("/terminals/enrollment-links", headers=h, json={
            "store_id": tenant.store_id, "server_url": "https://till.example:8443/base"})
        assert r.status_code == 201, r.text
        assert "https%3A%2F%2Ftill.example%3A8443%2Fbase" in r.json()["link"]


def test_a_line_whose_computed_amount_is_out_of_range_is_refused(tenant: Tenant) -> None:
    """1e9 x 1e6 units (1e15 minor units) with the till's figures at 100 was applied
    (totals_mismatch) by push and 201 by REST, while PATCH refused the same lines."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]

    def huge() -> dict[str, Any]:
        return _with_line(term.order_create(cashier), unit_price=10**9, qty_milli=10**9)

    for reason in _both_paths(tenant, huge):
        assert "Line 1: unit_price × qty_milli must be a whole number" in reason, reason
    status, body = _rest(tenant, lines={"unit_price": 10**9, "qty_milli": 10**9})
    assert status == 422, body
    assert "unit_price × qty_milli" in body["error"]["message"]
    # two lines each in range whose sum is not: the server's subtotal
    big = [line(None, 600_000_000, 1000), line(None, 600_000_000, 1000)]
    two = term.order_create(cashier, lines=big)
    two["payload"].update(subtotal=100, tax=0, total=100)  # the till's figures
    (status, reason), = _results(tenant, [two])
    assert status == "rejected" and "as the server computes it" in reason, reason
