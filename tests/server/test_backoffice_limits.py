"""Till limits by role on the back office's paths (issue 14 item 6), on both databases
through the real server: an order, an edit, a refund and a refund request through REST
are judged by the signed-in person's own limits (a manager's own, higher ones; they are
their own approver); past them, 403 ``above_limit`` naming the limit, what it allows and
what was asked, and nothing written. An edit pushed by a till is judged the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from app.domain.ids import new_id
from app.domain.permissions import Role
from app.domain.totals import Discount, LineInput, compute
from tests.server.support import Tenant


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _body(tenant: Tenant, *, percent_ppm: int = 0, unit_price: int = 1000,
          product_id: str | None = None, order_percent_ppm: int = 0,
          list_price: int | None = None, **extra: Any) -> dict[str, Any]:
    """A back-office order of one line of ``unit_price`` with a line discount."""
    discount = Discount(percent_ppm=percent_ppm)
    totals = compute([LineInput(unit_price, 1000, 200_000, discount)],
                     Discount(percent_ppm=order_percent_ppm), inclusive=True)
    t = totals.lines[0]
    line_id = new_id()
    body = {
        "id": new_id(), "store_id": tenant.store_id, "currency": "EUR", "tax_inclusive": True,
        "lines": [{"id": line_id, "product_id": product_id, "sku": None, "name": "Wool scarf",
                   "unit_price": unit_price, "qty_milli": 1000, "tax_rate_ppm": 200_000,
                   "discount_percent_ppm": percent_ppm, "discount_amount": 0,
                   "gross": t.gross, "net": t.net, "tax": t.tax, "total": t.total}],
        "order_discount_percent_ppm": order_percent_ppm, "subtotal": totals.subtotal,
        "discount": totals.discount, "tax": totals.tax, "total": totals.total,
        "created_at": _now()} | extra
    if list_price is not None:
        body["price_overrides"] = [{"line_id": line_id, "list_price": list_price}]
    return body


def _above(r: httpx.Response, limit: str) -> dict[str, Any]:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "above_limit", error
    assert error["details"]["limit"] == limit, error
    return dict(error)


def _set_limits(tenant: Tenant, limits: dict[str, Any]) -> None:
    with tenant.server.client() as c:
        r = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER),
                    json={"till_limits": limits})
        assert r.status_code == 200, r.text


def test_a_cashiers_back_office_discount_is_held_to_the_cashiers_limit(tenant: Tenant) -> None:
    tenant.seen_at(Role.CASHIER, Role.MANAGER)  # both work at the store's till
    cashier, manager = tenant.login(Role.CASHIER), tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        sixty = _body(tenant, percent_ppm=600_000)
        error = _above(c.post("/offline-orders", headers=cashier, json=sixty),
                       "line_discount_ppm")
        assert error["details"]["allowed"] == 100_000
        assert error["details"]["asked"] == 600_000
        assert error["details"]["role"] == "cashier"
        assert "60 % discount on Wool scarf is over a cashier's 10 % line limit" \
            in error["message"]
        assert c.get(f"/offline-orders/{sixty['id']}", headers=manager).status_code == 404
        r = c.post("/offline-orders", headers=cashier, json=_body(tenant, percent_ppm=0))
        assert r.status_code == 201, r.text
        r = c.post("/offline-orders", headers=cashier, json=_body(tenant, percent_ppm=100_000))
        assert r.status_code == 201, r.text
        # a manager's own limit (100 % by default): they are their own approver
        r = c.post("/offline-orders", headers=manager, json=sixty)
        assert r.status_code == 201, r.text
        # an order discount: a cashier's limit is 0 % by default
        error = _above(c.post("/offline-orders", headers=cashier,
                              json=_body(tenant, order_percent_ppm=50_000)),
                       "order_discount_ppm")
        assert (error["details"]["allowed"], error["details"]["asked"]) == (0, 50_000)
        # nobody else approves in the back office: they sign in themselves
        r = c.post("/offline-orders", headers=cashier, json=_body(
            tenant, percent_ppm=600_000, approved_by=tenant.staff[Role.MANAGER]))
        assert r.status_code == 422, r.text
        assert "approved_by" in r.json()["error"]["message"]
    # the store's own limits: a manager held to 50 %
    _set_limits(tenant, {"line_discount_ppm": {"manager": 500_000}})
    with tenant.server.client() as c:
        error = _above(c.post("/offline-orders", headers=manager,
                              json=_body(tenant, percent_ppm=600_000)), "line_discount_ppm")
        assert (error["details"]["allowed"], error["details"]["asked"]) == (500_000, 600_000)
        r = c.post("/offline-orders", headers=manager, json=_body(tenant, percent_ppm=400_000))
        assert r.status_code == 201, r.text
        r = c.post("/offline-orders", headers=tenant.login(Role.OWNER),
                   json=_body(tenant, percent_ppm=600_000))
        assert r.status_code == 201, r.text


def test_a_cashiers_back_office_price_override_is_refused(tenant: Tenant) -> None:
    tenant.seen_at(Role.CASHIER, Role.MANAGER)  # both work at the store's till
    cashier, manager = tenant.login(Role.CASHIER), tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        r = c.post("/products", headers=manager, json={
            "sku": "SCARF", "name": "Wool scarf", "price": 1000, "tax_rate_ppm": 200_000})
        assert r.status_code == 201, r.text
        scarf = r.json()["id"]
        # a catalogue product at another price: an override, listed or not
        for body in (_body(tenant, unit_price=600, product_id=scarf),
                     _body(tenant, unit_price=600, product_id=scarf, list_price=1000)):
            error = _above(c.post("/offline-orders", headers=cashier, json=body),
                           "price_override")
            assert error["details"]["asked"] == 600
            assert error["details"]["breaches"][0]["list_price"] == 1000
            assert "the price of Wool scarf was changed" in error["message"]
        # an item the catalogue does not know has no price to override (as at the till)
        r = c.post("/offline-orders", headers=cashier, json=_body(tenant, unit_price=600))
        assert r.status_code == 201, r.text
        r = c.post("/offline-orders", headers=cashier,
                   json=_body(tenant, unit_price=1000, product_id=scarf))
        assert r.status_code == 201, r.text
        r = c.post("/offline-orders", headers=manager,
                   json=_body(tenant, unit_price=600, product_id=scarf))
        assert r.status_code == 201, r.text


def _paid_order(tenant: Tenant) -> tuple[str, dict[str, Any]]:
    term = tenant.term
    op = term.order_create(tenant.staff[Role.MANAGER], pay=True)
    assert term.push([op])["results"][0]["status"] == "applied"
    return op["entity_id"], op["payload"]["lines"][0]


def _refund(line: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"refund_id": new_id(), "amount": line["total"], "reason": "no receipt, regular",
            "lines": [{"line_id": line["id"], "qty_milli": 1000, "amount": line["total"]}],
            } | extra


def test_back_office_refunds_without_a_receipt_follow_the_limits(tenant: Tenant) -> None:
    tenant.seen_at(Role.CASHIER, Role.MANAGER)  # both work at the store's till
    cashier, manager = tenant.login(Role.CASHIER), tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        oid, line = _paid_order(tenant)
        # a cashier may not refund without a receipt (the default): not even ask for one
        error = _above(c.post(f"/offline-orders/{oid}/refunds", headers=cashier,
                              json=_refund(line, without_receipt=True)),
                       "refund_without_receipt")
        assert (error["details"]["allowed"], error["details"]["asked"]) == (False, True)
        assert c.get("/approvals", headers=manager).json() == []
        # with the receipt, the request is queued as before
        r = c.post(f"/offline-orders/{oid}/refunds", headers=cashier, json=_refund(line))
        assert r.status_code == 202, r.text
        r = c.post(f"/approvals/{r.json()['approval']['id']}/decide", headers=manager,
                   json={"approved": False})
        assert r.status_code == 200, r.text
        # a manager's own limits allow one (the default)
        r = c.post(f"/offline-orders/{oid}/refunds", headers=manager,
                   json=_refund(line, without_receipt=True))
        assert r.status_code == 201, r.text
    _set_limits(tenant, {"refund_without_receipt": ["owner", "cashier"]})
    with tenant.server.client() as c:
        oid, line = _paid_order(tenant)
        error = _above(c.post(f"/offline-orders/{oid}/refunds", headers=manager,
                              json=_refund(line, without_receipt=True)),
                       "refund_without_receipt")
        assert error["details"]["role"] == "manager"
        # the cashier may ask now; a manager may not carry it out, the owner may
        r = c.post(f"/offline-orders/{oid}/refunds", headers=cashier,
                   json=_refund(line, without_receipt=True))
        assert r.status_code == 202, r.text
        aid = r.json()["approval"]["id"]
        _above(c.post(f"/approvals/{aid}/decide", headers=manager, json={"approved": True}),
               "refund_without_receipt")
        r = c.post(f"/approvals/{aid}/decide", headers=tenant.login(Role.OWNER),
                   json={"approved": True})
        assert r.status_code == 200, r.text
        assert r.json()["order"]["refunded"] == line["total"]


def test_edits_are_held_to_the_editors_limits_on_every_path(tenant: Tenant) -> None:
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    manager, owner = tenant.login(Role.MANAGER), tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        r = c.post("/offline-orders", headers=owner, json=_body(tenant, percent_ppm=600_000))
        assert r.status_code == 201, r.text
        order = r.json()["order"]
    _set_limits(tenant, {"line_discount_ppm": {"manager": 500_000}})
    lines = order["lines"]
    keys = ("id", "product_id", "sku", "name", "barcode", "unit_price", "qty_milli",
            "tax_rate_ppm", "discount_percent_ppm", "discount_amount")

    def edited(**change: Any) -> list[dict[str, Any]]:
        out = [{k: li.get(k) for k in keys} | change for li in lines]
        totals = compute([LineInput(li["unit_price"], li["qty_milli"], li["tax_rate_ppm"],
                                    Discount(li["discount_percent_ppm"],
                                             li["discount_amount"])) for li in out],
                         inclusive=True)
        return [li | {"gross": t.gross, "net": t.net, "tax": t.tax, "total": t.total}
                for li, t in zip(out, totals.lines, strict=True)]

    with tenant.server.client() as c:
        # what the owner gave stays: a manager edits the rest of the order
        r = c.patch(f"/offline-orders/{order['id']}", headers=manager, json={
            "fields": {"note": {"base": None, "value": "gift"}}})
        assert r.status_code == 200, r.text
        r = c.patch(f"/offline-orders/{order['id']}", headers=manager, json={
            "fields": {"lines": {"base": lines, "value": edited(qty_milli=2000)}}})
        assert r.status_code == 200, r.text
        lines = r.json()["order"]["lines"]
        # a bigger discount than the manager's 50 %: refused, nothing changed
        error = _above(c.patch(f"/offline-orders/{order['id']}", headers=manager, json={
            "fields": {"lines": {"base": lines,
                                 "value": edited(discount_percent_ppm=700_000)}}}),
            "line_discount_ppm")
        assert (error["details"]["allowed"], error["details"]["asked"]) == (500_000, 700_000)
        r = c.get(f"/offline-orders/{order['id']}", headers=manager)
        assert r.json()["order"]["lines"][0]["discount_percent_ppm"] == 600_000
        version = r.json()["order"]["version"]
    # the same edit pushed from a till by the manager: rejected in the same words
    term = tenant.term
    op = term.op("order.update", order["id"], tenant.staff[Role.MANAGER], {
        "fields": {"lines": {"base": lines, "value": edited(discount_percent_ppm=700_000)}}},
        base_version=version)
    res = term.push([op])["results"][0]
    assert res["status"] == "rejected", res
    assert "70 % discount on Wool scarf is over a manager's 50 % line limit" in res["reason"]
