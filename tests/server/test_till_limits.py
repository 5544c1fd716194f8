"""Till limits by role on the server (server/sync/till_limits.py), on both databases: a
sale with a discount or a price override past its actor's limit, or a refund without a
receipt by someone whose limits do not allow one, is rejected in words without an
approver; with an approver whose limits cover it and their proof, it is applied; with
a wrong proof, rejected. The store's limits are set by PATCH /stores/{id} and reach the
store's tills in the feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.ids import new_id
from app.domain.operations import Entity, OpType
from app.domain.permissions import Role
from app.domain.totals import Discount, LineInput, compute
from tests.server.support import Tenant, Terminal


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _sale(term: Terminal, actor: str, *, percent_ppm: int = 0, unit_price: int = 1000,
          list_price: int | None = None, order_percent_ppm: int = 0,
          approved_by: str | None = None) -> dict[str, Any]:
    """A one-line sale of ``unit_price`` with a line discount of ``percent_ppm``."""
    discount = Discount(percent_ppm=percent_ppm)
    totals = compute([LineInput(unit_price, 1000, 200_000, discount)],
                     Discount(percent_ppm=order_percent_ppm), inclusive=True)
    t = totals.lines[0]
    line_id = new_id()
    op = term.order_create(actor, lines=[{
        "id": line_id, "product_id": None, "sku": None, "name": "Wool scarf",
        "unit_price": unit_price, "qty_milli": 1000, "tax_rate_ppm": 200_000,
        "discount_percent_ppm": percent_ppm, "discount_amount": 0,
        "gross": t.gross, "net": t.net, "tax": t.tax, "total": t.total}])
    op["payload"].update(subtotal=totals.subtotal, discount=totals.discount, tax=totals.tax,
                         total=totals.total, order_discount_percent_ppm=order_percent_ppm)
    if list_price is not None:
        op["payload"]["price_overrides"] = [{"line_id": line_id, "list_price": list_price}]
    if approved_by is not None:
        op["payload"]["approved_by"] = approved_by
    return op


def _one(term: Terminal, op: dict[str, Any]) -> dict[str, Any]:
    return term.push([op])["results"][0]


def test_a_cashiers_60_percent_discount_needs_a_manager(tenant: Tenant) -> None:
    cashier, manager, term = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER], tenant.term
    within = _one(term, _sale(term, cashier, percent_ppm=100_000))
    assert within["status"] == "applied", within
    alone = _one(term, _sale(term, cashier, percent_ppm=600_000))
    assert alone["status"] == "rejected", alone
    assert "needs a manager's approval" in alone["reason"]
    assert "60 % discount on Wool scarf is over a cashier's 10 % line limit" in alone["reason"]
    approved = _one(term, _sale(term, cashier, percent_ppm=600_000, approved_by=manager))
    assert approved["status"] == "applied", approved


def test_an_approval_without_a_valid_proof_is_rejected(tenant: Tenant) -> None:
    cashier, manager, term = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER], tenant.term
    no_proof = _sale(term, cashier, percent_ppm=600_000, approved_by=manager)
    no_proof["approval_proof"] = None
    forged = _sale(term, cashier, percent_ppm=600_000, approved_by=manager)
    forged["approval_proof"] = {"kind": "offline", "by": manager, "mac": "0" * 64}
    by_a_cashier = _sale(term, cashier, percent_ppm=600_000, approved_by=cashier)
    res = term.push([no_proof, forged, by_a_cashier])["results"]
    assert [r["status"] for r in res] == ["rejected"] * 3, res
    assert "has no proof" in res[0]["reason"]
    assert "does not fit" in res[1]["reason"]
    assert "cashier person may not approve this sale" in res[2]["reason"]


def test_an_order_discount_and_a_price_override_past_the_limit(tenant: Tenant) -> None:
    cashier, manager, term = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER], tenant.term
    res = term.push([
        _sale(term, cashier, order_percent_ppm=50_000),
        _sale(term, cashier, unit_price=600, list_price=1000),
        _sale(term, cashier, unit_price=600, list_price=1000, approved_by=manager),
        _sale(term, manager, unit_price=600, list_price=1000),
    ])["results"]
    assert [r["status"] for r in res] == ["rejected", "rejected", "applied", "applied"], res
    assert "5 % discount on the whole sale is over a cashier's 0 % order limit" in res[0]["reason"]
    assert "the price of Wool scarf was changed" in res[1]["reason"]


def test_a_cashiers_order_discount_within_the_limit_alone_past_it_approved(
        tenant: Tenant) -> None:
    """Issue 14 item 6: a cashier may give an order discount like a line discount: within
    their order limit alone, past it with a manager; either way applied unflagged (the
    limit decides, not a permission only managers had)."""
    cashier, manager, term = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER], tenant.term
    with tenant.server.client() as c:
        r = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER),
                    json={"till_limits": {"order_discount_ppm": {"cashier": 50_000}}})
        assert r.status_code == 200, r.text
    res = term.push([
        _sale(term, cashier, order_percent_ppm=50_000),
        _sale(term, cashier, order_percent_ppm=200_000),
        _sale(term, cashier, order_percent_ppm=200_000, approved_by=manager),
    ])["results"]
    assert [r["status"] for r in res] == ["applied", "rejected", "applied"], res
    assert "20 % discount on the whole sale is over a cashier's 5 % order limit" in res[1]["reason"]
    assert "discount_not_permitted" not in res[0]["flags"] + res[2]["flags"], res


def _refund(term: Terminal, actor: str, approver: str, order: dict[str, Any]) -> dict[str, Any]:
    p = order["payload"]
    line = p["lines"][0]
    refund_id = new_id()
    return term.op(OpType.REFUND_CREATE, refund_id, actor, {
        "refund_id": refund_id, "order_id": order["entity_id"],
        "lines": [{"line_id": line["id"], "qty_milli": 1000, "amount": line["total"]}],
        "amount": line["total"], "method": "cash", "restock": False,
        "reason": "no receipt, regular customer", "approved_by": approver,
        "created_at": _now(), "without_receipt": True})


def test_store_limits_reach_the_feed_and_govern_receiptless_refunds(tenant: Tenant) -> None:
    manager, owner, term = tenant.staff[Role.MANAGER], tenant.staff[Role.OWNER], tenant.term
    with tenant.server.client() as c:
        r = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER), json={
            "till_limits": {"refund_without_receipt": ["owner"],
                            "line_discount_ppm": {"cashier": 200_000}}})
        assert r.status_code == 200, r.text
        limits = r.json()["till_limits"]
    assert limits["refund_without_receipt"] == ["owner"]
    assert limits["line_discount_ppm"]["cashier"] == 200_000
    assert limits["order_discount_ppm"]["manager"] == 1_000_000  # the rest: defaults
    stores = [c for c in term.pull_all()[0] if c["entity_type"] == Entity.STORE]
    assert stores[-1]["data"]["till_limits"] == limits
    paid = term.order_create(manager, pay=True)
    res = term.push([paid, _refund(term, manager, manager, paid),
                     _refund(term, manager, owner, paid)])["results"]
    assert [r["status"] for r in res] == ["applied", "rejected", "applied"], res
    assert "refund without a receipt is beyond a manager's till limits" in res[1]["reason"]
    cashier = tenant.staff[Role.CASHIER]  # 20 % is now within a cashier's line limit
    assert _one(term, _sale(term, cashier, percent_ppm=200_000))["status"] == "applied"
