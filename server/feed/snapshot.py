"""``GET /sync/snapshot``: a store's (and its org's) current state, served in pages.

Why pages: a catalog of 100,000 products is one huge response and one huge local
transaction on the till. A snapshot is now read page by page, each page in its own
consistent read, in a fixed order: the kinds of ``KINDS`` one after the other, and
within a kind by id (keyset paging, so a page never repeats or skips a row because
rows were added or removed before it).

Why the cursor is fixed on the first page: the feed position to pull from after the
snapshot is read in the first page's transaction, before any of its data. A change
committed while the terminal pages is then in the feed after that cursor: the
terminal's pull after the last page brings it again, and applying a change whose
version is not newer than the one held is harmless (equal versions are re-applied,
older ones ignored; stock movements are inserted once by id).

Stock levels are the one thing that is not versioned: a level is an absolute number,
and the movements that changed it after the cursor come again through the feed. So a
page reports each level *as of the cursor*: today's level minus the deltas of the
store's ``stock_movement`` feed entries after the cursor, read in the same consistent
read as the level. Level plus the pulled movements is then exactly today's level.

Why not every order: a store's order history only grows; a new till needs the recent
days to show today's and last week's sales, refunds and re-prints, not years. A snapshot
carries the orders of the last ``snapshot_order_days`` (server setting, 30 by default;
the first page's ``order_days`` asks for another window, 0 for the whole history),
counted from the first page and kept in the page token, so every page has the same
window. Older orders still come when they matter to a till now: one with a balance
due (a payment plan), one with a pending approval, one changed within the window; and
the approvals of the orders sent. Any other older order is fetched on demand with
``GET /sync/orders`` (server/feed/orders.py).

The page token is opaque to clients (URL-safe base64 of a small JSON object): the
snapshot's cursor, the store, where the next page starts (kind and last id), the
row count taken on the first page (``total``, for a progress bar) and the orders'
window. Scoping never comes from the token: every page is filtered by the terminal's
own org and store.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.domain.operations import Entity
from app.domain.order_status import OrderStatus
from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import (
    Approval,
    Conflict,
    FeedEntry,
    Order,
    OrderLine,
    Product,
    Shift,
    Staff,
    StockLevel,
    StockMovement,
    StockReview,
    Store,
)
from server.errors import ApiError, not_found
from server.feed.ceiling import ceiling_of, for_ceiling
from server.feed.serialize import (
    approval_state,
    conflict_state,
    order_state,
    product_state,
    shift_state,
    staff_state,
    stock_level_state,
    stock_review_state,
    store_state,
)
from server.feed.service import consistent_read
from sync.protocol import Change, SnapshotResponse

TOKEN_VERSION = 1


@dataclass(frozen=True)
class _Page:
    """Where a page starts: the snapshot's cursor, and the kind and id to continue after."""

    cursor: int
    kind: int
    after: str | None
    total: int | None
    since: datetime | None = None  # orders of this window only (None: every order)


Scope = Callable[[TerminalPrincipal, datetime | None], list[ColumnElement[bool]]]


@dataclass(frozen=True)
class Kind:
    """One entity type of the snapshot: its rows (scoped, to the orders' window where it
    applies), their key and their changes."""

    name: str
    model: type[Any]
    key: InstrumentedAttribute[str]
    scope: Scope
    changes: Callable[[Session, Store, int, Sequence[Any]], list[Change]]

    def query(self, terminal: TerminalPrincipal, since: datetime | None) -> Select[Any]:
        return select(self.model).where(*self.scope(terminal, since))

    def count(self, session: Session, terminal: TerminalPrincipal, since: datetime | None) -> int:
        stmt = select(func.count()).select_from(self.model).where(*self.scope(terminal, since))
        return int(session.scalar(stmt) or 0)


def orders_in_window(store_id: str, since: datetime | None) -> list[ColumnElement[bool]]:
    """A snapshot's orders: the store's, made or changed since ``since``, and older ones
    a till needs now (a balance due, a pending approval); every one when ``since`` is None."""
    where: list[ColumnElement[bool]] = [Order.store_id == store_id]
    if since is not None:
        pending = select(Approval.order_id).where(Approval.store_id == store_id,
                                                  Approval.status == "pending")
        where.append(or_(Order.created_at >= since, Order.updated_at >= since,
                         and_(Order.status != OrderStatus.DELETED.value, Order.paid < Order.total),
                         Order.id.in_(pending)))
    return where


def approvals_in_window(store_id: str, since: datetime | None) -> list[ColumnElement[bool]]:
    """A snapshot's approvals: the store's, of the orders it sends."""
    where: list[ColumnElement[bool]] = [Approval.store_id == store_id]
    if since is not None:
        where.append(Approval.order_id.in_(
            select(Order.id).where(*orders_in_window(store_id, since))))
    return where


def _change(cursor: int, entity_type: str, entity_id: str, version: int,
            data: dict[str, Any], deleted: bool = False) -> Change:
    return Change(position=cursor, entity_type=entity_type, entity_id=entity_id,
                  version=version, deleted=deleted, data=data)


def _store_changes(session: Session, store: Store, cursor: int, rows: Sequence[Store]) -> list[Change]:
    return [_change(cursor, Entity.STORE, s.id, s.version, store_state(s)) for s in rows]


def _staff_changes(session: Session, store: Store, cursor: int, rows: Sequence[Staff]) -> list[Change]:
    return [_change(cursor, Entity.STAFF, s.id, s.version, staff_state(s)) for s in rows]


def _product_changes(session: Session, store: Store, cursor: int,
                     rows: Sequence[Product]) -> list[Change]:
    return [_change(cursor, Entity.PRODUCT, p.id, p.version, product_state(p), p.deleted) for p in rows]


def _moved_since(session: Session, store: Store, cursor: int,
                 product_ids: list[str]) -> dict[str, int]:
    """Per product: the sum of the store's stock deltas whose feed position is after
    ``cursor``: of its stock_movements rows, and of the sale movements that are order
    lines (migration 0021: a line with ``stock_after_milli`` is its own movement, the
    feed entry's id the line's)."""
    if cursor >= store.feed_position or not product_ids:
        return {}

    def after(entity_id: Any) -> Any:
        return and_(FeedEntry.entity_id == entity_id, FeedEntry.store_id == store.id,
                    FeedEntry.entity_type == Entity.STOCK_MOVEMENT,
                    FeedEntry.position > cursor)

    rows = (select(StockMovement.product_id, func.sum(StockMovement.qty_delta_milli))
            .join(FeedEntry, after(StockMovement.id))
            .where(StockMovement.store_id == store.id,
                   StockMovement.product_id.in_(product_ids))
            .group_by(StockMovement.product_id))
    lines = (select(OrderLine.product_id, -func.sum(OrderLine.qty_milli))
             .join(FeedEntry, after(OrderLine.id))
             .join(Order, Order.id == OrderLine.order_id)
             .where(OrderLine.stock_after_milli.is_not(None), Order.store_id == store.id,
                    OrderLine.product_id.in_(product_ids))
             .group_by(OrderLine.product_id))
    moved: dict[str, int] = {}
    for stmt in (rows, lines):
        for pid, total in session.execute(stmt):
            if pid is not None:  # (a line that moved stock names its product)
                moved[pid] = moved.get(pid, 0) + int(total or 0)
    return moved


def _level_changes(session: Session, store: Store, cursor: int,
                   rows: Sequence[StockLevel]) -> list[Change]:
    moved = _moved_since(session, store, cursor, [level.product_id for level in rows])
    out = []
    for level in rows:
        data = stock_level_state(level)
        data["qty_on_hand_milli"] = level.qty_milli - moved.get(level.product_id, 0)
        out.append(_change(cursor, Entity.STOCK_LEVEL, level.product_id, 1, data))
    return out


def order_changes(session: Session, store: Store, cursor: int, rows: Sequence[Order]) -> list[Change]:
    return [_change(cursor, Entity.ORDER, o.id, o.version, order_state(session, o),
                    o.status == "deleted") for o in rows]


def _conflict_changes(session: Session, store: Store, cursor: int,
                      rows: Sequence[Conflict]) -> list[Change]:
    return [_change(cursor, Entity.CONFLICT, c.id, c.version, conflict_state(c)) for c in rows]


def approval_changes(session: Session, store: Store, cursor: int,
                      rows: Sequence[Approval]) -> list[Change]:
    return [_change(cursor, Entity.APPROVAL, a.id, a.version, approval_state(a)) for a in rows]


def _shift_changes(session: Session, store: Store, cursor: int,
                   rows: Sequence[Shift]) -> list[Change]:
    return [_change(cursor, Entity.SHIFT, sh.id, sh.version, shift_state(sh)) for sh in rows]


def _review_changes(session: Session, store: Store, cursor: int,
                    rows: Sequence[StockReview]) -> list[Change]:
    return [_change(cursor, Entity.STOCK_REVIEW, r.id, r.version, stock_review_state(r))
            for r in rows]


# The order of a snapshot: settings first; products before the stock levels and orders
# that name them; orders before the approvals that name them.
KINDS: tuple[Kind, ...] = (
    Kind(Entity.STORE, Store, Store.id, lambda t, _: [Store.id == t.store_id], _store_changes),
    Kind(Entity.STAFF, Staff, Staff.id, lambda t, _: [Staff.org_id == t.org_id], _staff_changes),
    Kind(Entity.PRODUCT, Product, Product.id, lambda t, _: [Product.org_id == t.org_id],
         _product_changes),
    Kind(Entity.STOCK_LEVEL, StockLevel, StockLevel.product_id,
         lambda t, _: [StockLevel.store_id == t.store_id], _level_changes),
    Kind(Entity.ORDER, Order, Order.id, lambda t, since: orders_in_window(t.store_id, since),
         order_changes),
    Kind(Entity.CONFLICT, Conflict, Conflict.id,
         lambda t, _: [Conflict.store_id == t.store_id, Conflict.status == "open"],
         _conflict_changes),
    Kind(Entity.APPROVAL, Approval, Approval.id,
         lambda t, since: approvals_in_window(t.store_id, since), approval_changes),
    Kind(Entity.SHIFT, Shift, Shift.id, lambda t, _: [Shift.store_id == t.store_id], _shift_changes),
    Kind(Entity.STOCK_REVIEW, StockReview, StockReview.id,
         lambda t, _: [StockReview.store_id == t.store_id], _review_changes),
)
_KIND_INDEX = {k.name: i for i, k in enumerate(KINDS)}


# ------------------------------------------------------------------ page tokens


def _bad_token(why: str) -> ApiError:
    return ApiError(400, "invalid_page_token",
                    f"This snapshot page token is not valid ({why}); start again without page_token")


def encode_token(store_id: str, page: _Page) -> str:
    raw = json.dumps({"v": TOKEN_VERSION, "s": store_id, "c": page.cursor,
                      "k": KINDS[page.kind].name, "a": page.after, "n": page.total,
                      "o": page.since.isoformat() if page.since is not None else None},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, store_id: str) -> _Page:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _bad_token("not readable") from exc
    if not isinstance(body, dict) or body.get("v") != TOKEN_VERSION:
        raise _bad_token("unknown format")
    cursor, kind, after, total = body.get("c"), body.get("k"), body.get("a"), body.get("n")
    if body.get("s") != store_id:
        raise _bad_token("made for another store")
    if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
        raise _bad_token("bad cursor")
    if kind not in _KIND_INDEX:
        raise _bad_token("unknown entity type")
    if after is not None and not isinstance(after, str):
        raise _bad_token("bad position")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
        raise _bad_token("bad total")
    return _Page(cursor, _KIND_INDEX[kind], after, total, _since(body.get("o")))


def _since(value: Any) -> datetime | None:
    """The token's orders window (a token without one, from before windows: every order)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _bad_token("bad orders window") from exc


# ------------------------------------------------------------------ reading


def _expired(store: Store, message: str) -> ApiError:
    return ApiError(410, "cursor_expired", message, {"horizon": store.feed_horizon})


def snapshot_page(ctx: AppContext, terminal: TerminalPrincipal, page_token: str | None,
                  limit: int | None, order_days: int | None = None) -> SnapshotResponse:
    """One page of the snapshot (``limit`` changes at most; None: the whole state at once).

    ``order_days`` (first page only; None: the server's ``snapshot_order_days``; 0: every
    order) sets the orders' window, counted from now and kept in the page token.

    Without ``page_token`` this is the first page: the cursor is the store feed's
    position, read before the data. With it, the page continues where the token says,
    at the same cursor; if the feed was compacted past that cursor meanwhile (or the
    server was restored to before it), the answer is 410 ``cursor_expired``: start the
    snapshot again.
    """
    start = decode_token(page_token, terminal.store_id) if page_token else None
    with consistent_read(ctx) as session:
        store = session.get(Store, terminal.store_id)
        if store is None:
            raise not_found("Store")
        if start is None:
            days = ctx.settings.snapshot_order_days if order_days is None else order_days
            since = utcnow() - timedelta(days=days) if days > 0 else None
            total = (sum(k.count(session, terminal, since) for k in KINDS)
                     if limit is not None else None)
            start = _Page(store.feed_position, 0, None, total, since)
        elif start.cursor < store.feed_horizon:
            raise _expired(store, "The feed was compacted past this snapshot's cursor while "
                                  "paging; load GET /sync/snapshot again from the first page")
        elif start.cursor > store.feed_position:
            raise _expired(store, "This snapshot's cursor is ahead of the server's feed "
                                  "(restored server?); load GET /sync/snapshot again")
        changes, following = _read(session, terminal, store, start, limit)
        changes = for_ceiling(changes, ceiling_of(session, terminal))  # no hash above it
    total = start.total if limit is not None else len(changes)
    return SnapshotResponse(
        cursor=start.cursor, changes=changes, server_time=utcnow(),
        has_more=following is not None,
        next_page_token=encode_token(terminal.store_id, following) if following is not None else None,
        total=total)


def _read(session: Session, terminal: TerminalPrincipal, store: Store, start: _Page,
          limit: int | None) -> tuple[list[Change], _Page | None]:
    """The changes from ``start`` on (at most ``limit``), and where the next page starts."""
    changes: list[Change] = []
    after = start.after
    for index in range(start.kind, len(KINDS)):
        kind = KINDS[index]
        stmt = kind.query(terminal, start.since).order_by(kind.key)
        if after is not None:
            stmt = stmt.where(kind.key > after)
        room = None if limit is None else limit - len(changes)
        if room is not None:
            stmt = stmt.limit(room + 1)  # one more than fits: is there a next page?
        rows = session.scalars(stmt).all()
        if room is not None and len(rows) > room:
            taken = rows[:room]
            changes += kind.changes(session, store, start.cursor, taken)
            last = getattr(taken[-1], kind.key.key) if taken else after
            return changes, _Page(start.cursor, index, last, start.total, start.since)
        changes += kind.changes(session, store, start.cursor, rows)
        after = None
    return changes, None
