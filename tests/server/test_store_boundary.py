"""A store's data stays in its store, whatever a push mixes together.

The feed rules (docs/sync-protocol.md, section 6): products and staff go to every store
of their organization; orders, stock movements, approvals and conflicts only to the feed
of the store they belong to; nothing ever crosses to another organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import RunningServer, Tenant, Terminal, make_tenant

STORE_SCOPED = {"order", "stock_movement", "approval", "conflict", "stock_level"}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def product_create(term: Terminal, actor: str, *, valid: bool = True) -> dict[str, Any]:
    pid = new_id()
    return term.op("product.create", pid, actor, {
        "sku": ("SKU-" + pid[-12:]) if valid else "", "name": "Boundary tea",
        "price": 250, "tax_rate_ppm": 200_000, "barcodes": []})


def with_customer(op: dict[str, Any]) -> dict[str, Any]:
    op["payload"]["customer"] = {"id": new_id(), "name": "Ann Customer", "phone": "+353861234567"}
    return op


def test_an_order_pushed_after_a_product_stays_in_its_store(tenant: Tenant) -> None:
    """The reproduction: [product.create P, order.create O] from a till of store A1 once
    wrote O (with its customer) into the feed of every store of the organization."""
    manager = tenant.staff[Role.MANAGER]
    a1 = tenant.term
    a2 = tenant.enroll(store_id=tenant.add_store("A2"), name="Till in A2")
    for valid_product in (True, False):
        product = product_create(a1, manager, valid=valid_product)
        order = with_customer(a1.order_create(manager))
        results = a1.push([product, order])["results"]
        assert results[1]["status"] == "applied", results
        assert results[0]["status"] == ("applied" if valid_product else "rejected"), results
        seen_by_a2 = {c["entity_id"] for c in a2.pull_all()[0]}
        assert order["entity_id"] not in seen_by_a2
        if valid_product:
            assert product["entity_id"] in seen_by_a2  # products are org-wide
        assert order["entity_id"] in {c["entity_id"] for c in a1.pull_all()[0]}


@dataclass
class Fleet:
    """Two organizations: X with stores X1 (two tills) and X2, Y with store Y1."""

    tenants: list[Tenant]
    terminals: list[Terminal]
    actor: dict[str, str]  # terminal device_id -> a manager of its org
    store_orders: dict[str, set[str]] = field(default_factory=dict)  # store_id -> order ids
    org_products: dict[str, set[str]] = field(default_factory=dict)  # org_id -> product ids
    org_staff: dict[str, set[str]] = field(default_factory=dict)


@pytest.fixture
def fleet(server: RunningServer) -> Iterator[Fleet]:
    with make_tenant(server) as x, make_tenant(server) as y:
        x1b = x.enroll(name="Second till in X1")
        x2 = x.enroll(store_id=x.add_store("X2"), name="Till in X2")
        terminals = [x.term, x1b, x2, y.term]
        actor = {t.device_id: (x if t.org_id == x.org_id else y).staff[Role.MANAGER]
                 for t in terminals}
        yield Fleet([x, y], terminals, actor,
                    org_staff={x.org_id: set(x.staff.values()), y.org_id: set(y.staff.values())})


def _build(fleet: Fleet, term: Terminal, kind: str, known: list[tuple[Terminal, str]],
           ) -> dict[str, Any]:
    actor = fleet.actor[term.device_id]
    if kind == "product":
        return product_create(term, actor)
    if kind == "bad_product":
        return product_create(term, actor, valid=False)
    if kind == "stock" and known:
        _, pid = known[-1]
        return term.op("stock.adjust", pid, actor, {
            "movement_id": new_id(), "product_id": pid, "kind": "adjust",
            "qty_delta_milli": 1000, "reason": "found one", "created_at": _now()})
    op = term.order_create(actor, pay=kind == "paid_order")
    return with_customer(op) if kind == "customer_order" else op


def _record(fleet: Fleet, term: Terminal, op: dict[str, Any], result: dict[str, Any],
            products: list[tuple[Terminal, str]]) -> None:
    if result["status"] != "applied":
        return
    if op["type"] == "order.create":
        fleet.store_orders.setdefault(term.store_id, set()).add(op["entity_id"])
    elif op["type"] == "product.create":
        fleet.org_products.setdefault(term.org_id, set()).add(op["entity_id"])
        products.append((term, op["entity_id"]))


def _check_pull(fleet: Fleet, term: Terminal) -> None:
    changes, _ = term.pull_all()
    for c in changes:
        kind, eid, data = c["entity_type"], c["entity_id"], c["data"]
        where = f"{kind} {eid} in the feed of a till of store {term.store_id}"
        if kind == "order":
            assert eid in fleet.store_orders.get(term.store_id, set()), where
            assert data.get("store_id") == term.store_id, where
        elif kind in STORE_SCOPED:
            assert data.get("store_id") == term.store_id, where
        elif kind == "product":
            assert eid in fleet.org_products.get(term.org_id, set()), where
        elif kind == "staff":
            assert eid in fleet.org_staff[term.org_id], where
        elif kind == "store":
            assert eid == term.store_id, where


batches = st.lists(st.tuples(
    st.integers(0, 3),
    st.lists(st.sampled_from(["product", "bad_product", "order", "customer_order",
                              "paid_order", "stock"]), min_size=1, max_size=6)),
    min_size=1, max_size=5)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=batches)
def test_random_mixed_batches_stay_in_their_store(fleet: Fleet,
                                                   plan: list[tuple[int, list[str]]]) -> None:
    """Random batches from tills of several stores and two organizations; afterwards each
    till's pull holds only what the docs say it may see."""
    products: list[tuple[Terminal, str]] = []
    for which, kinds in plan:
        term = fleet.terminals[which]
        own = [p for p in products if p[0].org_id == term.org_id]
        ops = [_build(fleet, term, kind, own) for kind in kinds]
        resp = term.push(ops)
        assert resp["gap_from"] is None, resp
        for op, result in zip(ops, resp["results"], strict=True):
            _record(fleet, term, op, result, products)
    for term in fleet.terminals:
        _check_pull(fleet, term)
