"""Exact stock counts on the server (issue 18): a count sets the ledger up to its moment,
a movement dated before it that arrives later is compensated, and tills that are a plain
sum of movements agree with the server once everything has synced.

Tills are simulated (tests/server/support.py Terminal) with the till's own rule for
pulled movements (app/domain/stock_rules.pulled_movement); the real till is in
tests/sync/test_stock_counts_sync.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import StockLevel, StockMovement
from server.sync import bulk_run, stock
from tests.server.support import Tenant, Terminal, line

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


@dataclass
class Till:
    """A till as the store sees it: ops it made and has not pushed, and its ledger
    (movement id -> (product, kind, delta)), a plain sum of movements."""

    term: Terminal
    tenant: Tenant
    pending: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    cursor: int = 0

    def on_hand(self, pid: str) -> int:
        return sum(d for p, _, d in self.ledger.values() if p == pid)

    def _stock_op(self, pid: str, kind: str, delta: int, moment: datetime,
                  counted: int | None = None) -> None:
        mid = new_id()
        self.ledger[mid] = (pid, kind, delta)
        payload: dict[str, Any] = {"movement_id": mid, "product_id": pid, "kind": kind,
                                   "qty_delta_milli": delta, "reason": None,
                                   "created_at": moment.isoformat()}
        if counted is not None:
            payload |= {"counted_milli": counted, "count_id": new_id()}
        self.pending.append(self.term.op("stock.adjust", pid, self.tenant.staff[Role.STOCK],
                                         payload))

    def receive(self, pid: str, qty: int, moment: datetime) -> None:
        self._stock_op(pid, "receive", qty, moment)

    def adjust(self, pid: str, delta: int, moment: datetime) -> None:
        self._stock_op(pid, "adjust", delta, moment)

    def count(self, pid: str, counted: int, moment: datetime) -> None:
        self._stock_op(pid, "count", counted - self.on_hand(pid), moment, counted)

    def sell(self, pid: str, qty: int, moment: datetime) -> None:
        op = self.term.order_create(self.tenant.staff[Role.CASHIER],
                                    lines=[line(pid, 100, qty)])
        op["payload"]["created_at"] = moment.isoformat()
        self.ledger[new_id()] = (pid, "sale", -qty)  # the till's own id for its sale
        self.pending.append(op)

    def push(self, n: int | None = None) -> None:
        ops, self.pending = (self.pending, []) if n is None else (self.pending[:n],
                                                                    self.pending[n:])
        if ops:
            answer = self.term.push(ops)
            bad = [r for r in answer["results"] if r["status"] not in ("applied", "duplicate")]
            assert not bad, [(r.get("reason"), r.get("op_seq")) for r in bad]

    def pull(self) -> None:
        changes, self.cursor = self.term.pull_all(self.cursor)
        for c in changes:
            if c["entity_type"] != "stock_movement":
                continue
            d, mid = c["data"], c["entity_id"]
            held = self.ledger.get(mid)
            action = stock_rules.pulled_movement(
                held[1] if held else None, held[2] if held else None, d["kind"],
                d["qty_delta_milli"],
                mine=self.term.device_id in (d["device_id"], c.get("origin_device_id")))
            if action != "skip":
                self.ledger[mid] = (d["product_id"], d["kind"], d["qty_delta_milli"])


def add_products(till: Till, n: int) -> list[str]:
    ids = [new_id() for _ in range(n)]
    answer = till.term.push([till.term.op("product.create", pid, till.tenant.staff[Role.OWNER], {
        "sku": f"C-{pid}", "name": "Counted thing", "price": 100,
        "tax_rate_ppm": 0, "stock_tracked": True}) for pid in ids])
    assert {r["status"] for r in answer["results"]} == {"applied"}, [r.get("reason") for r in answer["results"]]
    return ids


def server_level(t: Tenant, pid: str) -> int:
    with t.server.ctx.reader() as s:
        return s.scalar(select(StockLevel.qty_milli).where(
            StockLevel.store_id == t.store_id, StockLevel.product_id == pid)) or 0


def movements(t: Tenant, pid: str) -> list[SimpleNamespace]:
    """The product's movements in the store's ledger by date, then id (UUIDv7: a
    count_fix dated at its count is made after it; by date alone the two tie and come
    in heap order): the stock_movements rows and the sales' lines (migration 0021)."""
    with t.server.ctx.reader() as s:
        return [SimpleNamespace(**m) for m in stock.movements(s, t.store_id, pid)]


def tills(t: Tenant, n: int) -> list[Till]:
    return [Till(t.enroll(name=f"Till {i}"), t) for i in range(n)]


def test_a_sale_dated_before_a_count_that_arrives_after_it_is_compensated(tenant) -> None:
    a, b = tills(tenant, 2)
    (pid,) = add_products(a, 1)
    a.receive(pid, 10_000, at(0))
    a.push()
    b.pull()
    b.sell(pid, 1000, at(5))  # offline: B sells one before the count
    a.count(pid, 8000, at(10))  # A counts 8 (its books say 10)
    a.push()
    assert server_level(tenant, pid) == 8000
    b.push()  # the sale arrives after the count: the count stands
    assert server_level(tenant, pid) == 8000
    kinds = [(m.kind, m.qty_delta_milli) for m in movements(tenant, pid)]
    assert kinds == [("receive", 10_000), ("sale", -1000), ("count", -2000),
                     ("count_fix", 1000)]
    fix = movements(tenant, pid)[-1]
    assert fix.created_at == at(10) and fix.device_id is None
    assert "arrived after the stock count" in (fix.reason or "")
    for till in (a, b):
        till.pull()
        assert till.on_hand(pid) == 8000


def test_a_count_is_set_against_the_servers_ledger_not_the_tills(tenant) -> None:
    a, b = tills(tenant, 2)
    (pid,) = add_products(a, 1)
    a.receive(pid, 10_000, at(0))
    a.push()
    b.pull()
    b.sell(pid, 1000, at(5))
    b.push()  # on the server before the count; A has not pulled it
    a.count(pid, 8000, at(10))  # A's books say 10: A moves -2, the server -1
    b.sell(pid, 2000, at(15))  # after the count
    b.push()
    a.push()
    assert server_level(tenant, pid) == 8000 - 2000
    count = next(m for m in movements(tenant, pid) if m.kind == "count")
    assert count.qty_delta_milli == -1000
    for till in (a, b):
        till.pull()
        assert till.on_hand(pid) == 6000


def test_an_older_count_arriving_late_moves_nothing(tenant) -> None:
    a, b = tills(tenant, 2)
    (pid,) = add_products(a, 1)
    a.receive(pid, 10_000, at(0))
    a.push()
    b.pull()
    a.count(pid, 7000, at(10))
    b.count(pid, 9000, at(20))
    b.push()
    a.push()  # counted earlier than B's count: superseded
    assert server_level(tenant, pid) == 9000
    for till in (a, b):
        till.pull()
        assert till.on_hand(pid) == 9000


def test_a_count_pushed_twice_counts_once(tenant) -> None:
    (a,) = tills(tenant, 1)
    (pid,) = add_products(a, 1)
    a.receive(pid, 10_000, at(0))
    a.count(pid, 4000, at(10))
    ops = list(a.pending)
    a.push()
    answer = a.term.push(ops)  # a lost answer: the very same ops again
    assert {r["status"] for r in answer["results"]} == {"duplicate"}
    assert server_level(tenant, pid) == 4000


def test_an_older_tills_count_is_still_a_delta(tenant) -> None:
    (a,) = tills(tenant, 1)
    (pid,) = add_products(a, 1)
    a.receive(pid, 10_000, at(0))
    a.pending.append(a.term.op("stock.adjust", pid, tenant.staff[Role.STOCK], {
        "movement_id": new_id(), "product_id": pid, "kind": "count",
        "qty_delta_milli": -3000, "reason": "shelf", "created_at": at(5).isoformat()}))
    a.push()
    assert server_level(tenant, pid) == 7000
    with tenant.server.ctx.reader() as s:
        assert s.get(StockLevel, (tenant.store_id, pid)).counted_at is None


def test_levels_of_several_stores_carry_their_latest_count(tenant) -> None:
    """The bulk writer reads each level's count moment with it (on PostgreSQL, several
    stores' levels in one statement)."""
    other, pid = tenant.add_store(), new_id()
    with tenant.server.ctx.writer.begin() as s:
        s.add_all([StockLevel(store_id=tenant.store_id, product_id=pid, qty_milli=5,
                              counted_at=at(3)),
                   StockLevel(store_id=other, product_id=pid, qty_milli=7)])
    with tenant.server.ctx.writer.begin() as s:
        run = bulk_run.Run()
        bulk_run._read_levels(s.connection(), {tenant.store_id: [pid], other: [pid]}, run)
    assert run.levels == {(tenant.store_id, pid): 5, (other, pid): 7}
    assert run.counted == {(tenant.store_id, pid): at(3)}


def test_the_ledger_up_to_a_count_is_read_through_its_index(tenant) -> None:
    """What a count is set against (server/sync/stock.ledger_at) is an index range.

    Five stores get a ledger of the same 40 products (10 movements each) and PostgreSQL
    its statistics first: on a few rows and no statistics every index of the table costs
    the same to the planner, and it took ix_stock_movements_store_id or _product_id
    whenever earlier tests had left rows in the table (tests/server/test_lock_order.py)."""
    pid = new_id()
    products = [pid, *(new_id() for _ in range(39))]
    stores = [tenant.store_id, *(tenant.add_store() for _ in range(4))]
    with tenant.server.ctx.writer.begin() as s:
        s.add_all([StockMovement(id=new_id(), org_id=tenant.org_id, store_id=store,
                                 product_id=p, kind="receive", qty_delta_milli=1000,
                                 qty_after_milli=1000 * (i + 1), created_at=at(i))
                   for store in stores for p in products for i in range(10)])
    sql = ("SELECT sum(qty_delta_milli) FROM stock_movements WHERE store_id = :s "
           "AND product_id = :p AND created_at <= :t")
    args = {"s": tenant.store_id, "p": pid, "t": at(3)}
    with tenant.server.ctx.reader() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE stock_movements"))
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a small table: scans are cheaper
            plan = " ".join(r[0] for r in s.execute(text("EXPLAIN " + sql), args))
        else:
            plan = " ".join(str(r[-1]) for r in s.execute(text("EXPLAIN QUERY PLAN " + sql), args))
    assert "ix_stock_movements_store_product_created" in plan, plan


# ---------------------------------------------------------------- many tills, any order

EVENT = st.tuples(st.sampled_from(["sell", "receive", "adjust", "count", "push", "pull"]),
                  st.integers(0, 2), st.integers(0, 1), st.integers(1, 5),
                  st.integers(0, 3))


@settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=st.lists(EVENT, min_size=4, max_size=30))
def test_counts_hold_whatever_the_order_things_arrive_in(tenant, steps) -> None:
    group = tills(tenant, 3)
    pids = add_products(group[0], 2)
    for till in group:
        till.pull()
    facts: list[tuple[str, str, datetime, int]] = []  # (product, kind, moment, qty)
    for minute, (kind, who, which, qty, n) in enumerate(steps, start=1):
        till, pid, moment = group[who], pids[which], at(minute)
        if kind == "push":
            till.push(n)
        elif kind == "pull":
            till.pull()
        elif kind == "sell":
            till.sell(pid, qty * 1000, moment)
            facts.append((pid, kind, moment, -qty * 1000))
        elif kind == "receive":
            till.receive(pid, qty * 1000, moment)
            facts.append((pid, kind, moment, qty * 1000))
        elif kind == "adjust":
            till.adjust(pid, -qty * 500, moment)
            facts.append((pid, kind, moment, -qty * 500))
        else:
            till.count(pid, qty * 1000, moment)
            facts.append((pid, kind, moment, qty * 1000))
    for till in group:
        till.push()
    for till in group:
        till.pull()
    for pid in pids:
        mine = [f for f in facts if f[0] == pid]
        counts = [f for f in mine if f[1] == "count"]
        since = counts[-1][2] if counts else None
        expected = (counts[-1][3] if counts else 0) + sum(
            q for _, kind, moment, q in mine
            if kind != "count" and (since is None or moment > since))
        assert server_level(tenant, pid) == expected, (pid, mine)
        for till in group:
            assert till.on_hand(pid) == expected, (till.term.device_id, mine)
