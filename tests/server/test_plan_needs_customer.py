"""Issue 21, defect 7 on the server: an order.create with installments and no customer
(or one without a name or phone) is rejected in the till's words, on the bulk writer and
on the ORM handler alike; with a customer it is applied."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.order_rules import PLAN_NEEDS_CUSTOMER
from app.domain.permissions import Role
from server.sync import chunk
from tests.server.support import Tenant, Terminal


def _plan_sale(term: Terminal, actor: str, customer: dict[str, Any] | None) -> dict[str, Any]:
    op = term.order_create(actor)
    p = op["payload"]
    down = p["total"] // 3
    p["payments"] = [{"id": new_id(), "order_id": op["entity_id"], "method": "cash", "amount": down,
                      "tendered": down, "change": 0, "created_at": datetime.now(UTC).isoformat()}]
    p["installments"] = [{"id": new_id(), "number": 1,
                          "due_date": (date.today() + timedelta(days=30)).isoformat(),
                          "amount": p["total"] - down}]
    if customer is not None:
        p["customer"] = {"id": new_id(), **customer}
    return op


@pytest.mark.parametrize("path", ["bulk", "orm"])
def test_a_plan_needs_a_customer_on_the_server(tenant: Tenant, path: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "orm":
        monkeypatch.setattr(chunk, "is_bulk", lambda op: False)
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    ops = [_plan_sale(term, cashier, None), _plan_sale(term, cashier, {"name": "Ann"}),
           _plan_sale(term, cashier, {"phone": "+353 1 234 5678"}),
           _plan_sale(term, cashier, {"name": "Ann", "phone": "+353 1 234 5678"})]
    results = term.push(ops)["results"]
    assert [r["status"] for r in results] == ["rejected"] * 3 + ["applied"], results
    assert all(PLAN_NEEDS_CUSTOMER in (r.get("reason") or "") for r in results[:3])
