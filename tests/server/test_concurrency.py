"""Many terminals at once: every op exactly once; on PostgreSQL the puller skips nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.domain.permissions import Role
from server.db.models import Order, ProcessedOp
from tests.server.support import Tenant


def test_twenty_terminals_push_concurrently_each_op_once(tenant: Tenant) -> None:
    cashier = tenant.staff[Role.CASHIER]
    terms = [tenant.term] + [tenant.enroll(name=f"Till {i}") for i in range(19)]
    batches = {t.device_id: [t.order_create(cashier, pay=True) for _ in range(5)] for t in terms}

    def run(term):  # type: ignore[no-untyped-def]
        ops = batches[term.device_id]
        first = term.push(ops[:3])
        again = term.push(ops)  # a retry overlapping the first batch
        return first, again

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(run, terms))
    for first, again in outcomes:
        assert [r["status"] for r in first["results"]] == ["applied"] * 3
        assert [r["status"] for r in again["results"]] == ["duplicate"] * 3 + ["applied"] * 2
        assert again["last_applied_seq"] == 5
    with tenant.server.ctx.reader() as s:
        orders = s.scalar(select(func.count()).select_from(Order)
                          .where(Order.org_id == tenant.org_id))
        ops = s.scalar(select(func.count()).select_from(ProcessedOp)
                       .where(ProcessedOp.org_id == tenant.org_id))
    assert orders == 100 and ops == 100
    changes, _ = tenant.term.pull_all()
    positions = [c["position"] for c in changes]
    assert positions == list(range(1, len(positions) + 1))
    assert len({c["entity_id"] for c in changes if c["entity_type"] == "order"}) == 100


def test_concurrent_writers_with_a_puller_never_skip_a_change(tenant: Tenant) -> None:
    """Writers in one store commit concurrently while a puller follows the feed."""
    cashier = tenant.staff[Role.CASHIER]
    writers = [tenant.term] + [tenant.enroll(name=f"W{i}") for i in range(7)]
    reader = tenant.enroll(name="Reader")
    expected: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    seen: list[dict] = []

    def write(term):  # type: ignore[no-untyped-def]
        with term.server.client() as c:
            for _ in range(6):
                op = term.order_create(cashier)
                with lock:
                    expected.add(op["entity_id"])
                assert term.push([op], client=c)["results"][0]["status"] == "applied"

    def pull() -> None:
        after = 0
        with reader.server.client() as c:
            while True:
                finished = done.is_set()
                page = c.get("/sync/pull", params={"after": after, "limit": 7},
                             headers=reader.headers).json()
                seen.extend(page["changes"])
                after = page["cursor"]
                if finished and not page["has_more"]:
                    return

    puller = threading.Thread(target=pull)
    puller.start()
    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        list(pool.map(write, writers))
    done.set()
    puller.join(60)
    got = {c["entity_id"] for c in seen if c["entity_type"] == "order"}
    assert got == expected
    positions = [c["position"] for c in seen]
    assert positions == sorted(positions) and len(positions) == len(set(positions))
    assert positions == list(range(positions[0], positions[0] + len(positions)))
