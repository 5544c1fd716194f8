"""An order edit (order.update from a till, PATCH /offline-orders/{id}) whose lines hold a
negative unit price was applied: the order's total became negative (-50.00 on a sale
paid 4.00), the order "completed" and flagged overpaid, a refund of 54.00 nobody
approved, in the analytics as negative revenue (helper O, a client written from docs/
alone). docs/sync-protocol.md §5 "Money and order rules": the server checks the rules
"on every path", and a sale's line never has a negative unit price or amount ("a return
is a refund"); an edit is judged by the same rules as order.create. Rejected (422 in
the back office), nothing changed; a valid edit still applies."""

from __future__ import annotations

from typing import Any

from app.domain.permissions import Role
from server.db.models import Order
from tests.server.support import Tenant, line


def _pending_sale(tenant: Tenant) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    sale = term.order_create(cashier, lines=[line(None, 1000, 1000, 0)])
    sale["payload"]["payments"] = [{
        "id": sale["entity_id"][:-4] + "abcd", "order_id": sale["entity_id"],
        "method": "cash", "amount": 400, "tendered": 400, "change": 0,
        "created_at": sale["payload"]["created_at"]}]
    assert term.push([sale])["results"][0]["status"] == "applied"
    return sale, sale["payload"]["lines"]


def _with(lines: list[dict[str, Any]], **change: Any) -> list[dict[str, Any]]:
    return [dict(lines[0], **change)]


def _order(tenant: Tenant, order_id: str) -> tuple[int, int, str]:
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, order_id)
        assert order is not None
        return order.total, order.version, order.status


def test_a_till_edit_to_a_negative_price_is_rejected(tenant: Tenant) -> None:
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    sale, lines = _pending_sale(tenant)
    before = _order(tenant, sale["entity_id"])
    edit = term.op("order.update", sale["entity_id"], manager, {"fields": {"lines": {
        "base": lines, "value": _with(lines, unit_price=-5000, gross=-5000, net=-5000,
                                      total=-5000)}}}, base_version=1)
    (result,) = term.push([edit])["results"]
    assert result["status"] == "rejected", result
    assert "negative" in result["reason"], result
    assert _order(tenant, sale["entity_id"]) == before
    fine = term.op("order.update", sale["entity_id"], manager, {"fields": {"lines": {
        "base": lines, "value": _with(lines, unit_price=800, gross=800, net=800,
                                      total=800)}}}, base_version=1)
    assert term.push([fine])["results"][0]["status"] == "applied"
    assert _order(tenant, sale["entity_id"])[0] == 800


def test_a_back_office_edit_to_a_negative_price_is_422(tenant: Tenant) -> None:
    sale, lines = _pending_sale(tenant)
    before = _order(tenant, sale["entity_id"])
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    with tenant.server.client() as c:
        r = c.patch(f"/offline-orders/{sale['entity_id']}", headers=tenant.login(Role.MANAGER),
                    json={"fields": {"lines": {"base": lines, "value": _with(
                        lines, unit_price=-5000, gross=-5000, net=-5000, total=-5000)}}})
    assert r.status_code == 422, r.text
    assert "negative" in r.json()["error"]["message"]
    assert _order(tenant, sale["entity_id"]) == before
