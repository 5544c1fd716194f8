"""The next feed page is asked for while one is applied (sync/pull.py ``_Ahead``), against
the real server under uvicorn: one request per page and each page asked for once, in
cursor order; a page that fails to apply drops the page asked for ahead (no stray task,
no cursor moved past the failed page) and the next pull goes on from the last page
applied, ending with the same orders."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from sqlalchemy import func, select

import sync.pull as pull_module
from app.domain.permissions import Role
from app.store.models import Order
from sync import state
from sync.client import SyncClient
from sync.protocol import PullResponse
from sync.pull import pull_changes
from tests.server.support import line


class CountingClient(SyncClient):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.asked: list[int] = []

    async def pull(self, after: int, limit: int | None = None) -> PullResponse:
        self.asked.append(after)
        return await super().pull(after, limit)


def _orders(till: Any) -> int:
    with till.store.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_pages_are_asked_for_ahead_once_each_and_a_failure_drops_the_next(
        till_factory: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    term.push([term.order_create(cashier, lines=[line(None, 100 + i)], pay=True) for i in range(9)])
    till = till_factory("B")

    async def pull(client: CountingClient) -> Any:
        async with client:
            return await pull_changes(till.store, client, limit=2, first_sync_snapshot=False)

    real = pull_module.apply_page
    calls = {"n": 0}

    def failing(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*a, **kw)

    monkeypatch.setattr(pull_module, "apply_page", failing)
    first = CountingClient(till.store.device().server_url or "", till.token())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a task left with its exception would warn
        with pytest.raises(RuntimeError, match="disk full"):
            asyncio.run(pull(first))
    with till.store.db.read() as s:
        stopped_at = state.cursor(s)
    assert stopped_at == first.asked[2]  # two pages applied, the third not
    assert len(first.asked) == 4  # the fourth was asked for ahead, then dropped

    monkeypatch.setattr(pull_module, "apply_page", real)
    second = CountingClient(till.store.device().server_url or "", till.token())
    report = asyncio.run(pull(second))
    assert second.asked[0] == stopped_at
    assert second.asked == sorted(set(second.asked))  # each page once, in cursor order
    assert len(second.asked) == report.pages
    assert _orders(till) == 9
