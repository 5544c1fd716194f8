"""An edit cannot take a line below what refunds already brought back of it (helper K2:
the till's edit service let a line of which 2 were refunded go to 1, and to 0 it failed
with a raw IntegrityError). The rule is one (app/domain/order_rules.py
check_keeps_brought_back) for the till's edit and the server's order.update: rejected,
nothing changed; an edit that keeps the quantity brought back still applies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.ids import new_id
from app.domain.order_rules import RuleError, check_keeps_brought_back
from app.domain.permissions import Role
from server.db.models import Order
from tests.server.support import Tenant, line


def test_the_rule() -> None:
    check_keeps_brought_back("Tea", 2000, 2000)
    check_keeps_brought_back("Tea", 3000, 0)
    check_keeps_brought_back("Tea", 0, 0)
    for qty in (1000, 0):
        try:
            check_keeps_brought_back("Tea", qty, 2000)
        except RuleError as exc:
            assert "2 of Tea was already brought back" in str(exc)
        else:
            raise AssertionError(qty)


def _edit(tenant: Tenant, order_id: str, base: list[dict[str, Any]],
          value: list[dict[str, Any]], version: int) -> dict[str, Any]:
    op = tenant.term.op("order.update", order_id, tenant.staff[Role.MANAGER],
                        {"fields": {"lines": {"base": base, "value": value}}},
                        base_version=version)
    result: dict[str, Any] = tenant.term.push([op])["results"][0]
    return result


def _scaled(li: dict[str, Any], qty_milli: int) -> dict[str, Any]:
    amount = li["unit_price"] * qty_milli // 1000
    return dict(li, qty_milli=qty_milli, gross=amount, net=amount, total=amount)


def test_a_till_edit_below_what_was_brought_back_is_rejected(tenant: Tenant) -> None:
    term, owner = tenant.term, tenant.staff[Role.OWNER]
    tea, cake = line(None, 300, 3000, 0), line(None, 500, 1000, 0)
    sale = term.order_create(owner, lines=[tea, cake])
    assert term.push([sale])["results"][0]["status"] == "applied"
    lines, oid = sale["payload"]["lines"], sale["entity_id"]
    rid = new_id()
    refund = term.op("refund.create", rid, owner, {
        "refund_id": rid, "order_id": oid, "amount": 0, "method": "cash", "restock": False,
        "reason": "brought back", "created_at": datetime.now(UTC).isoformat(),
        "lines": [{"line_id": tea["id"], "qty_milli": 2000, "amount": 600}]})
    assert term.push([refund])["results"][0]["status"] == "applied"
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, oid)
        assert order is not None
        version, total = order.version, order.total

    below = _edit(tenant, oid, lines, [_scaled(lines[0], 1000), lines[1]], version)
    assert below["status"] == "rejected", below
    assert "2 of" in below["reason"] and "already brought back" in below["reason"], below
    gone = _edit(tenant, oid, lines, [lines[1]], version)  # the tea line left out
    assert gone["status"] == "rejected", gone
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, oid)
        assert order is not None and (order.version, order.total) == (version, total)

    kept = _edit(tenant, oid, lines, [_scaled(lines[0], 2000), lines[1]], version)
    assert kept["status"] == "applied", kept
