"""A new till's snapshot carries the last days of orders, not the store's whole history,
and an older order comes on demand (GET /sync/orders), against the real server under
uvicorn on SQLite and PostgreSQL (server/feed/snapshot.py, server/feed/orders.py,
sync/pull.py fetch_orders).

Old orders are made by pushing them, then moving their times back in the server's
database (nothing else makes an order 90 days old in a test)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from app.domain.ids import new_id
from app.domain.permissions import Role
from app.store.models import Order, OrderLine, Payment
from app.store.models_aftersale import Approval
from server.db.models import Order as ServerOrder
from sync import state
from sync.pull import fetch_orders, pull_changes
from tests.server.support import line
from tests.sync.conftest import BACKENDS

OLD = datetime.now(UTC) - timedelta(days=90)


def pushed(term: Any, ops: list[dict[str, Any]]) -> None:
    results = term.push(ops)["results"]
    assert all(r["status"] == "applied" for r in results), results


def store_history(tenant: Any) -> dict[str, dict[str, Any]]:
    """Orders 90 days old (paid; a balance due; one with a pending deletion request) and
    one of today; returns each order.create op by name."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    ops = {"old_paid": term.order_create(cashier, lines=[line(None, 300, 2000)], pay=True),
           "old_due": term.order_create(cashier, lines=[line(None, 400)], pay=False),
           "old_asked": term.order_create(cashier, lines=[line(None, 500)], pay=True),
           "recent": term.order_create(cashier, lines=[line(None, 600)], pay=True)}
    pushed(term, list(ops.values()))
    aid = new_id()
    pushed(term, [term.op("approval.request", aid, cashier, {
        "approval_id": aid, "kind": "delete", "order_id": ops["old_asked"]["entity_id"],
        "reason": "rang up twice", "details": {}, "requested_at": OLD.isoformat()})])
    old_ids = [ops[k]["entity_id"] for k in ("old_paid", "old_due", "old_asked")]
    with tenant.server.ctx.writer.begin() as s:
        s.execute(update(ServerOrder).where(ServerOrder.id.in_(old_ids))
                  .values(created_at=OLD, updated_at=OLD, received_at=OLD))
    return ops


def local_orders(till: Any) -> dict[str, tuple[int, int]]:
    """id -> (lines, payments) of every order the till holds."""
    with till.store.db.read() as s:
        return {o.id: (len(s.scalars(select(OrderLine).where(OrderLine.order_id == o.id)).all()),
                       len(s.scalars(select(Payment).where(Payment.order_id == o.id)).all()))
                for o in s.scalars(select(Order))}


def snapshot_orders(tenant: Any, **params: Any) -> tuple[set[str], int]:
    """(order ids, total) of a snapshot read page by page over HTTP (1 change a page)."""
    ids: set[str] = set()
    total = 0
    q: dict[str, Any] = {"limit": 1, **params}
    with httpx.Client(base_url=tenant.server.base_url, timeout=60,
                      headers=tenant.term.headers) as c:
        for _ in range(1000):
            r = c.get("/sync/snapshot", params=q)
            assert r.status_code == 200, r.text
            page = r.json()
            total = page["total"]
            ids.update(ch["entity_id"] for ch in page["changes"] if ch["entity_type"] == "order")
            if not page["has_more"]:
                return ids, total
            q = {"limit": 1, "page_token": page["next_page_token"]}
    raise AssertionError("the snapshot did not end")


@BACKENDS
def test_the_snapshot_carries_recent_orders_and_older_ones_come_on_demand(
        till_factory: Any, tenant: Any) -> None:
    ops = store_history(tenant)
    oid = {name: op["entity_id"] for name, op in ops.items()}
    till = till_factory("New till")

    async def first_sync() -> Any:
        async with till.client() as c:
            return await pull_changes(till.store, c, snapshot_limit=2)

    report = asyncio.run(first_sync())
    assert report.snapshot
    held = local_orders(till)
    # the default window (30 days): today's order, and the old ones a till needs now
    assert set(held) == {oid["recent"], oid["old_due"], oid["old_asked"]}
    with till.store.db.read() as s:
        assert [a.order_id for a in s.scalars(select(Approval))] == [oid["old_asked"]]
        cursor = state.cursor(s)

    # the window is the first page's, kept by the page token; another one may be asked for
    window, total = snapshot_orders(tenant)
    assert window == set(held)
    everything, total_all = snapshot_orders(tenant, order_days=0)
    assert everything == set(oid.values()) and total_all == total + 1
    assert snapshot_orders(tenant, order_days=365)[0] == everything
    assert snapshot_orders(tenant, order_days=1)[0] == window

    async def fetch(**kw: Any) -> Any:
        async with till.client() as c:
            return await fetch_orders(till.store, c, **kw)

    # a person opens the old paid order by its reference: it comes with its line and payment
    got = asyncio.run(fetch(reference=ops["old_paid"]["payload"]["reference"]))
    assert got.pulled == 1 and got.applied == 1
    assert local_orders(till)[oid["old_paid"]] == (1, 1)
    # a range of days: the three old orders (and the approval); applying again is harmless
    got = asyncio.run(fetch(created_from=OLD - timedelta(days=1), created_to=OLD + timedelta(days=1)))
    assert got.pulled == 4
    assert set(local_orders(till)) == set(oid.values())
    with till.store.db.read() as s:
        assert state.cursor(s) == cursor  # the pull cursor did not move
    # and the next pull goes on from where it was
    assert till.sync().pull is not None


@BACKENDS
def test_orders_on_demand_are_the_terminals_store_only_and_need_a_question(tenant: Any) -> None:
    store_history(tenant)
    with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
        r = c.get("/sync/orders", headers=tenant.term.headers)
        assert r.status_code == 422, r.text
        r = c.get("/sync/orders", params={"reference": "NOPE-1"}, headers=tenant.term.headers)
        assert r.status_code == 200 and r.json()["changes"] == []
        r = c.get("/sync/orders", params={"created_from": (OLD - timedelta(days=1)).isoformat(),
                                          "limit": 1}, headers=tenant.term.headers)
        page = r.json()
        assert r.status_code == 200 and page["has_more"] and page["next_page_token"]
        r = c.get("/sync/orders", params={"reference": "X"})
        assert r.status_code == 401


@BACKENDS
def test_a_junk_or_another_stores_orders_page_token_is_refused(tenant: Any) -> None:
    """A page token this server did not send (junk, or an order id of another store) is
    400 invalid_page_token, as a snapshot's is; it used to answer an empty last page
    (has_more false), which would end a till's listing early (helper O)."""
    store_history(tenant)
    since = {"created_from": (OLD - timedelta(days=1)).isoformat(), "limit": 1}
    with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
        first = c.get("/sync/orders", params=since, headers=tenant.term.headers).json()
        good = c.get("/sync/orders", params={**since, "page_token": first["next_page_token"]},
                     headers=tenant.term.headers)
        assert good.status_code == 200 and good.json()["changes"], good.text
        token = first["next_page_token"]
        near = token[:-1] + ("1" if token.endswith("0") else "0")  # no order's id
        for junk in ("zzzz", "0" * 36, near):
            r = c.get("/sync/orders", params={**since, "page_token": junk},
                      headers=tenant.term.headers)
            assert r.status_code == 400, (junk, r.text)
            assert r.json()["error"]["code"] == "invalid_page_token", r.text
