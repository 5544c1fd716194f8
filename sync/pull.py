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

Why the snapshot comes in pages, each in its own transaction: a catalog of 100,000
products is too much for one answer and one local transaction. The pages of one
snapshot share its cursor, fixed by the server before the first page's data, so
anything changed while we page is in the feed after it and the pull that follows
repairs it. The cursor is written only after the last page: a till that dies halfway
starts the snapshot again from the first page (re-applying is harmless).

Progress while paging: a server that sends ``head`` (its feed position when the page
was read) lets us report ``(cursor - start, head - start)``, a real fraction for a
first sync by feed or a long catch-up; without it the total is unknown (``None``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from app.domain.operations import Entity
from app.services import till_ceiling
from app.store.local import LocalStore
from app.store.models import Product, Staff
from sync import conflicts, page_commit, state
from sync.apply import apply_changes, apply_deferred, pending_entities
from sync.apply_context import ApplyContext
from sync.client import CursorExpired, SyncClient, TransientError
from sync.protocol import Change, PullResponse

Progress = Callable[[int, int | None], None]
SNAPSHOT_PAGE = 500  # changes asked for per snapshot page (the server may send fewer)
#: Changes asked for per feed page while catching up (a backlog at least this long behind
#: the head): a page is one local transaction, and larger ones cost less per change
#: (the peer pull of 100,000 changes: terminal CPU -29% at 5000 against 1000, server
#: -40%). Servers before it send at most 1000, and a pull within a page of the head
#: asks for the server's default, as before.
CATCH_UP_PAGE = 5000
SNAPSHOT_RESTARTS = 2


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
    device_seq: int | None = None  # this till's last op_seq the server applied (last page)

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


def resync_due(store: LocalStore) -> bool:
    """Whether a restore (of the till or the server) asked for a snapshot (sync/recovery.py)."""
    with store.db.read() as s:
        return state.get_state(s, state.RESYNC) is not None


def apply_page(store: LocalStore, changes: list[Change], expected: int | None = None,
               new_cursor: int | None = None, *,
               hook: Callable[[Change], None] | None = None) -> ApplyContext:
    """Apply a feed or snapshot page in one local transaction: a feed page moves the
    cursor from ``expected`` to ``new_cursor`` with it (committed without an fsync of its
    own: sync/page_commit.py); a snapshot page (no cursors given) leaves it, the
    snapshot's cursor is written after its last page."""
    with (page_commit.relaxed(store.db.writer) if new_cursor is not None else nullcontext(),
          store.db.write() as s):
        if expected is not None and state.cursor(s) != expected:
            raise CursorMoved(f"cursor is {state.cursor(s)}, expected {expected}")
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        apply_changes(s, ctx, changes, hook)
        if new_cursor is not None:
            state.set_state(s, state.CURSOR, str(new_cursor))
    return ctx


def remember_ceiling(store: LocalStore, role: str) -> bool:
    """Keep the till's role ceiling from a pull answer (app/services/till_ceiling.py);
    True when it went up, so the PIN hashes of staff now within it must be fetched."""
    with store.db.read() as s:
        if state.get_state(s, till_ceiling.CEILING_KEY) == role:
            return False
    with store.db.write() as s:
        return till_ceiling.store_ceiling(s, role)


def apply_held_back(store: LocalStore) -> int:
    """Apply deferred changes whose entities no longer have pending operations."""
    with store.db.write() as s:
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        return apply_deferred(s, ctx)


@dataclass
class _SnapshotSeen:
    """What the pages so far held, for replacing server-owned state after the last one."""

    products: set[str] = field(default_factory=set)
    staff: set[str] = field(default_factory=set)
    open_conflicts: set[str] = field(default_factory=set)

    def add(self, changes: list[Change]) -> None:
        for c in changes:
            if c.entity_type == Entity.PRODUCT:
                self.products.add(c.entity_id)
            elif c.entity_type == Entity.STAFF:
                self.staff.add(c.entity_id)
            elif c.entity_type == Entity.CONFLICT:
                self.open_conflicts.add(c.entity_id)


def _finish_snapshot(store: LocalStore, seen: _SnapshotSeen, cursor: int) -> None:
    """Replace server-owned state (what the snapshot lacks is gone on the server), then
    write the snapshot's cursor: the checkpoint comes after all the pages it covers."""
    with store.db.write() as s:
        pending = pending_entities(s)
        # ids and versions only: loading every product through the ORM (with its category
        # and barcodes) took a third of a 20,000-product first sync
        gone = [pid for pid, version in s.execute(
                    select(Product.id, Product.version).where(Product.active))
                if pid not in seen.products and pid not in pending and version > 0]
        for start in range(0, len(gone), 500):
            s.execute(update(Product).where(Product.id.in_(gone[start:start + 500]))
                      .values(active=False))
        for person in s.scalars(select(Staff).where(Staff.active)):
            if person.id not in seen.staff and person.version > 0:
                person.active = False
        conflicts.close_missing(s, seen.open_conflicts)
        state.set_state(s, state.CURSOR, str(cursor))
        state.del_state(s, state.RESYNC)


class SnapshotRestart(TransientError):
    """The snapshot must be loaded again from its first page (e.g. compacted while paging)."""


async def _load_snapshot(store: LocalStore, client: SyncClient, limit: int,
                         progress: Progress | None, report: PullReport) -> _SnapshotSeen:
    """Fetch and apply every page; returns what they held. ``report.cursor`` is the
    snapshot's cursor (fixed by the first page)."""
    seen = _SnapshotSeen()
    token: str | None = None
    cursor: int | None = None
    total: int | None = None
    while True:
        try:
            page = await client.snapshot(token, limit)
        except CursorExpired as exc:
            if token is None:
                raise
            raise SnapshotRestart(str(exc)) from exc
        if cursor is None:
            cursor = report.cursor = page.cursor
            total = page.total if page.total is not None else (
                None if page.has_more else len(page.changes))
            if progress:
                progress(0, total)
        elif page.cursor != cursor:  # not the same snapshot any more
            raise SnapshotRestart(f"snapshot cursor changed from {cursor} to {page.cursor}")
        report.server_time = page.server_time
        ctx = await asyncio.to_thread(apply_page, store, page.changes)
        seen.add(page.changes)
        report.add(ctx, len(page.changes))
        report.pages += 1
        if progress:
            done = report.pulled
            progress(done, max(total, done) if total is not None else None)
        if not page.has_more or not page.next_page_token:
            return seen
        token = page.next_page_token


async def resync_from_snapshot(store: LocalStore, client: SyncClient,
                               progress: Progress | None = None, *,
                               limit: int = SNAPSHOT_PAGE) -> PullReport:
    """Load GET /sync/snapshot page by page, each page in its own local transaction.

    The cursor is written only after the last page (with the clean-up of what the
    snapshot lacks): a till that dies halfway keeps its old cursor (0 on a first sync)
    and loads the snapshot again from the first page; re-applying a page is harmless.
    If the server answers 410 in the middle (the feed was compacted past the snapshot's
    cursor), the snapshot starts again from the first page.
    """
    for attempt in range(SNAPSHOT_RESTARTS + 1):
        report = PullReport(snapshot=True)
        try:
            seen = await _load_snapshot(store, client, limit, progress, report)
        except SnapshotRestart:
            if attempt == SNAPSHOT_RESTARTS:
                raise
            continue
        await asyncio.to_thread(_finish_snapshot, store, seen, report.cursor)
        return report
    raise AssertionError("unreachable")


async def _resync(store: LocalStore, client: SyncClient, progress: Progress | None,
                  limit: int, so_far: PullReport) -> PullReport:
    """Load a snapshot in the middle of a pull; its report carries on the pull's counts."""
    snap = await resync_from_snapshot(store, client, progress, limit=limit)
    snap.pulled += so_far.pulled
    snap.applied += so_far.applied
    return snap


async def fetch_orders(store: LocalStore, client: SyncClient, *, reference: str | None = None,
                       created_from: datetime | None = None,
                       created_to: datetime | None = None) -> PullReport:
    """Orders the snapshot's window left out (older than its days), fetched when a person
    opens or searches one: by ``reference``, or made in [created_from, created_to).
    GET /sync/orders, page by page, each page applied like a snapshot page (versioned:
    an order held at a newer version stays; one with unpushed operations is held back).
    The pull cursor does not move: the feed brings any later change of these orders."""
    report = PullReport()
    token: str | None = None
    for _ in range(10_000):  # bounded: each page moves the token on or ends the loop
        page = await client.orders(reference=reference, created_from=created_from,
                                   created_to=created_to, page_token=token)
        report.server_time = page.server_time
        ctx = await asyncio.to_thread(apply_page, store, page.changes)
        report.add(ctx, len(page.changes))
        report.pages += 1
        if not page.has_more or not page.next_page_token:
            break
        token = page.next_page_token
    return report


class _Ahead:
    """The next feed page, asked for while the one before it is applied (the server reads
    and encodes it meanwhile, in its own process); taken only if it follows on from the
    cursor the till then has, else dropped and asked for again."""

    def __init__(self, client: SyncClient, limit: int | None) -> None:
        self.client, self.limit = client, limit
        self.task: asyncio.Task[PullResponse] | None = None
        self.after = -1

    def start(self, after: int) -> None:
        self.cancel()
        self.after = after
        self.task = asyncio.ensure_future(self.client.pull(after, self.limit))

    async def take(self, after: int) -> PullResponse:
        task, self.task = self.task, None
        if task is not None and self.after == after:
            return await task
        if task is not None:
            _drop(task)
        return await self.client.pull(after, self.limit)

    def cancel(self) -> None:
        if self.task is not None:
            _drop(self.task)
            self.task = None


def _drop(task: asyncio.Task[PullResponse]) -> None:
    """Cancel a page asked for ahead; its error, if it had one, is not wanted."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def pull_changes(store: LocalStore, client: SyncClient, *, limit: int | None = None,
                       progress: Progress | None = None,
                       first_sync_snapshot: bool = True,
                       snapshot_limit: int = SNAPSHOT_PAGE) -> PullReport:
    """Pull until the feed has no more; a first sync or an expired cursor uses a snapshot."""
    cursor, started = await asyncio.to_thread(read_cursor, store)
    report = PullReport(cursor=cursor)
    if first_sync_snapshot and (not started or await asyncio.to_thread(resync_due, store)):
        snap = await resync_from_snapshot(store, client, progress, limit=snapshot_limit)
        report = snap
        cursor = snap.cursor
    ahead = _Ahead(client, limit)
    try:
        return await _pull_feed(store, client, ahead, cursor, report, progress, snapshot_limit,
                                limit)
    finally:
        ahead.cancel()


def _page_limit(page: PullResponse, limit: int | None) -> int | None:
    return next_page_limit(page.cursor, page.head, limit)


def next_page_limit(cursor: int, head: int | None, limit: int | None = None) -> int | None:
    """The next feed page's size after a page that ended at ``cursor`` (the server's
    ``head`` then): the caller's ``limit``, else CATCH_UP_PAGE while the head is at least
    that far ahead, else the server's default (None)."""
    if limit is not None:
        return limit
    return CATCH_UP_PAGE if (head or 0) - cursor >= CATCH_UP_PAGE else None


async def _pull_feed(store: LocalStore, client: SyncClient, ahead: _Ahead, cursor: int,
                     report: PullReport, progress: Progress | None,
                     snapshot_limit: int, limit: int | None) -> PullReport:
    """The feed from ``cursor`` on, page by page (the next asked for while one is applied)."""
    resyncs = 0
    start = cursor
    head: int | None = None
    ceiling_seen = False
    while True:
        try:
            page = await ahead.take(cursor)
        except CursorExpired:
            resyncs += 1
            if resyncs > 2:
                raise
            report = await _resync(store, client, progress, snapshot_limit, report)
            cursor = start = report.cursor
            head = None
            continue
        report.server_time = page.server_time
        report.device_seq = page.device_seq
        if page.max_role and not ceiling_seen:
            ceiling_seen = True
            if await asyncio.to_thread(remember_ceiling, store, page.max_role):
                # raised: the PIN hashes of staff now within it come with a snapshot
                report = await _resync(store, client, progress, snapshot_limit, report)
                cursor = start = report.cursor
                head = None
                continue
        if page.has_more and page.changes:
            ahead.limit = _page_limit(page, limit)
            ahead.start(page.cursor)
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
