"""Issue 20, part 1: the money and order rules (app/domain/order_rules.py) hold on every
server path — a push through the ORM handlers, a push of several sales through the bulk
writer, the REST back office — with the till's words; what a till could not know only
flags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.backoffice import service
from server.context import StaffPrincipal
from server.db.models import Order, Organization, Product, QuarantinedOp
from server.sync import chunk
from tests.server.support import Tenant, Terminal, line, make_tenant

NOW = datetime.now(UTC).isoformat


def _payment(order_id: str, amount: int, method: str = "cash") -> dict[str, Any]:
    return {"id": new_id(), "order_id": order_id, "method": method, "amount": amount,
            "tendered": max(amount, 0), "change": 0, "created_at": NOW()}


def _pushed(term: Terminal, actor: str, *, pay: bool = False) -> dict[str, Any]:
    op = term.order_create(actor, pay=pay)
    assert term.push([op])["results"][0]["status"] == "applied"
    return op


def _order(tenant: Tenant, order_id: str) -> Order:
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, order_id)
        assert order is not None
        s.expunge(order)
        return order


def _status(term: Terminal, ops: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["status"], r.get("reason") or "") for r in term.push(ops)["results"]]


def test_payments_positive_in_a_known_tender_and_never_reopening(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    pending = _pushed(term, cashier)
    done = _pushed(term, cashier, pay=True)
    oid, cid = pending["entity_id"], done["entity_id"]
    pays = [term.op("payment.record", oid, cashier, _payment(oid, -499)),
            term.op("payment.record", oid, cashier, _payment(oid, 0)),
            term.op("payment.record", oid, cashier, _payment(oid, 100, "bitcoin")),
            term.op("payment.record", cid, cashier, _payment(cid, -499)),
            term.op("payment.record", oid, cashier, _payment(oid, 100))]
    got = _status(term, pays)
    assert [s for s, _ in got] == ["rejected"] * 4 + ["applied"]
    assert "A payment must be more than zero" in got[0][1] and got[1][1] == got[0][1]
    assert "“bitcoin” is not a tender this store takes (cash, card, other)" in got[2][1]
    assert _order(tenant, oid).paid == 100
    assert _order(tenant, cid).status == "completed"  # never reopened to pending
    with tenant.server.ctx.reader() as s:
        held = s.scalars(select(QuarantinedOp.op_id).where(
            QuarantinedOp.org_id == tenant.org_id)).all()
    assert {op["op_id"] for op in pays[:4]} <= set(held)
    with tenant.server.client() as c:  # REST says the same, as a 422
        tenant.seen_at(Role.MANAGER)  # works at the store's till
        h = tenant.login(Role.MANAGER)
        for amount, method in ((-499, "cash"), (0, "cash"), (100, "bitcoin")):
            r = c.post(f"/offline-orders/{oid}/payments", headers=h,
                       json={"id": new_id(), "method": method, "amount": amount})
            assert r.status_code == 422, r.text
        assert "more than zero" in c.post(f"/offline-orders/{oid}/payments", headers=h, json={
            "id": new_id(), "method": "cash", "amount": -499}).json()["error"]["message"]


def test_refunds_within_what_was_sold_and_paid(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    paid = _pushed(term, owner, pay=True)
    unpaid = _pushed(term, owner)
    oid, total = paid["entity_id"], paid["payload"]["total"]
    li = paid["payload"]["lines"][0]

    def refund(order_id: str, amount: int, qty: int, line_id: str) -> dict[str, Any]:
        rid = new_id()
        return term.op("refund.create", rid, owner, {
            "refund_id": rid, "order_id": order_id, "amount": amount, "method": "cash",
            "restock": False, "reason": "faulty", "created_at": NOW(),
            "lines": [{"line_id": line_id, "qty_milli": qty, "amount": amount}]})

    got = _status(term, [
        refund(oid, 1_000_000 + total - 1, 1000, li["id"]),  # refunded would be 1,000,517
        refund(unpaid["entity_id"], 0, 1, unpaid["payload"]["lines"][0]["id"]),
        refund(oid, 100, li["qty_milli"] + 1, li["id"]),  # more than was sold
        refund(oid, 100, 1000, li["id"]),
        refund(oid, total - 100, 1000, li["id"]),
        refund(oid, 1, 1, li["id"]),  # nothing left of the line, nothing left paid
    ])
    assert [s for s, _ in got] == ["rejected", "applied", "rejected", "applied", "applied",
                                   "rejected"]
    assert "can be refunded" in got[0][1] and "was paid" in got[0][1]
    assert "at most" in got[2][1]
    order = _order(tenant, oid)
    assert (order.refunded, order.status) == (total, "refunded")
    neg = refund(unpaid["entity_id"], 0, -1, unpaid["payload"]["lines"][0]["id"])
    assert _status(term, [neg])[0][0] == "rejected"


def test_deleting_needs_the_money_refunded_first(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    op = term.order_create(owner, lines=[line(None, 5000, 1000)])
    assert term.push([op])["results"][0]["status"] == "applied"
    oid = op["entity_id"]
    pay = term.op("payment.record", oid, owner, _payment(oid, 1623))
    delete = term.op("order.delete", oid, owner, {"reason": "entered twice"})
    got = _status(term, [pay, delete])
    assert got[0][0] == "applied" and got[1][0] == "rejected"
    assert "€16.23 was collected on this order: refund it before deleting" in got[1][1]
    with tenant.server.client() as c:
        r = c.request("DELETE", f"/offline-orders/{oid}", headers=tenant.login(Role.OWNER),
                      json={"reason": "entered twice"})
        assert r.status_code == 409
        assert "€16.23 was collected" in r.json()["error"]["message"]
    rid = new_id()
    refund = term.op("refund.create", rid, owner, {
        "refund_id": rid, "order_id": oid, "amount": 1623, "method": "cash", "restock": False,
        "reason": "customer changed mind", "created_at": NOW(), "lines": []})
    again = term.op("order.delete", oid, owner, {"reason": "entered twice"})
    assert [s for s, _ in _status(term, [refund, again])] == ["applied", "applied"]
    assert _order(tenant, oid).status == "deleted"
    late = term.op("payment.record", oid, owner, _payment(oid, 500))
    status, reason = _status(term, [late])[0]
    assert status == "rejected" and "a deleted order takes no payment" in reason


def _bad_sales(term: Terminal, actor: str) -> dict[str, dict[str, Any]]:
    """One order.create per rule an order.create can break."""
    bad: dict[str, dict[str, Any]] = {}
    op = term.order_create(actor)
    op["payload"]["reference"] = "not-a-GO-ref"
    bad["reference"] = op
    neg = line(None, 250, 1000)
    neg["qty_milli"] = -1000
    bad["negative qty"] = term.order_create(actor, lines=[neg])
    plan = term.order_create(actor)
    total = plan["payload"]["total"]
    start = date.today()
    plan["payload"]["installments"] = [
        {"id": new_id(), "number": n, "due_date": (start + timedelta(days=30 * n)).isoformat(),
         "amount": total // 2} for n in (1, 2)]
    plan["payload"]["installments"][1]["amount"] += 7  # does not add up to what is owed
    bad["schedule"] = plan
    bitcoin = term.order_create(actor, pay=True)
    bitcoin["payload"]["payments"][0]["method"] = "bitcoin"
    bad["tender"] = bitcoin
    return bad


@pytest.mark.parametrize("path", ["bulk", "orm"])
def test_order_create_rules_on_the_orm_and_the_bulk_path(
        tenant: Tenant, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad sales between good ones in one push: each bad one rejected in words, with the
    same words on both writers (the bulk writer calls the ORM handler's rules)."""
    if path == "orm":
        monkeypatch.setattr(chunk, "is_bulk", lambda op: False)
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    bad = _bad_sales(term, cashier)
    batch: list[dict[str, Any]] = []
    for op in bad.values():
        batch += [term.order_create(cashier, pay=True), op]
    batch = [dict(op, op_seq=n) for n, op in enumerate(batch, term.seq - len(batch) + 1)]
    got = _status(term, batch)
    assert [s for s, _ in got[0::2]] == ["applied"] * len(bad)
    assert [s for s, _ in got[1::2]] == ["rejected"] * len(bad), got
    reasons = dict(zip(bad, (r for _, r in got[1::2]), strict=True))
    assert "“not-a-GO-ref” is not an order reference" in reasons["reference"]
    assert "qty_milli" in reasons["negative qty"] or "more than zero" in reasons["negative qty"]
    assert "is owed after the down payment" in reasons["schedule"]
    assert "“bitcoin” is not a tender" in reasons["tender"]


def test_a_reused_reference_is_applied_flagged_and_listed(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first = _pushed(term, cashier)
    again = term.order_create(cashier)
    again["payload"]["reference"] = first["payload"]["reference"]
    res = term.push([again])["results"][0]
    assert res["status"] == "applied" and "duplicate_reference" in res["flags"]
    batch = [term.order_create(cashier), term.order_create(cashier)]  # the bulk path
    batch[1]["payload"]["reference"] = first["payload"]["reference"]
    results = term.push(batch)["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert "duplicate_reference" in results[1]["flags"]
    owner = StaffPrincipal(tenant.staff[Role.OWNER], tenant.org_id, "owner", "Owner")
    page = service.list_orders(tenant.server.ctx, owner, date_from=None, date_to=None,
                               status=None, store_id=None, offline=None, limit=50, offset=0,
                               flag="duplicate_reference")
    assert {o.id for o in page.items} == {again["entity_id"], batch[1]["entity_id"]}
    assert all(o.reference == first["payload"]["reference"] for o in page.items)
    assert "duplicate_reference" not in _order(tenant, first["entity_id"]).flags  # kept apart


def test_rest_orders_take_server_references_and_refuse_duplicates(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    pushed = _pushed(term, cashier)
    li = line(None, 500, 1000)

    def body(reference: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        lines = lines or [dict(li, id=new_id())]
        return {"id": new_id(), "reference": reference, "store_id": tenant.store_id,
                "currency": "EUR", "tax_inclusive": True, "lines": lines,
                "subtotal": 500, "discount": 0, "tax": li["tax"], "total": 500,
                "created_at": NOW()}

    with tenant.server.client() as c:
        tenant.seen_at(Role.MANAGER)  # works at the store's till
        h = tenant.login(Role.MANAGER)
        refs = []
        for _ in range(2):
            r = c.post("/offline-orders", headers=h, json=body("GO-AB0001"))
            assert r.status_code == 201, r.text
            refs.append(r.json()["order"]["reference"])
        assert refs == ["GO-ZZ0001", "GO-ZZ0002"]
        r = c.post("/offline-orders", headers=h, json=body(pushed["payload"]["reference"]))
        assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_reference"
        r = c.post("/offline-orders", headers=h, json=body("not-a-GO-ref"))
        assert r.status_code == 422
        taken = dict(pushed["payload"]["lines"][0])  # a line id another order holds
        r = c.post("/offline-orders", headers=h, json=body("GO-AB0002", [taken]))
        assert r.status_code in (409, 422), r.text
        assert "already used by another order" in r.json()["error"]["message"]
    server_ref = term.order_create(cashier)  # no till may take the server's range
    server_ref["payload"]["reference"] = "GO-ZZ0009"
    assert _status(term, [server_ref])[0][0] == "rejected"


def test_a_pushed_line_id_of_another_order_is_rejected_in_words(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first = _pushed(term, cashier)
    reused = term.order_create(cashier, lines=[dict(first["payload"]["lines"][0])])
    status, reason = _status(term, [reused])[0]
    assert status == "rejected" and "already used by another order" in reason


def test_stock_adjust_of_a_product_outside_the_organization(tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    with make_tenant(tenant.server) as other:
        pid = new_id()
        op = other.term.op("product.create", pid, other.staff[Role.STOCK], {
            "sku": "X-" + pid[-6:], "name": "Theirs", "price": 100, "tax_rate_ppm": 0})
        assert other.term.push([op])["results"][0]["status"] == "applied"
    ops = [term.op("stock.adjust", p, stock, {
        "movement_id": new_id(), "product_id": p, "kind": "receive", "qty_delta_milli": 5000,
        "created_at": NOW()}) for p in (pid, new_id())]
    got = _status(term, ops)
    assert [s for s, _ in got] == ["rejected", "rejected"]
    assert all("not in this organization's catalog" in r for _, r in got)
    with tenant.server.ctx.reader() as s:
        assert s.get(Product, pid) is not None  # untouched


def test_enrollment_never_hands_out_the_servers_code(tenant: Tenant) -> None:
    with tenant.server.ctx.writer.begin() as s:
        org = s.get(Organization, tenant.org_id)
        assert org is not None
        org.next_device_index = 1022
    assert tenant.enroll(name="Last till").device_code == "ZY"
    from server.tenancy import service as tenancy

    with tenant.server.ctx.writer.begin() as s:
        code, _ = tenancy.create_enrollment_code(s, tenant.org_id, tenant.store_id, 600)
    with tenant.server.client() as c:
        r = c.post("/terminals/enroll", json={"code": code, "name": "One too many"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_device_code"
