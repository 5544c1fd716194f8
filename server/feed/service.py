"""Pull (a page of a store's change feed) and compaction; the snapshot is in snapshot.py."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Text, cast, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from app.domain.operations import Entity
from server.context import AppContext, TerminalPrincipal
from server.db.base import SEALED_PREFIX, json_dumps, utcnow
from server.db.models import FeedEntry, Store
from server.errors import ApiError, not_found
from server.feed.ceiling import ceiling_of, data_for_ceiling
from server.sync import position
from sync.protocol import PullResponse

FEED_DATA: Any = FeedEntry.__table__.c.data.type  # PersonalJSON: opens sealed values


def _expired(horizon: int, message: str) -> ApiError:
    return ApiError(410, "cursor_expired", message, {"horizon": horizon})


#: The feed's columns as a page sends them; ``data`` as the text the database holds.
RAW_COLUMNS = (FeedEntry.position, FeedEntry.entity_type, FeedEntry.entity_id, FeedEntry.version,
               FeedEntry.deleted, cast(FeedEntry.data, Text), FeedEntry.origin_device_id,
               FeedEntry.op_id)
_SEALED = f'"{SEALED_PREFIX}'  # how a sealed value starts in the stored JSON text
_EMPTY_CHANGES = b'{"changes":[]'


def pull(ctx: AppContext, terminal: TerminalPrincipal, after: int, limit: int) -> PullResponse:
    """:func:`pull_json` as a model (for callers that want one; the endpoint sends the bytes)."""
    return PullResponse.model_validate_json(pull_json(ctx, terminal, after, limit)[0])


def pull_json(ctx: AppContext, terminal: TerminalPrincipal, after: int, limit: int
              ) -> tuple[bytes, int]:
    """A page of GET /sync/pull as its JSON body, and its cursor: changes of the
    terminal's store after ``after``, in position order, as a till of its role ceiling
    may see them; the answer says the ceiling (``max_role``).

    Each change's ``data`` is sent as the JSON text the feed stored (compact, written by
    the server from a validated state), not decoded and encoded again: that was two
    thirds of the server's time per page. Only an entry holding a sealed value (a
    customer's personal data at rest) or a staff entry the ceiling may blank is decoded."""
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
        dialect = session.get_bind().dialect
        rows = session.execute(
            select(*RAW_COLUMNS)
            .where(FeedEntry.store_id == terminal.store_id, FeedEntry.position > after)
            .order_by(FeedEntry.position)
            .limit(limit + 1)
        ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].position if rows else after
    # the rows are read after the store: on PostgreSQL (read committed) a push committing
    # in between shows in them, beyond the head read. The feed holds its cursor at least.
    envelope = PullResponse(changes=[], cursor=cursor, has_more=has_more, server_time=utcnow(),
                            head=max(head, cursor), max_role=ceiling,
                            device_seq=device_seq).model_dump_json().encode()
    if not envelope.startswith(_EMPTY_CHANGES):
        raise AssertionError("PullResponse no longer starts with its changes")
    body = b",".join(_change_json(r, ceiling, dialect) for r in rows)
    return b'{"changes":[' + body + b"]" + envelope[len(_EMPTY_CHANGES):], cursor


def _change_json(row: Sequence[Any], ceiling: str | None, dialect: Dialect) -> bytes:
    """One change of a page as JSON, its ``data`` the stored text unless it must be opened
    (a sealed value) or may be blanked (a staff entry: server/feed/ceiling.py)."""
    pos, entity_type, entity_id, version, deleted, text, origin, op_id = row
    if text is None:
        data = b"null"
    elif entity_type == Entity.STAFF or _SEALED in text:
        value = FEED_DATA.process_result_value(json.loads(text), dialect)
        data = json_dumps(data_for_ceiling(entity_type, value, ceiling)).encode()
    else:
        data = text.encode()
    head = orjson.dumps({"position": pos, "entity_type": entity_type, "entity_id": entity_id,
                         "version": version, "deleted": bool(deleted)})
    tail = orjson.dumps({"origin_device_id": origin, "op_id": op_id})
    return head[:-1] + b',"data":' + data + b"," + tail[1:]


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
