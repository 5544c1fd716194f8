"""The rollups a push keeps are the rollups a rebuild counts from the orders tables, row
for row: tenders by terminal and staff included. A sale pushed with its payments wrote
its tender rows with an empty terminal and staff (the payment event of order.create
carries the payment as the till sent it, without them), which a rebuild then filled in
from the payments table. Bulk writer, ORM path (a sale naming an approver), a later
payment.record, a refund and a back-office order, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.analytics import rebuild
from server.analytics.consumer import SHAPES, TABLES, TENDERS
from tests.server.support import PINS, Tenant
from tests.server.test_analytics import _offline_order, _online_order

START = datetime(2026, 3, 28, 23, 40, tzinfo=UTC)  # over a UTC midnight


def _rollups(tenant: Tenant) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup row of the tenant's store, keys then values (rows summed to zero,
    which a subtraction may leave, left out)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with tenant.server.ctx.reader() as session:
        for name, table in TABLES.items():
            keys, sums, latest = SHAPES[name]
            rows = set()
            for row in session.execute(select(*(table.c[c] for c in (*keys, *sums, *latest)))
                                       .where(table.c.store_id == tenant.store_id)):
                values = tuple(int(v) for v in row[len(keys):len(keys) + len(sums)])
                if any(values):
                    rows.add((*row[:len(keys)], *values, *row[len(keys) + len(sums):]))
            out[name] = rows
    return out


def _at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def test_a_push_and_a_rebuild_give_the_same_rollups(tenant: Tenant) -> None:
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    owner = tenant.login(Role.OWNER)
    till, other = tenant.term, tenant.enroll(name="Second till")
    tenant.learn_key(manager, PINS[Role.MANAGER])
    # the bulk writer: a push of sales from two tills and two people, paid or not
    first = [_offline_order(till, (cashier, manager)[n % 2], 200 + n, _at(7 * n),
                            (None, "cash", "card")[n % 3]) for n in range(9)]
    assert {r["status"] for r in till.push(first)["results"]} == {"applied"}
    second = [_offline_order(other, manager, 300 + n, _at(5 * n), ("card", "cash")[n % 2])
              for n in range(4)]
    assert {r["status"] for r in other.push(second)["results"]} == {"applied"}
    # the ORM path: a sale naming its approver goes one by one (with the approver's proof)
    approved = _offline_order(till, cashier, 450, _at(3), "cash")
    approved["payload"]["approved_by"] = manager
    # a later payment by someone else on another till, and a refund
    unpaid = first[0]
    payment = other.op("payment.record", unpaid["entity_id"], manager, {
        "id": new_id(), "order_id": unpaid["entity_id"], "method": "card",
        "amount": 50, "tendered": 50, "change": 0, "created_at": _at(61)})
    sold = first[1]
    li = sold["payload"]["lines"][0]
    refund = till.op("refund.create", new_id(), cashier, {
        "refund_id": new_id(), "order_id": sold["entity_id"],
        "lines": [{"line_id": li["id"], "qty_milli": 1000, "amount": 100}],
        "amount": 100, "method": "cash", "restock": False, "reason": "broken",
        "approved_by": manager, "created_at": _at(62)})
    assert [r["status"] for r in till.push([approved, refund])["results"]] == ["applied"] * 2
    assert [r["status"] for r in other.push([payment])["results"]] == ["applied"]
    with tenant.server.client() as c:  # the back office's order, paid
        _online_order(c, tenant, owner, 700, _at(20), "card")

    pushed = _rollups(tenant)
    tender_rows = pushed[TENDERS.name]
    assert tender_rows and all(row[3] for row in tender_rows), tender_rows  # staff named
    with tenant.server.ctx.writer.begin() as session:
        rebuild.rebuild(session, tenant.org_id)
    rebuilt = _rollups(tenant)
    for name in TABLES:
        assert pushed[name] == rebuilt[name], (name, pushed[name] ^ rebuilt[name])
