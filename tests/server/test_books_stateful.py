"""The server keeps the books straight whatever mix of REST calls and pushes it gets.

A hypothesis state machine drives random sequences of back-office REST calls and pushes
from three tills of two stores (careless ones too: zero and negative payments, unknown
tenders, refunds past what was sold or paid, deletions of paid orders) against the real
server, on SQLite and PostgreSQL, and checks after every step:

- paid is the sum of the order's payments, and never negative;
- refunded ≤ paid, and per line the refunded quantity ≤ the quantity sold;
- an order's status never moves backwards, and a deleted order takes no payment;
- every till's pull holds only orders of its own store;
- what REST reads of an order equals the latest state the store's feed sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from app.domain.ids import new_id
from app.domain.permissions import Role
from tests.server.support import RunningServer, Tenant, Terminal, line, make_tenant

RANK = {"pending": 0, "completed": 1, "refunded": 2, "deleted": 1}
FORWARD = {"pending": {"pending", "completed", "deleted", "refunded"},
           "completed": {"completed", "refunded"}, "refunded": {"refunded"},
           "deleted": {"deleted"}}
amounts = st.one_of(st.sampled_from([-499, 0, 1]), st.integers(1, 3000))
methods = st.sampled_from(["cash", "card", "cash", "bitcoin"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Books(RuleBasedStateMachine):
    """One organization: store S1 with tills T1 and T2, store S2 with till T3."""

    server: RunningServer
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self._stack = make_tenant(self.server)
        self.tenant: Tenant = self._stack.__enter__()
        t = self.tenant
        t.enroll(name="T2")
        t.enroll(store_id=t.add_store("S2"), name="T3")
        self.tills: list[Terminal] = t.terminals
        self.manager = t.staff[Role.MANAGER]
        self.cashier = t.staff[Role.CASHIER]
        self.rest = t.server.client(headers=t.login(Role.OWNER))
        self.store_of: dict[str, str] = {}  # order id -> store id
        self.last_status: dict[str, str] = {}
        self.payments_at_delete: dict[str, int] = {}
        self.cursor: dict[str, int] = {till.device_id: 0 for till in self.tills}
        self.feed_state: dict[str, dict[str, Any]] = {}  # order id -> latest feed data

    def teardown(self) -> None:
        self.rest.close()
        self._stack.__exit__(None, None, None)

    # -- reading ---------------------------------------------------------------------
    def _rest_order(self, order_id: str) -> dict[str, Any]:
        r = self.rest.get(f"/offline-orders/{order_id}")
        assert r.status_code == 200, r.text
        return r.json()["order"]

    def _push(self, till: Terminal, op: dict[str, Any]) -> dict[str, Any]:
        resp = till.push([op])
        assert resp["gap_from"] is None, resp
        assert resp["last_applied_seq"] == op["op_seq"], resp  # the queue always moves
        result: dict[str, Any] = resp["results"][0]
        assert result["status"] in {"applied", "rejected", "conflict"}, result
        if result["status"] == "rejected":
            assert "Error(" not in (result["reason"] or ""), result  # words, not a repr
        return result

    def _rest(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        r = self.rest.request(method, path, json=body)
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert set(r.json()["error"]) == {"code", "message", "request_id", "details"}
        return r

    # -- making orders ---------------------------------------------------------------
    @initialize(target=orders)
    def first_sale(self) -> Any:
        return multiple(*[self._sale(till, 1, False) for till in self.tills])

    def _sale(self, till: Terminal, n_lines: int, pay: bool) -> str:
        lines = [line(None, 100 * (i + 3), 1000 * (i + 1)) for i in range(n_lines)]
        op = till.order_create(self.cashier, lines=lines, pay=pay)
        result = self._push(till, op)
        assert result["status"] == "applied", result  # a recorded sale is never refused
        self.store_of[op["entity_id"]] = till.store_id
        return str(op["entity_id"])

    @rule(target=orders, which=st.integers(0, 2), n_lines=st.integers(1, 3), pay=st.booleans())
    def push_sale(self, which: int, n_lines: int, pay: bool) -> str:
        return self._sale(self.tills[which], n_lines, pay)

    @rule(target=orders, price=st.integers(1, 5000), paid=st.booleans())
    def rest_sale(self, price: int, paid: bool) -> Any:
        oid = new_id()
        ln = line(None, price, 1000)
        body: dict[str, Any] = {
            "id": oid, "store_id": self.tenant.store_id, "currency": "EUR",
            "tax_inclusive": True, "lines": [ln], "subtotal": ln["total"], "discount": 0,
            "tax": ln["tax"], "total": ln["total"], "created_at": _now(), "is_offline": False,
            "payments": [{"id": new_id(), "order_id": oid, "method": "card",
                          "amount": ln["total"], "tendered": ln["total"],
                          "created_at": _now()}] if paid else [],
        }
        r = self._rest("POST", "/offline-orders", body)
        if r.status_code != 201:
            return multiple()
        self.store_of[oid] = self.tenant.store_id
        return oid

    # -- money in and out ------------------------------------------------------------
    @rule(order=orders, which=st.integers(0, 2), amount=amounts, method=methods)
    def push_payment(self, order: str, which: int, amount: int, method: str) -> None:
        till = self.tills[which]
        op = till.op("payment.record", order, self.cashier, {
            "id": new_id(), "order_id": order, "method": method, "amount": amount,
            "tendered": max(amount, 0), "change": 0, "created_at": _now()})
        self._push(till, op)

    @rule(order=orders, amount=amounts, method=methods)
    def rest_payment(self, order: str, amount: int, method: str) -> None:
        self._rest("POST", f"/offline-orders/{order}/payments",
                   {"id": new_id(), "method": method, "amount": amount})

    def _refund_body(self, order: str, qty: int, amount: int) -> dict[str, Any]:
        state = self._rest_order(order)
        first = state["lines"][0]["id"] if state["lines"] else new_id()
        return {"refund_id": new_id(), "order_id": order, "method": "cash", "restock": True,
                "lines": [{"line_id": first, "qty_milli": qty, "amount": amount}],
                "amount": amount, "reason": "customer changed their mind"}

    @rule(order=orders, which=st.integers(0, 2), qty=st.sampled_from([-1, 0, 1000, 5000]),
          amount=st.one_of(st.integers(0, 1500), st.just(1_000_000)))
    def push_refund(self, order: str, which: int, qty: int, amount: int) -> None:
        till = self.tills[which]
        body = self._refund_body(order, qty, amount)
        body.update(approved_by=self.manager, created_at=_now())
        self._push(till, till.op("refund.create", body["refund_id"], self.manager, body))

    @rule(order=orders, qty=st.sampled_from([-1, 1000, 5000]),
          amount=st.one_of(st.integers(0, 1500), st.just(1_000_000)))
    def rest_refund(self, order: str, qty: int, amount: int) -> None:
        body = self._refund_body(order, qty, amount)
        body.pop("order_id")
        self._rest("POST", f"/offline-orders/{order}/refunds", body)

    # -- deletions -------------------------------------------------------------------
    @rule(order=orders, which=st.integers(0, 2))
    def push_delete(self, order: str, which: int) -> None:
        till = self.tills[which]
        self._push(till, till.op("order.delete", order, self.manager, {
            "reason": "entered twice", "approved_by": self.manager}))

    @rule(order=orders)
    def rest_delete(self, order: str) -> None:
        self._rest("DELETE", f"/offline-orders/{order}", {"reason": "entered twice"})

    # -- what must always hold -------------------------------------------------------
    @invariant()
    def the_books_balance(self) -> None:
        for oid in self.store_of:
            o = self._rest_order(oid)
            payments = o["payments"]
            assert o["paid"] == sum(p["amount"] for p in payments), o
            assert o["paid"] >= 0, o
            assert all(p["amount"] > 0 for p in payments), o
            assert o["refunded"] <= o["paid"], o
            sold = {ln["id"]: ln["qty_milli"] for ln in o["lines"]}
            back: dict[str, int] = {}
            for refund in o["refunds"]:
                for rl in refund["lines"]:
                    assert rl["qty_milli"] > 0, refund
                    back[rl["line_id"]] = back.get(rl["line_id"], 0) + rl["qty_milli"]
            assert all(q <= sold.get(lid, 0) for lid, q in back.items()), (back, sold)
            before = self.last_status.get(oid, "pending")
            assert o["status"] in FORWARD[before], (before, o["status"])
            self.last_status[oid] = o["status"]
            if o["status"] == "deleted":
                at = self.payments_at_delete.setdefault(oid, len(payments))
                assert len(payments) == at, "a deleted order took a payment"

    @invariant()
    def each_till_sees_its_store_and_rest_agrees(self) -> None:
        for till in self.tills:
            changes, self.cursor[till.device_id] = till.pull_all(self.cursor[till.device_id])
            for c in changes:
                if c["entity_type"] != "order":
                    continue
                assert self.store_of.get(c["entity_id"]) == till.store_id, c["entity_id"]
                self.feed_state[c["entity_id"]] = c["data"]
        for oid, fed in self.feed_state.items():
            o = self._rest_order(oid)
            for key in ("status", "paid", "refunded", "total", "version"):
                assert fed[key] == o[key], (oid, key, fed[key], o[key])


@pytest.fixture
def books_server(server: RunningServer) -> Iterator[RunningServer]:
    Books.server = server
    yield server


def test_the_books_hold_under_random_rest_calls_and_pushes(books_server: RunningServer) -> None:
    run = Books.TestCase
    run.settings = settings(max_examples=8, stateful_step_count=12, deadline=None,
                            suppress_health_check=list(HealthCheck))
    run().runTest()
