"""Pull (a page of a store's change feed) and compaction; the snapshot is in snapshot.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import FeedEntry, Store
from server.errors import ApiError, not_found
from server.feed.ceiling import ceiling_of, for_ceiling
from server.sync import position
from sync.protocol import Change, PullResponse

FEED_COLUMNS = (FeedEntry.position, FeedEntry.entity_type, FeedEntry.entity_id, FeedEntry.version,
                FeedEntry.deleted, FeedEntry.data, FeedEntry.origin_device_id, FeedEntry.op_id)


def _expired(horizon: int, message: str) -> ApiError:
    return ApiError(410, "cursor_expired", message, {"horizon": horizon})


def pull(ctx: AppContext, terminal: TerminalPrincipal, after: int, limit: int) -> PullResponse:
    """Changes of the terminal's store after ``after``, in position order, as a till of
    its role ceiling may see them; the answer says the ceiling (``max_role``)."""
    with ctx.reader() as session:
        store = session.get(Store, terminal.store_id)
        if store is None:
            raise not_found("Store")
        if after < store.feed_horizon:
            raise _expired(store.feed_horizon,
                           "This cursor is older than the compaction horizon; "
                           "load GET /sync/snapshot and continue from its cursor")
        if after > store.feed_position:
            raise _expired(store.feed_horizon,
                           "This cursor is ahead of the server's feed (restored server?); "
                           "load GET /sync/snapshot")
        head = store.feed_position
        ceiling = ceiling_of(session, terminal)
        device_seq = position.device_seq(session, terminal)
        # columns, not ORM objects, and changes built without validation: the rows are the
        # server's own, written from validated states (a page of 1,000 costs a third less)
        rows = session.execute(
            select(*FEED_COLUMNS)
            .where(FeedEntry.store_id == terminal.store_id, FeedEntry.position > after)
            .order_by(FeedEntry.position)
            .limit(limit + 1)
        ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = for_ceiling([
        Change.model_construct(position=r.position, entity_type=r.entity_type,
                               entity_id=r.entity_id, version=r.version, deleted=r.deleted,
                               data=r.data, origin_device_id=r.origin_device_id, op_id=r.op_id)
        for r in rows
    ], ceiling)  # no PIN hash of staff above the terminal's ceiling (server/feed/ceiling.py)
    cursor = rows[-1].position if rows else after
    # the rows are read after the store: on PostgreSQL (read committed) a push committing
    # in between shows in them, beyond the head read. The feed holds its cursor at least.
    return PullResponse(changes=changes, cursor=cursor, has_more=has_more, server_time=utcnow(),
                        head=max(head, cursor), max_role=ceiling, device_seq=device_seq)


@contextmanager
def consistent_read(ctx: AppContext) -> Iterator[Session]:
    """A read-only session whose statements all see one snapshot of the database."""
    with ctx.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        with Session(bind=conn) as session, session.begin():
            yield session


def compact(ctx: AppContext, org_id: str, store_id: str, before: int) -> int:
    """Drop feed entries at or below ``before``; older cursors then get HTTP 410."""
    with ctx.writer.begin() as session:
        store = session.scalars(select(Store).where(Store.id == store_id).with_for_update()).first()
        if store is None or store.org_id != org_id:
            raise not_found("Store")
        before = min(before, store.feed_position)
        if before > store.feed_horizon:
            session.execute(delete(FeedEntry).where(FeedEntry.store_id == store_id,
                                                    FeedEntry.position <= before))
            store.feed_horizon = before
        return store.feed_horizon
