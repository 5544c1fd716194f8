"""Issue 21: a till adds a line to a pending order (order.update with the lines as they now
are, the new one with a new id): the server applies it and the total follows."""

from __future__ import annotations

from app.domain.permissions import Role
from tests.server.support import Tenant, line


def test_an_added_line_is_applied(tenant: Tenant) -> None:
    term, manager = tenant.term, tenant.staff[Role.MANAGER]
    create = term.order_create(tenant.staff[Role.CASHIER])
    oid, lines = create["entity_id"], create["payload"]["lines"]
    assert term.push([create])["results"][0]["status"] == "applied"
    new = line(None, 300, 2000)
    edit = term.op("order.update", oid, manager, {"fields": {"lines": {"base": lines, "value": lines + [new]}},
                                                   "reason": "took two more"})
    result = term.push([edit])["results"][0]
    assert result["status"] == "applied", result
    with tenant.server.client() as c:
        order = c.get(f"/offline-orders/{oid}", headers=tenant.login(Role.MANAGER)).json()["order"]
    assert [li["id"] for li in order["lines"]] == [li["id"] for li in lines] + [new["id"]]
    assert order["total"] == create["payload"]["total"] + new["total"]
