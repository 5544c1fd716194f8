"""A till far behind the feed's head asks for larger pages (sync/pull.py CATCH_UP_PAGE)
until it is within one of the head, then for the server's default again; a caller's
own page size is kept. Against the real server under uvicorn (default page 50 here)."""

from __future__ import annotations

import asyncio
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


class LimitClient(SyncClient):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.asked: list[tuple[int | None, int, int | None]] = []  # limit, changes, behind

    async def pull(self, after: int, limit: int | None = None) -> PullResponse:
        page = await super().pull(after, limit)
        self.asked.append((limit, len(page.changes), (page.head or 0) - after))
        return page


def test_a_till_far_behind_asks_for_larger_pages(till_factory: Any, tenant: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    term.push([term.order_create(cashier, lines=[line(None, 100 + i)], pay=True)
               for i in range(120)])
    monkeypatch.setattr(pull_module, "CATCH_UP_PAGE", 30)
    till = till_factory("B")

    async def pull(limit: int | None) -> LimitClient:
        client = LimitClient(till.store.device().server_url or "", till.token())
        async with client:
            await pull_changes(till.store, client, limit=limit, first_sync_snapshot=False)
        return client

    asked = asyncio.run(pull(None)).asked
    limits = [limit for limit, _, _ in asked]
    assert limits[0] is None and 30 in limits and limits[-1] is None
    for (_, got, behind), (limit, _, _) in zip(asked, asked[1:], strict=False):
        # a page of 30 is asked for when, and only when, the one before ended 30 behind
        assert (limit == 30) == (behind - got >= 30)
    assert all(got == 30 for limit, got, _ in asked if limit == 30)
    with till.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 120

    with till.store.db.write() as s:  # again from the start, the caller's size throughout
        state.set_state(s, state.CURSOR, "0")
    assert {limit for limit, _, _ in asyncio.run(pull(7)).asked} == {7}
