"""Fetching what needs attention that only the server knows, now and then.

While online, the sync round asks ``GET /attention/terminal`` at most every
:data:`INTERVAL` (it also tells the server this till is alive) and keeps the answer
with the time it was fetched (app/services/server_attention.py), so the "needs
attention" list shows the server's items, and how fresh they are, offline too. A
refusal (a till whose role ceiling is below ``report.view``), an older server without
the endpoint or a dropped connection never fails the sync round: the last answer
stays, and the next try waits for the interval again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from app.services import server_attention
from app.store.local import LocalStore
from sync import state
from sync.client import SyncClient, SyncError

log = logging.getLogger("tillsync.sync.attention")

INTERVAL = timedelta(minutes=5)


def due(store: LocalStore, now: datetime, interval: timedelta = INTERVAL) -> bool:
    with store.db.read() as s:
        raw = state.get_state(s, server_attention.TRIED_KEY)
    try:
        tried = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        tried = None
    return tried is None or not now - interval < tried <= now


def _record(store: LocalStore, now: datetime, answer: dict[str, object] | None) -> None:
    with store.db.write() as s:
        state.set_state(s, server_attention.TRIED_KEY, now.isoformat())
        if answer is not None:
            server_attention.save(s, answer, now)


async def pull_attention(store: LocalStore, client: SyncClient, *,
                         now: datetime | None = None, force: bool = False) -> bool:
    """Fetch and keep the server's answer when due (or ``force``); True when stored."""
    now = now or datetime.now(UTC)
    if not force and not await asyncio.to_thread(due, store, now):
        return False
    answer: dict[str, object] | None = None
    try:
        answer = await client.attention()
    except SyncError as exc:
        log.info("the server's attention list was not fetched: %s", exc)
    if answer is not None and not isinstance(answer, dict):
        answer = None
    await asyncio.to_thread(_record, store, now, answer)
    return answer is not None
