"""Pulling the store's change feed: page by page, each page and its cursor in one transaction.

Why one transaction per page: the cursor is a checkpoint, and a checkpoint is written
after the data it covers, never before. If the till loses power halfway through a
page, neither the half-applied rows nor the new cursor survive, and the page is
pulled again. Applying is idempotent (versions, ids), so a replay is harmless.

Why a snapshot for the first sync and after HTTP 410: a new till would otherwise
replay the whole history of the store; a snapshot is the current state, its size is
known up front (so the UI can show a real progress bar), and it is the only way
back once our cursor is older than the feed's compaction horizon. The outbox is
not touched: pending operations stay queued and are pushed (replayed) as usual.

Progress while paging: a server that sends ``head`` (its feed position when the page
was read) lets us report ``(cursor - start, head - start)``, a real fraction for a
first sync by feed or a long catch-up; without it the total is unknown (``None``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.store.local import LocalStore
from app.store.models import Product, Staff
from sync import conflicts, state
from sync.apply import ApplyContext, apply_change, apply_deferred, pending_entities
from sync.client import CursorExpired, SyncClient
from sync.protocol import Change

Progress = Callable[[int, int | None], None]
SNAPSHOT_CHUNK = 500


class CursorMoved(RuntimeError):
    """Another puller advanced the cursor meanwhile; this page is dropped, nothing applied."""


@dataclass
class PullReport:
    pulled: int = 0
    applied: int = 0
    held_back: int = 0  # not applied: the entity has unpushed local operations
    skipped: int = 0  # older than ours, our own, or unknown to this version
    pages: int = 0
    snapshot: bool = False
    cursor: int = 0
    server_time: datetime | None = None

    def add(self, ctx: ApplyContext, pulled: int) -> None:
        self.pulled += pulled
        self.applied += ctx.applied
        self.held_back += ctx.skipped_pending
        self.skipped += ctx.skipped


def read_cursor(store: LocalStore) -> tuple[int, bool]:
    """(cursor, whether this terminal ever pulled)."""
    with store.db.read() as s:
        raw = state.get_state(s, state.CURSOR)
        started = state.get_state(s, state.LAST_SYNC) is not None
    return int(raw or 0), started or int(raw or 0) > 0


def apply_page(store: LocalStore, changes: list[Change], expected: int, new_cursor: int,
               *, hook: Callable[[Change], None] | None = None) -> ApplyContext:
    """Apply ``changes`` and move the cursor from ``expected`` to ``new_cursor``, atomically."""
    with store.db.write() as s:
        if state.cursor(s) != expected:
            raise CursorMoved(f"cursor is {state.cursor(s)}, expected {expected}")
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        for change in changes:
            if hook is not None:
                hook(change)
            apply_change(s, ctx, change)
        state.set_state(s, state.CURSOR, str(new_cursor))
    return ctx


def apply_held_back(store: LocalStore) -> int:
    """Apply deferred changes whose entities no longer have pending operations."""
    with store.db.write() as s:
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        return apply_deferred(s, ctx)


def _apply_chunk(store: LocalStore, changes: list[Change]) -> ApplyContext:
    with store.db.write() as s:
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        for change in changes:
            apply_change(s, ctx, change)
    return ctx


def _finish_snapshot(store: LocalStore, changes: list[Change], cursor: int) -> None:
    """Replace server-owned state: what the snapshot lacks is gone on the server."""
    seen = {(c.entity_type, c.entity_id) for c in changes}
    open_conflicts = {c.entity_id for c in changes if c.entity_type == "conflict"}
    with store.db.write() as s:
        pending = pending_entities(s)
        for p in s.scalars(select(Product).where(Product.active)):
            if ("product", p.id) not in seen and p.id not in pending and p.version > 0:
                p.active = False
        for person in s.scalars(select(Staff).where(Staff.active)):
            if ("staff", person.id) not in seen and person.version > 0:
                person.active = False
        conflicts.close_missing(s, open_conflicts)
        state.set_state(s, state.CURSOR, str(cursor))


async def resync_from_snapshot(store: LocalStore, client: SyncClient,
                               progress: Progress | None = None) -> PullReport:
    """Load GET /sync/snapshot in chunks; the cursor is written last."""
    snap: dict[str, Any] = await client.snapshot()
    changes = [Change.model_validate(c) for c in snap.get("changes", [])]
    report = PullReport(snapshot=True, cursor=int(snap["cursor"]))
    if snap.get("server_time"):
        report.server_time = datetime.fromisoformat(str(snap["server_time"]).replace("Z", "+00:00"))
    total = len(changes)
    if progress:
        progress(0, total)
    for start in range(0, total, SNAPSHOT_CHUNK):
        chunk = changes[start:start + SNAPSHOT_CHUNK]
        ctx = await asyncio.to_thread(_apply_chunk, store, chunk)
        report.add(ctx, len(chunk))
        report.pages += 1
        if progress:
            progress(min(start + SNAPSHOT_CHUNK, total), total)
    await asyncio.to_thread(_finish_snapshot, store, changes, report.cursor)
    return report


async def pull_changes(store: LocalStore, client: SyncClient, *, limit: int | None = None,
                       progress: Progress | None = None,
                       first_sync_snapshot: bool = True) -> PullReport:
    """Pull until the feed has no more; a first sync or an expired cursor uses a snapshot."""
    cursor, started = await asyncio.to_thread(read_cursor, store)
    report = PullReport(cursor=cursor)
    if first_sync_snapshot and not started:
        snap = await resync_from_snapshot(store, client, progress)
        report = snap
        cursor = snap.cursor
    resyncs = 0
    start = cursor
    head: int | None = None
    while True:
        try:
            page = await client.pull(cursor, limit)
        except CursorExpired:
            resyncs += 1
            if resyncs > 2:
                raise
            snap = await resync_from_snapshot(store, client, progress)
            snap.pulled += report.pulled
            snap.applied += report.applied
            report, cursor = snap, snap.cursor
            start, head = cursor, None
            continue
        report.server_time = page.server_time
        ctx = await asyncio.to_thread(apply_page, store, page.changes, cursor, page.cursor)
        report.add(ctx, len(page.changes))
        report.pages += 1
        cursor = report.cursor = page.cursor
        if page.head is not None:
            head = max(head or 0, page.head, page.cursor)
        if progress and page.changes:
            if head is not None and head > start:
                progress(page.cursor - start, head - start)
            else:
                progress(report.pulled, None)
        if not page.has_more or not page.changes:
            return report
