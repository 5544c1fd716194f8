"""Every state the change feed carries fits its declared model (app/domain/feed_states.py).

A varied day goes through the real server (till pushes and back-office calls: sales with
a customer, a plan and payments, a refund, a deletion, a rejected request, stock, catalog
edits, a conflict, store settings, a shift opened and closed, an item of the
reconciliation list accepted), then the pull and the snapshot are read and each
change is checked against the model of its ``entity_type``: it validates, and it has no
key the model does not declare (a client written from /openapi.json would miss it).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.feed_states import STATE_MODELS, state_model, unknown_keys
from app.domain.ids import new_id
from app.domain.operations import OpType
from app.domain.permissions import Role
from tests.server.support import Tenant, line


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _product(t: Tenant, actor: str, price: int) -> tuple[str, dict[str, Any]]:
    pid = new_id()
    return pid, t.term.op(OpType.PRODUCT_CREATE, pid, actor, {
        "sku": f"SKU-{pid[-8:]}", "name": "Tea", "category": "Drinks", "price": price,
        "tax_rate_ppm": 200_000, "barcodes": [], "reorder_level_milli": 2000})


def _sale_with_plan(t: Tenant, actor: str, product_id: str) -> tuple[str, dict[str, Any]]:
    op = t.term.order_create(actor, lines=[line(product_id, 1000, 3000)])
    p = op["payload"]
    first = p["total"] // 3
    p["customer"] = {"id": new_id(), "name": "Ada Lovelace", "phone": "+44 20 7946 0000"}
    p["installments"] = [
        {"id": new_id(), "number": 1, "due_date": str(date.today() + timedelta(days=30)),
         "amount": p["total"] - first}]
    p["payments"] = [{"id": new_id(), "order_id": op["entity_id"], "method": "cash",
                      "amount": first, "tendered": first, "change": 0, "created_at": _now()}]
    return op["entity_id"], op


def _day(t: Tenant) -> None:
    """Till pushes and back-office calls that touch every entity type."""
    cashier, stock = t.staff[Role.CASHIER], t.staff[Role.STOCK]
    pid, make = _product(t, stock, 1000)
    order_id, sale = _sale_with_plan(t, cashier, pid)
    paid, unpaid = t.term.order_create(cashier, pay=True), t.term.order_create(cashier)
    ops = [make, sale, paid, unpaid,
           t.term.op(OpType.STOCK_ADJUST, pid, stock, {
               "movement_id": new_id(), "product_id": pid, "kind": "receive",
               "qty_delta_milli": 12_000, "reason": "delivery", "created_at": _now()}),
           t.term.op(OpType.PAYMENT_RECORD, order_id, cashier, {
               "id": new_id(), "order_id": order_id, "method": "card", "amount": 100,
               "tendered": 100, "created_at": _now()}),
           t.term.op(OpType.APPROVAL_REQUEST, new_id(), cashier, {
               "approval_id": new_id(), "kind": "delete", "order_id": paid["entity_id"],
               "reason": "customer changed their mind", "requested_at": _now()})]
    ops[-1]["entity_id"] = approval_id = ops[-1]["payload"]["approval_id"]
    review_id = new_id()
    ops.append(t.term.op(OpType.STOCK_ACCEPT, review_id, stock, {
        "review_id": review_id, "key": f"negative:{pid}:-1000", "kind": "negative",
        "product_id": pid, "on_hand_milli": -1000, "note": "shelf checked",
        "accepted_at": _now()}))
    shift_id = new_id()
    ops.append(t.term.op(OpType.SHIFT_OPEN, shift_id, cashier, {
        "shift_id": shift_id, "opened_at": _now(), "opening_float": 5000,
        "float_counted": {"1000": 5}}))
    ops.append(t.term.op(OpType.SHIFT_CLOSE, shift_id, cashier, {
        "shift_id": shift_id, "closed_at": _now(), "counted_cash": 5000,
        "expected_cash": 5100, "over_short": -100, "reason": "short"}))
    results = t.term.push(ops)["results"]
    assert [r["status"] for r in results] == ["applied"] * len(ops), results
    other = t.enroll(name="Second till")
    # the same field edited on two tills against one base: the second is a conflict
    for till, note in ((t.term, "gift wrap"), (other, "deliver friday")):
        res = till.push([till.op(OpType.ORDER_UPDATE, order_id, t.staff[Role.MANAGER], {
            "fields": {"note": {"base": None, "value": note}}}, base_version=1)])
        assert res["results"][0]["status"] in ("applied", "conflict"), res
    _back_office(t, pid, unpaid["entity_id"], paid["entity_id"], approval_id)


def _back_office(t: Tenant, product_id: str, order_id: str, paid_id: str,
                 approval_id: str) -> None:
    headers = t.login(Role.MANAGER)
    with t.server.client() as c:
        checks = [
            c.patch(f"/products/{product_id}", headers=headers,
                    json={"fields": {"price": {"base": 1000, "value": 1100}}}),
            c.post(f"/approvals/{approval_id}/decide", headers=headers,
                   json={"approved": False, "note": "kept"}),
            c.post(f"/offline-orders/{paid_id}/refunds", headers=headers, json={
                "refund_id": new_id(), "amount": 100, "reason": "broken", "restock": False}),
            c.request("DELETE", f"/offline-orders/{order_id}", headers=headers,
                      json={"reason": "entered twice"}),
            c.patch(f"/stores/{t.store_id}", headers=t.login(Role.OWNER),
                    json={"receipt_footer": "Thank you", "recount_share_ppm": 300_000}),
        ]
    for r in checks:
        assert r.status_code < 300, (r.request.url, r.text)


def _check(changes: list[dict[str, Any]]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for c in changes:
        model = state_model(c["entity_type"])
        assert model is not None, f"no state model for entity_type {c['entity_type']!r}"
        if c.get("deleted") and not c["data"]:
            continue
        model.model_validate(c["data"])
        extra = unknown_keys(model, c["data"])
        assert not extra, f"{c['entity_type']} carries undeclared keys {sorted(extra)}"
        for nested, key in (("order", "lines"), ("order", "payments"), ("order", "refunds")):
            if c["entity_type"] == nested:
                sub = model.model_fields[key].annotation.__args__[0]  # type: ignore[union-attr]
                for item in c["data"][key]:
                    assert not unknown_keys(sub, item), (key, sorted(unknown_keys(sub, item)))
        seen[c["entity_type"]] += 1
    return seen


def test_every_feed_state_fits_its_model(tenant: Tenant) -> None:
    _day(tenant)
    changes, _ = tenant.term.pull_all()
    seen = _check(changes)
    with tenant.server.client() as c:
        r = c.get("/sync/snapshot", headers=tenant.term.headers)
        assert r.status_code == 200, r.text
        snapshot = r.json()["changes"]
        while r.json().get("has_more"):
            r = c.get("/sync/snapshot", headers=tenant.term.headers,
                      params={"page_token": r.json()["next_page_token"]})
            snapshot += r.json()["changes"]
    seen += _check(snapshot)
    missing = {e.value for e in STATE_MODELS} - set(seen)
    assert not missing, f"the day never produced {sorted(missing)}; seen {dict(seen)}"
