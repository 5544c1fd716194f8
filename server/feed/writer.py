"""Appending to store change feeds, with positions assigned in commit order.

Two modes, both holding a lock on the store rows until commit, so a later position can
never become visible before an earlier one (a puller's cursor never skips a change):

* eager (``for_store`` / ``for_org``): the store rows are locked when the writer is
  made (``SELECT ... FOR NO KEY UPDATE``; on SQLite the whole database is already
  write-locked by ``BEGIN IMMEDIATE``) and each ``append`` takes the next position;
* deferred (``deferred``, used by push): ``append`` only buffers the change; ``assign``,
  called as the LAST step of the transaction, locks each store touched (in id order)
  by ``UPDATE stores SET feed_position = feed_position + n ... RETURNING`` and inserts
  the buffered entries with one executemany. The store lock is then held only for the
  insert and the commit, not for the whole batch of operations.

``FOR NO KEY UPDATE`` (not ``FOR UPDATE``) is compatible with the ``FOR KEY SHARE``
locks PostgreSQL takes on a store row when rows referencing it are inserted, so a
transaction that inserted orders of a store can still take that store's feed lock.
Org-wide entities (products, staff) go to every store of the org.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.bulk_insert import insert_rows, row_parameters
from server.db.models import FeedEntry, Store
from server.db.raw_query import execute_pg

_stores = cast(Table, Store.__table__)
_feed = cast(Table, FeedEntry.__table__)
_TAKE_POSITIONS = (update(_stores).where(_stores.c.id == bindparam("sid"))
                   .values(feed_position=_stores.c.feed_position + bindparam("n"))
                   .returning(_stores.c.feed_position))


class FeedWriter:
    def __init__(self, session: Session, stores: list[Store]) -> None:
        self.session = session
        self.stores = stores
        self.deferred_mode = False
        self.store_id: str | None = None
        self.org_id: str | None = None
        self._org_store_ids: list[str] | None = None  # cache of the org's stores
        self._to_org = False  # appends go to every store of the org (an org_wide view)
        self.pending: list[dict[str, Any]] = []

    @classmethod
    def for_store(cls, session: Session, store_id: str) -> FeedWriter:
        stmt = select(Store).where(Store.id == store_id).with_for_update(key_share=True)
        store = session.scalars(stmt).one()
        return cls(session, [store])

    @classmethod
    def for_org(cls, session: Session, org_id: str) -> FeedWriter:
        stmt = (select(Store).where(Store.org_id == org_id).order_by(Store.id)
                .with_for_update(key_share=True))
        return cls(session, list(session.scalars(stmt).all()))

    @classmethod
    def deferred(cls, session: Session, org_id: str, store_id: str) -> FeedWriter:
        """A buffering writer for one store (and its org); call ``assign`` before commit."""
        writer = cls(session, [])
        writer.deferred_mode = True
        writer.org_id = org_id
        writer.store_id = store_id
        return writer

    def org_wide(self) -> FeedWriter:
        """A deferred writer sharing this buffer whose appends go to every store of the org.

        This writer itself stays a one-store writer: which stores an append goes to is
        the view's ``_to_org``, never whether the org's store list happens to be cached
        (it once was, and a product op earlier in a push sent the push's orders to every
        store of the organization)."""
        view = FeedWriter(self.session, [])
        view.deferred_mode = True
        view.org_id = self.org_id
        view.store_id = None
        view.pending = self.pending
        view._org_store_ids = self._org_stores()
        view._to_org = True
        return view

    def _org_stores(self) -> list[str]:
        if self._org_store_ids is None:
            self._org_store_ids = list(self.session.scalars(
                select(Store.id).where(Store.org_id == self.org_id).order_by(Store.id)))
        return self._org_store_ids

    def append(
        self,
        entity_type: str,
        entity_id: str,
        version: int,
        data: dict[str, Any],
        *,
        deleted: bool = False,
        origin_device_id: str | None = None,
        op_id: str | None = None,
        store_id: str | None = None,
    ) -> None:
        """Add one change to every store's feed of this writer (or only to ``store_id``)."""
        if self.deferred_mode:
            if store_id is not None:
                targets = [store_id]
            elif self._to_org:
                targets = self._org_stores()
            else:
                targets = [self.store_id]  # type: ignore[list-item]
            for sid in targets:
                self.pending.append({
                    "store_id": sid, "position": 0, "entity_type": entity_type,
                    "entity_id": entity_id, "version": version, "deleted": deleted,
                    "data": data, "origin_device_id": origin_device_id, "op_id": op_id,
                })
            return
        for store in self.stores:
            if store_id is not None and store.id != store_id:
                continue
            store.feed_position += 1
            self.session.add(FeedEntry(
                store_id=store.id, position=store.feed_position, entity_type=entity_type,
                entity_id=entity_id, version=version, deleted=deleted, data=data,
                origin_device_id=origin_device_id, op_id=op_id,
            ))

    def mark(self) -> int:
        """The buffer length, to ``truncate`` to when a savepoint is rolled back."""
        return len(self.pending)

    def truncate(self, mark: int) -> None:
        del self.pending[mark:]

    def assign(self) -> None:
        """Lock the touched stores (id order), take their next positions, insert the entries.

        Must be the last write of the transaction: the locks are held until commit.
        """
        if not self.pending:
            return
        per_store: dict[str, list[dict[str, Any]]] = {}
        for entry in self.pending:
            per_store.setdefault(entry["store_id"], []).append(entry)
        conn = self.session.connection()
        now = utcnow()
        if conn.dialect.name == "postgresql" and len(per_store) == 1:
            [(sid, entries)] = per_store.items()
            for entry in entries:
                entry["created_at"] = now
            if _assign_one_store_pg(conn, sid, entries):
                self.pending.clear()
                return
        heads = (_take_positions_pg(conn, per_store)
                 if conn.dialect.name == "postgresql" and len(per_store) > 1 else
                 {sid: conn.execute(_TAKE_POSITIONS, {"sid": sid, "n": len(entries)}
                                    ).scalar_one() for sid, entries in sorted(per_store.items())})
        for sid, entries in per_store.items():
            first = heads[sid] - len(entries) + 1
            for i, entry in enumerate(entries):
                entry["position"] = first + i
                entry["created_at"] = now
        insert_rows(conn, _feed, self.pending)
        self.pending.clear()


_LOCK_STORES = (select(_stores.c.id).where(_stores.c.id.in_(bindparam("ids", expanding=True)))
                .order_by(_stores.c.id).with_for_update(key_share=True))


def _take_positions_pg(conn: Any, per_store: dict[str, list[Any]]) -> dict[str, int]:
    """Every store's new head in two round trips, not one per store: the rows locked in
    id order first (as one store at a time would), then one UPDATE ... FROM (VALUES)."""
    ids = sorted(per_store)
    conn.execute(_LOCK_STORES, {"ids": ids}).all()
    values = ", ".join(["(%s, %s::integer)"] * len(ids))
    rows = conn.exec_driver_sql(
        "UPDATE stores SET feed_position = stores.feed_position + v.n FROM (VALUES "
        + values + ") AS v(id, n) WHERE stores.id = v.id "
        "RETURNING stores.id, stores.feed_position",
        tuple(x for sid in ids for x in (sid, len(per_store[sid])))).all()
    return {row[0]: row[1] for row in rows}


#: PostgreSQL, one store: statements by shape (the entries' keys, their number)
_ONE_STORE: dict[tuple[Any, tuple[str, ...], int],
                 tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], int]] = {}
MAX_ONE_STORE = 50  # entries: more go by COPY


def _assign_one_store_pg(conn: Any, sid: str, entries: list[dict[str, Any]]) -> bool:
    """One store's next positions taken (its row locked by the UPDATE, as
    ``_TAKE_POSITIONS``) and its entries inserted at them, in their order, by ONE
    statement written once per shape with ``$n`` placeholders on the driver's cursor:
    ``WITH s AS (UPDATE stores ... RETURNING feed_position) INSERT INTO feed_entries ...
    SELECT ... FROM s, (VALUES ...)``. Was an UPDATE and a COPY (three round trips).
    Each value is cast to its column's type without a length (an over-long value is
    refused by the insert, as before, not cut by the cast). False: not done (too many
    entries, or keys insert_rows would leave to SQLAlchemy)."""
    if len(entries) > MAX_ONE_STORE:
        return False
    keys = tuple(entries[0])
    cache_key = (conn.dialect, keys, len(entries))
    built = _ONE_STORE.get(cache_key)
    if built is None:
        params_of = row_parameters(conn, _feed, keys)
        if params_of is None or "position" not in keys:
            return False
        skip = keys.index("position")
        cols = [k for k in keys if k != "position"]
        casts = [re.sub(r"\(.*\)", "", _feed.c[k].type.compile(dialect=conn.dialect))
                 for k in cols]
        count = len(entries)
        rows, n = [], 2
        for i in range(count):
            rows.append("(" + ", ".join(f"${n + j}::{cast_to}" for j, cast_to in
                                        enumerate(casts)) + f", {i + 1})")
            n += len(cols)
        quote = conn.dialect.identifier_preparer.quote
        sql = (f"WITH s AS (UPDATE stores SET feed_position = feed_position + {count} "
               "WHERE id = $1 RETURNING feed_position) "
               f"INSERT INTO feed_entries ({', '.join(quote(c) for c in cols)}, position) "
               f"SELECT {', '.join('v.' + quote(c) for c in cols)}, "
               f"s.feed_position - {count} + v.ord FROM s, (VALUES {', '.join(rows)}) "
               f"AS v({', '.join(quote(c) for c in cols)}, ord)")
        _ONE_STORE[cache_key] = built = (sql, params_of, skip)
    sql, params_of, skip = built
    params: list[Any] = [sid]
    for entry in entries:
        values = params_of(entry)
        params.extend(values[:skip])
        params.extend(values[skip + 1:])
    if execute_pg(conn, sql, params) != len(entries):  # (no such store: as scalar_one)
        raise NoResultFound(f"store {sid} not found for its feed positions")
    return True
