"""The terminal's push in batches: the next batch is read and sent while the results of
the one before are written. Against a scripted server, so every answer is chosen: the
order batches go out in, results recorded for every batch, flags, a gap in the middle,
and a dropped connection in the middle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from app.store.models import Order, OutboxOperation
from sync.client import TransientError
from sync.protocol import Operation, OperationResult, OpStatus, PushResponse
from sync.push import push_pending
from tests.sync.conftest import Till


class ScriptedServer:
    """Answers a push as the server would (applied, version 1), unless told otherwise."""

    def __init__(self, *, flags: dict[int, list[str]] | None = None,
                 gap_on_batch: int | None = None, fail_on_batch: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.applied: set[int] = set()
        self.flags = flags or {}
        self.gap_on_batch = gap_on_batch
        self.fail_on_batch = fail_on_batch
        self.restored = False

    async def push(self, ops: list[Operation], journal_head: object = None) -> PushResponse:
        await asyncio.sleep(0.01)  # on the wire: the terminal reads and writes meanwhile
        batch = len(self.batches) + 1
        self.batches.append([op.op_seq for op in ops])
        if batch == self.fail_on_batch:
            raise TransientError("connection reset")
        if batch == self.gap_on_batch and not self.restored:
            # restored from a backup: it lost everything from op_seq 3 on
            self.restored = True
            self.applied = {s for s in self.applied if s < 3}
            return PushResponse(results=[], last_applied_seq=2, gap_from=3,
                                server_time=ops[0].created_at)
        results = []
        for op in ops:
            status = OpStatus.DUPLICATE if op.op_seq in self.applied else OpStatus.APPLIED
            self.applied.add(op.op_seq)
            results.append(OperationResult(op_id=op.op_id, op_seq=op.op_seq, status=status,
                                           entity_id=op.entity_id, version=1,
                                           flags=self.flags.get(op.op_seq, [])))
        return PushResponse(results=results, last_applied_seq=max(self.applied),
                            server_time=ops[0].created_at)


def _statuses(till: Till) -> list[str]:
    with till.store.db.read() as s:
        return list(s.scalars(select(OutboxOperation.status).order_by(OutboxOperation.op_seq)))


def _push(till: Till, server: ScriptedServer, batch_size: int) -> Any:
    return asyncio.run(push_pending(till.store, server, batch_size=batch_size))  # type: ignore[arg-type]


def test_batches_go_in_order_and_every_result_is_written(till_factory: Any) -> None:
    till = till_factory("Batches")
    sales = [till.sell(100 + i) for i in range(23)]  # op 1: the shift the first sale opened
    server = ScriptedServer(flags={3: ["price_changed"], 18: ["negative_stock"]})
    report = _push(till, server, batch_size=5)
    assert server.batches == [list(range(i, min(i + 5, 25))) for i in range(1, 25, 5)]
    assert report.applied == 24 and report.pushed == 24 and report.duplicates == 0
    assert _statuses(till) == ["done"] * 24
    with till.store.db.read() as s:
        orders = {o.id: o for o in s.scalars(select(Order))}
        results = {r.op_seq: r.result for r in s.scalars(select(OutboxOperation))}
    assert all(orders[sale.order_id].version == 1 for sale in sales)
    assert "price_changed" in orders[sales[1].order_id].flags
    assert "negative_stock" in orders[sales[16].order_id].flags
    assert results[3]["status"] == "applied" and results[3]["flags"] == ["price_changed"]
    assert sorted(report.flags.values()) == [["negative_stock"], ["price_changed"]]


def test_a_gap_in_the_middle_resends_from_the_missing_op(till_factory: Any) -> None:
    till = till_factory("Gap")
    for i in range(12):
        till.sell(100 + i)  # op 1: the shift the first sale opened
    server = ScriptedServer(gap_on_batch=2)
    report = _push(till, server, batch_size=5)
    assert server.batches[:2] == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert server.batches[2][0] == 3  # everything from the missing op again, in order
    assert report.resent_from == 3
    assert _statuses(till) == ["done"] * 13
    assert server.applied == set(range(1, 14))


def test_a_dropped_connection_keeps_what_was_answered_and_the_rest_pending(
        till_factory: Any) -> None:
    till = till_factory("Dropped")
    for i in range(12):
        till.sell(100 + i)  # op 1: the shift the first sale opened
    server = ScriptedServer(fail_on_batch=2)
    with pytest.raises(TransientError):
        _push(till, server, batch_size=5)
    assert _statuses(till) == ["done"] * 5 + ["pending"] * 8
    with till.store.db.read() as s:
        attempts = dict(s.execute(select(OutboxOperation.op_seq, OutboxOperation.attempts)).all())
    assert [attempts[seq] for seq in range(6, 11)] == [1] * 5
    # the next sync sends the rest, once
    report = _push(till, ScriptedServer(), batch_size=5)
    assert report.applied == 8 and _statuses(till) == ["done"] * 13
