"""Appending to store change feeds, with positions assigned in commit order.

The writing transaction locks the store rows (``SELECT ... FOR UPDATE``; on SQLite the
whole database is already write-locked by ``BEGIN IMMEDIATE``) and takes positions from
``stores.feed_position``. The lock is held until commit, so a later position can never
become visible before an earlier one: a puller's cursor never skips a change.
Org-wide entities (products, staff) lock every store of the org, in id order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import FeedEntry, Store


class FeedWriter:
    def __init__(self, session: Session, stores: list[Store]) -> None:
        self.session = session
        self.stores = stores

    @classmethod
    def for_store(cls, session: Session, store_id: str) -> FeedWriter:
        stmt = select(Store).where(Store.id == store_id).with_for_update()
        store = session.scalars(stmt).one()
        return cls(session, [store])

    @classmethod
    def for_org(cls, session: Session, org_id: str) -> FeedWriter:
        stmt = select(Store).where(Store.org_id == org_id).order_by(Store.id).with_for_update()
        return cls(session, list(session.scalars(stmt).all()))

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
        """Add one change to every locked store's feed (or only to ``store_id``)."""
        for store in self.stores:
            if store_id is not None and store.id != store_id:
                continue
            store.feed_position += 1
            self.session.add(FeedEntry(
                store_id=store.id, position=store.feed_position, entity_type=entity_type,
                entity_id=entity_id, version=version, deleted=deleted, data=data,
                origin_device_id=origin_device_id, op_id=op_id,
            ))
