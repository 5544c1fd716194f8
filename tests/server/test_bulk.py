"""The bulk order.create path writes exactly what the ORM handler writes.

The same sales (flags of every kind, a payment, a customer, a discount, stock going
negative, an unknown product, a rejected op in between) are pushed once through
``server.sync.bulk`` and once with the bulk path switched off (``orders.order_create``
in a savepoint per op); the rows, feed entries, events and results must match, ids and
timestamps aside.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import (
    AuditEntry,
    Event,
    FeedEntry,
    Order,
    OrderLine,
    Payment,
    ProcessedOp,
    QuarantinedOp,
    StockLevel,
    WebhookDelivery,
)
from server.feed.serialize import order_state
from server.sync import chunk, stock
from tests.server.support import Tenant, Terminal, line

DROP = {"created_at", "updated_at", "received_at", "processed_at", "next_attempt_at",
        "requested_at", "position", "device_id", "origin_device_id", "reference", "store_id",
        "org_id", "sku"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _clean(value: Any, ids: dict[str, str]) -> Any:
    """Ids replaced by their order of first appearance; times and per-device values dropped."""
    if isinstance(value, dict):
        return {k: _clean(v, ids) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [_clean(v, ids) for v in value]
    if isinstance(value, str) and UUID.match(value):
        return ids.setdefault(value, f"#{len(ids)}")
    return value


def _rows(term: Terminal, org_id: str, op_ids: list[str], products: list[str]
          ) -> dict[str, Any]:
    ctx = term.server.ctx
    with ctx.reader() as s:
        orders = s.scalars(select(Order).where(Order.device_id == term.device_id)
                           .order_by(Order.created_at, Order.reference)).all()
        order_ids = [o.id for o in orders]
        out: dict[str, Any] = {
            "orders": [order_state(s, o) | {"customer_phone_index": o.customer_phone_index}
                       for o in orders],
            "lines": [[_cols(li) for li in s.scalars(select(OrderLine).where(
                OrderLine.order_id == oid).order_by(OrderLine.position))] for oid in order_ids],
            "payments": [_cols(p) for p in s.scalars(select(Payment).where(
                Payment.device_id == term.device_id).order_by(Payment.amount))],
            # the ledger's movements, sales' (order lines) and rows alike
            "movements": sorted(
                (m for m in stock.movements(s, term.store_id)
                 if m["device_id"] == term.device_id),
                key=lambda m: (m["reference"], -m["qty_after_milli"])),
            "audit": [_cols(a, "id") for a in s.scalars(select(AuditEntry).where(
                AuditEntry.device_id == term.device_id).order_by(AuditEntry.id))],
            "feed": [_cols(f, "id") for f in s.scalars(select(FeedEntry).where(
                FeedEntry.origin_device_id == term.device_id).order_by(FeedEntry.position))],
            "processed": [_cols(p) for p in s.scalars(select(ProcessedOp).where(
                ProcessedOp.op_id.in_(op_ids)).order_by(ProcessedOp.op_seq))],
            "quarantine": [_cols(q) for q in s.scalars(select(QuarantinedOp).where(
                QuarantinedOp.device_id == term.device_id))],
        }
        events = [e for e in s.scalars(select(Event).where(Event.org_id == org_id)
                                       .order_by(Event.created_at, Event.id))
                  if (e.payload.get("data") or {}).get("device_id") == term.device_id
                  or (e.payload.get("data") or {}).get("order_id") in order_ids]
        out["events"] = [_cols(e) for e in events]
        out["deliveries"] = [len(s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.event_id == e.id)).all()) for e in events]
        out["levels"] = [s.get(StockLevel, (term.store_id, pid)).qty_milli  # type: ignore[union-attr]
                         for pid in products]
    return out


def _cols(row: Any, *without: str) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in without}


def _sales(term: Terminal, tenant: Tenant, products: list[str]) -> list[dict[str, Any]]:
    cashier, manager = tenant.staff[Role.CASHIER], tenant.staff[Role.MANAGER]
    p1, p2 = products
    discounted = line(p2, 300, 2000)
    discounted.update(discount_percent_ppm=100_000)
    plain = term.order_create(cashier, lines=[line(p1, 199, 1000), line(p1, 199, 2000)],
                              pay=True)
    changed_price = term.order_create(cashier, lines=[line(p1, 150, 3000),
                                                      line(new_id(), 500)], pay=True)
    mismatch = term.order_create(manager, lines=[discounted])  # totals differ
    with_customer = term.order_create(cashier, lines=[line(p2, 300, 1000)], pay=True)
    with_customer["payload"]["customer"] = {"id": new_id(), "name": "Ann", "phone": "+353 1 234"}
    with_customer["payload"]["note"] = "gift wrap"
    stock_user = term.order_create(tenant.staff[Role.STOCK], lines=[line(p1, 199)])  # rejected
    two_pay = term.order_create(cashier, lines=[line(p2, 300, 1000)])
    total = two_pay["payload"]["total"]
    now = datetime.now(UTC).isoformat()
    two_pay["payload"]["payments"] = [
        {"id": new_id(), "order_id": two_pay["entity_id"], "method": "card", "amount": 100,
         "tendered": 100, "created_at": now},
        {"id": new_id(), "order_id": two_pay["entity_id"], "method": "cash",
         "amount": total - 100, "tendered": total - 100, "created_at": now}]
    return [plain, changed_price, mismatch, with_customer, stock_user, two_pay]


def _products(term: Terminal, tenant: Tenant) -> tuple[list[dict[str, Any]], list[str]]:
    stock = tenant.staff[Role.STOCK]
    ids = [new_id(), new_id()]
    ops = [term.op("product.create", ids[0], stock, {
               "sku": "MILK-" + ids[0][-6:], "name": "Milk", "price": 199,
               "tax_rate_ppm": 200_000}),
           term.op("product.create", ids[1], stock, {
               "sku": "TEA-" + ids[1][-6:], "name": "Tea", "price": 300,
               "tax_rate_ppm": 200_000})]
    return ops, ids


def test_bulk_and_orm_paths_write_the_same(tenant: Tenant,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    runs = {}
    for mode in ("bulk", "orm"):
        term = tenant.enroll(name=f"Till {mode}")
        if mode == "orm":
            monkeypatch.setattr(chunk, "is_bulk", lambda op: False)
        setup, products = _products(term, tenant)
        assert [r["status"] for r in term.push(setup)["results"]] == ["applied"] * 2
        sales = _sales(term, tenant, products)
        resp = term.push(sales)
        monkeypatch.undo()
        ids: dict[str, str] = {}
        runs[mode] = (_clean(resp["results"], ids),
                      _clean(_rows(term, tenant.org_id, [o["op_id"] for o in sales],
                                   products), ids))
    bulk_results, bulk_rows = runs["bulk"]
    orm_results, orm_rows = runs["orm"]
    assert [r["status"] for r in bulk_results] == [
        "applied", "applied", "applied", "applied", "rejected", "applied"]
    assert bulk_results == orm_results
    for key in orm_rows:
        assert bulk_rows[key] == orm_rows[key], key
    assert {"price_changed", "unknown_product", "negative_stock"} <= set(
        bulk_results[1]["flags"])
    assert "totals_mismatch" in bulk_results[2]["flags"]
    assert bulk_rows["orders"][3]["customer"]["name"] == "Ann"
    assert bulk_rows["orders"][3]["customer_phone_index"]
    assert len(bulk_rows["quarantine"]) == 1


def test_bulk_write_refused_falls_back_to_one_op_at_a_time(tenant: Tenant) -> None:
    """A line id used before: only that op is rejected, in words (the run knows the line
    ids the database holds, so the executemany is not even tried with it)."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    first = term.order_create(cashier)
    assert term.push([first])["results"][0]["status"] == "applied"
    fine = [term.order_create(cashier, pay=True)]
    reused = term.order_create(cashier, lines=[dict(first["payload"]["lines"][0])])
    fine += [term.order_create(cashier, pay=True) for _ in range(2)]
    resp = term.push([fine[0], reused, fine[1], fine[2]])
    assert [r["status"] for r in resp["results"]] == [
        "applied", "rejected", "applied", "applied"]
    assert "is already used by another order" in resp["results"][1]["reason"]
    assert resp["last_applied_seq"] == term.seq
    changes, _ = term.pull_all()
    positions = [c["position"] for c in changes]
    assert positions == list(range(1, len(positions) + 1))
    got = {c["entity_id"] for c in changes if c["entity_type"] == "order"}
    assert got == {first["entity_id"]} | {op["entity_id"] for op in fine}


def test_group_commit_applies_each_push_on_its_own_when_the_group_fails(tenant: Tenant) -> None:
    """Pushes queued together share one transaction; a faulty one never fails the others."""
    from server.context import TerminalPrincipal
    from server.sync.group_commit import GroupCommit, Queued
    from sync.protocol import Operation

    cashier = tenant.staff[Role.CASHIER]
    a, b = tenant.term, tenant.enroll(name="Till B")
    first = a.order_create(cashier)
    assert a.push([first])["results"][0]["status"] == "applied"
    good = [b.order_create(cashier, pay=True) for _ in range(2)]
    bad = [a.order_create(cashier, lines=[dict(first["payload"]["lines"][0])])]

    def queued(term: Terminal, ops: list[dict[str, Any]]) -> Queued:
        principal = TerminalPrincipal(term.device_id, term.org_id, term.store_id,
                                      term.device_code)
        return Queued(principal, [Operation.model_validate(op) for op in ops])

    ctx = tenant.server.ctx
    group = [queued(b, good), queued(a, bad)]
    GroupCommit()._apply(ctx, group)
    assert [r.status.value for r in group[0].future.result()[0]] == ["applied", "applied"]
    assert [r.status.value for r in group[1].future.result()[0]] == ["rejected"]
    fine = [queued(b, [b.order_create(cashier)]), queued(a, [a.order_create(cashier)])]
    GroupCommit()._apply(ctx, fine)  # both in one transaction
    assert [q.future.result()[0][0].status.value for q in fine] == ["applied", "applied"]
    assert [q.future.result()[2] for q in fine] == [3, 3]
    changes, _ = b.pull_all()
    positions = [c["position"] for c in changes]
    assert positions == list(range(1, len(positions) + 1))


def test_a_group_of_several_stores_moves_each_stores_own_levels(tenant: Tenant) -> None:
    """Tills of two stores selling the same products in one group commit (on PostgreSQL
    their levels are read and locked in one statement): each store's level and
    movements count only its own sales."""
    from server.context import TerminalPrincipal
    from server.sync.group_commit import GroupCommit, Queued
    from sync.protocol import Operation

    cashier = tenant.staff[Role.CASHIER]
    a = tenant.term
    b = tenant.enroll(tenant.add_store(), name="Till of store B")
    create, products = _products(a, tenant)
    assert [r["status"] for r in a.push(create)["results"]] == ["applied", "applied"]
    p1, p2 = products
    a.push([a.order_create(cashier, lines=[line(p1, 199, 1000)])])  # store A's level exists

    def queued(term: Terminal, ops: list[dict[str, Any]]) -> Queued:
        return Queued(TerminalPrincipal(term.device_id, term.org_id, term.store_id,
                                        term.device_code),
                      [Operation.model_validate(op) for op in ops])

    group = [queued(a, [a.order_create(cashier, lines=[line(p1, 199, 2000), line(p2, 300)])]),
             queued(b, [b.order_create(cashier, lines=[line(p1, 199, 5000)]),
                        b.order_create(cashier, lines=[line(p2, 300, 3000)])])]
    GroupCommit()._apply(tenant.server.ctx, group)
    assert [r.status.value for q in group for r in q.future.result()[0]] == ["applied"] * 3
    with tenant.server.ctx.reader() as s:
        levels = {(lv.store_id, lv.product_id): lv.qty_milli
                  for lv in s.scalars(select(StockLevel).where(
                      StockLevel.product_id.in_(products)))}
        after = sorted((m["store_id"], m["qty_after_milli"])
                       for store in (a.store_id, b.store_id)
                       for m in stock.movements(s, store, p1))
    assert levels == {(a.store_id, p1): -3000, (a.store_id, p2): -1000,
                      (b.store_id, p1): -5000, (b.store_id, p2): -3000}
    assert after == sorted([(a.store_id, -1000), (a.store_id, -3000), (b.store_id, -5000)])
