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

from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.bulk_insert import insert_rows
from server.db.models import FeedEntry, Store

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
