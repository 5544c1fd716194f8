"""``GET /sync/orders``: a store's orders on demand, for a till whose snapshot did not
carry them (older than its window, server/feed/snapshot.py).

A person at a till opens or searches an order from before the snapshot's window (a
receipt re-printed, a refund asked for months later): the till asks for it by
reference, or for a range of days, and applies the answer like a snapshot page (the
same changes, versioned: an order already held at a newer version is left alone). The
answer has the snapshot's shape; its ``cursor`` is the feed's position when read, for
information only: the till's pull cursor does not move (the feed brings any later
change of these orders anyway).

Scoping is the terminal's own store; the page token is the last order id sent (keyset
paging by id; ids are UUIDv7, so by time made).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import Approval, Order, Store
from server.errors import ApiError, not_found
from server.feed.service import consistent_read
from server.feed.snapshot import approval_changes, order_changes
from sync.protocol import Change, SnapshotResponse

MAX_ORDERS = 500


def orders_page(ctx: AppContext, terminal: TerminalPrincipal, *, reference: str | None,
                created_from: datetime | None, created_to: datetime | None,
                page_token: str | None, limit: int) -> SnapshotResponse:
    """The store's orders by ``reference`` (exact) or made in [created_from, created_to),
    ``limit`` at most, by id after ``page_token``; each order's approvals follow them."""
    if reference is None and created_from is None and created_to is None:
        raise ApiError(422, "invalid_value",
                       "Name an order: reference, or created_from and/or created_to")
    with consistent_read(ctx) as session:
        store = session.get(Store, terminal.store_id)
        if store is None:
            raise not_found("Store")
        stmt = select(Order).where(Order.store_id == terminal.store_id)
        if reference is not None:
            stmt = stmt.where(Order.reference == reference)
        if created_from is not None:
            stmt = stmt.where(Order.created_at >= created_from)
        if created_to is not None:
            stmt = stmt.where(Order.created_at < created_to)
        if page_token is not None:
            _check_token(session, terminal, page_token)
            stmt = stmt.where(Order.id > page_token)
        rows = session.scalars(stmt.order_by(Order.id).limit(limit + 1)).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        changes = order_changes(session, store, store.feed_position, rows)
        changes += _approvals(session, store, [o.id for o in rows])
        cursor = store.feed_position
        following = rows[-1].id if has_more and rows else None
    return SnapshotResponse(cursor=cursor, changes=changes, server_time=utcnow(),
                            has_more=has_more, next_page_token=following, total=None)


def _check_token(session: Session, terminal: TerminalPrincipal, page_token: str) -> None:
    """A page token is the last order a page sent: an order of the terminal's store. Any
    other text (a tampered or junk token) is refused, as a snapshot's is, instead of
    answering an empty last page that would end the till's listing early."""
    held = session.scalar(select(Order.id).where(Order.id == page_token,
                                                 Order.store_id == terminal.store_id))
    if held is None:
        raise ApiError(400, "invalid_page_token", "This orders page token is not one this "
                       "server sent; start again without page_token")


def _approvals(session: Session, store: Store, order_ids: list[str]) -> list[Change]:
    if not order_ids:
        return []
    rows = session.scalars(select(Approval).where(Approval.store_id == store.id,
                                                  Approval.order_id.in_(order_ids))
                           .order_by(Approval.id)).all()
    return approval_changes(session, store, store.feed_position, rows)
