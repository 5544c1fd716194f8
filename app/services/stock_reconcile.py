"""The reconciliation list: what the stock clerk should recount or accept.

Three kinds of item, read from the till's ledger (a plain sum of the server's movements
once synced):

- ``negative``: a tracked, active product whose on-hand is below zero;
- ``count``: a count that moved stock by more than the store's recount share of what the
  books said just before it (app/domain/stock_rules.moved_too_much);
- ``compensation``: a movement the server wrote after the fact, because a sale or other
  movement dated before a count arrived after it (kind ``count_fix``).

Accepting an item records who accepted it and why, with an entry in the till's audit
chain and a ``stock.accept`` operation, in one transaction; the server keeps it and sends
it to the store's other tills. An accepted item leaves the list on every till (a negative
quantity comes back when the quantity changes again). Recounting is a new count session.

The recount share is the store's (``store_settings.recount_share_ppm``, from the server's
store settings like the till limits); a till with no server keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.operations import Entity, OpType
from app.domain.payloads import StockAccept
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.services.stock_count import StockError, on_hand_by_product
from app.store import audit
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Device, Product, StockMovement, StockReview, StoreSettings
from app.store.unit_of_work import Actor, mutation

NEGATIVE, COUNT, COMPENSATION = (stock_rules.NEGATIVE, stock_rules.LARGE_COUNT,
                                 stock_rules.COMPENSATION)
#: counts and compensations older than this are not listed
LOOK_BACK = timedelta(days=90)


@dataclass(frozen=True)
class Item:
    key: str  # stable: what an acceptance is recorded against
    kind: str  # negative, count, compensation
    product_id: str
    sku: str
    name: str
    on_hand_milli: int
    moved_milli: int  # what the count or compensation moved (0 for negative stock)
    at: datetime | None
    detail: str  # in words, for the clerk


def recount_share_ppm(store: LocalStore) -> int:
    with store.db.read() as s:
        share = s.scalar(select(StoreSettings.recount_share_ppm))
    return stock_rules.DEFAULT_RECOUNT_SHARE_PPM if share is None else int(share)


def items(store: LocalStore, limit: int = 500) -> list[Item]:
    """The list, newest first within each kind: negative stock, large counts, compensations."""
    share = recount_share_ppm(store)
    since = utcnow() - LOOK_BACK
    with store.db.read() as s:
        accepted = set(s.scalars(select(StockReview.key)))
        found = _negatives(s, limit) + _counts(s, share, since, limit) + _fixes(s, since, limit)
    return [i for i in found if i.key not in accepted][:limit]


def _negatives(s, limit: int) -> list[Item]:
    on_hand = on_hand_by_product()
    rows = s.execute(select(Product.id, Product.sku, Product.name, on_hand.c.qty)
                     .join(on_hand, on_hand.c.product_id == Product.id)
                     .where(Product.active, Product.stock_tracked, on_hand.c.qty < 0)
                     .order_by(on_hand.c.qty).limit(limit))
    return [Item(stock_rules.review_key(NEGATIVE, pid, qty), NEGATIVE, pid, sku, name, qty, 0, None,
                 "Below zero: recount, or accept until it changes")
            for pid, sku, name, qty in rows]


def _counts(s, share: int, since: datetime, limit: int) -> list[Item]:
    """Counts whose move is large against the ledger just before them (the movements
    dated up to the count, other than the count itself)."""
    earlier = aliased(StockMovement)
    before = (select(func.coalesce(func.sum(earlier.qty_delta_milli), 0))
              .where(earlier.product_id == StockMovement.product_id,
                     earlier.created_at <= StockMovement.created_at,
                     earlier.id != StockMovement.id)
              .correlate(StockMovement).scalar_subquery())
    on_hand = on_hand_by_product()
    rows = s.execute(select(StockMovement.id, StockMovement.product_id, Product.sku, Product.name,
                            StockMovement.qty_delta_milli, before, StockMovement.created_at,
                            func.coalesce(on_hand.c.qty, 0))
                     .join(Product, Product.id == StockMovement.product_id)
                     .outerjoin(on_hand, on_hand.c.product_id == Product.id)
                     .where(StockMovement.kind == stock_rules.COUNT,
                            StockMovement.qty_delta_milli != 0,
                            StockMovement.created_at >= since)
                     .order_by(StockMovement.created_at.desc()).limit(limit * 4))
    out = []
    for mid, pid, sku, name, moved, was, at, qty in rows:
        if stock_rules.moved_too_much(moved, was, share):
            out.append(Item(stock_rules.review_key(COUNT, mid), COUNT, pid, sku, name, qty, moved, at,
                            f"Counted {_qty(was + moved)} where the books said {_qty(was)}"))
    return out[:limit]


def _fixes(s, since: datetime, limit: int) -> list[Item]:
    on_hand = on_hand_by_product()
    rows = s.execute(select(StockMovement.id, StockMovement.product_id, Product.sku, Product.name,
                            StockMovement.qty_delta_milli, StockMovement.created_at,
                            StockMovement.reason, func.coalesce(on_hand.c.qty, 0))
                     .join(Product, Product.id == StockMovement.product_id)
                     .outerjoin(on_hand, on_hand.c.product_id == Product.id)
                     .where(and_(StockMovement.kind == stock_rules.COUNT_FIX,
                                 StockMovement.created_at >= since))
                     .order_by(StockMovement.created_at.desc()).limit(limit))
    return [Item(stock_rules.review_key(COMPENSATION, mid), COMPENSATION, pid, sku, name, qty, moved, at,
                 (reason or "Written by the server after the count").capitalize())
            for mid, pid, sku, name, moved, at, reason, qty in rows]


def _qty(milli: int) -> str:
    return f"{milli / 1000:,.3f}".rstrip("0").rstrip(".")


def accept(store: LocalStore, actor: Actor, item: Item, note: str | None = None) -> None:
    """The clerk accepts an item as it stands: the review row, its audit entry and the
    ``stock.accept`` op in one transaction. The server keeps who accepted what and sends
    it to the store's other tills, which drop the item from their lists too."""
    require(actor.role, Action.STOCK_COUNT)
    note = note.strip() if note and note.strip() else None
    problem = too_long("The note", note, MAX_REASON)
    if problem:
        raise StockError(problem)
    try:
        _accept(store, actor, item, note)
    except _AlreadyAccepted:
        return  # a second click, or another till's acceptance pulled meanwhile


def _accept(store: LocalStore, actor: Actor, item: Item, note: str | None) -> None:
    with mutation(store.db, store.device_id, actor, OpType.STOCK_ACCEPT) as m:
        if m.session.get(StockReview, item.key) is not None:
            raise _AlreadyAccepted
        review_id = new_id()
        m.session.add(StockReview(key=item.key, product_id=item.product_id, kind=item.kind,
                                  note=note, actor_id=actor.staff_id, accepted_at=m.at))
        m.session.flush()
        m.audit(Entity.STOCK_REVIEW, review_id,
                {"accepted": {"before": None, "after": item.key}, "product_id": item.product_id,
                 "on_hand_milli": item.on_hand_milli, "moved_milli": item.moved_milli},
                reason=note or item.detail[:MAX_REASON])
        m.emit(OpType.STOCK_ACCEPT, review_id, StockAccept(
            review_id=review_id, key=item.key, kind=item.kind,  # type: ignore[arg-type]
            product_id=item.product_id, on_hand_milli=item.on_hand_milli,
            moved_milli=item.moved_milli, note=note, accepted_at=m.at))


class _AlreadyAccepted(Exception):
    """Leaves the mutation without writing anything (it was accepted already)."""


def enrolled(store: LocalStore) -> bool:
    """Whether this till takes its store's settings from a server."""
    return bool(store.device().server_url)


def set_recount_share(store: LocalStore, actor: Actor, share_ppm: int) -> None:
    """The recount share of a till that has no server (a demo or trial till; admins and
    owners), audited. An enrolled till takes the store's from the server (set in the store
    settings, ``PATCH /stores/{id}`` ``recount_share_ppm``), the same for every till."""
    require(actor.role, Action.SETTINGS_EDIT)
    if enrolled(store):
        raise StockError("The recount share is a setting of the store, the same on every "
                         "till: an admin sets it on the server (store settings)")
    problem = stock_rules.recount_share_problem(share_ppm)
    if problem:
        raise StockError(problem)
    with store.db.write() as s:  # this till's own: nothing to sync
        settings = s.scalars(select(StoreSettings)).one()
        before = settings.recount_share_ppm
        settings.recount_share_ppm = share_ppm
        device = s.get(Device, store.device_id)
        audit.append(s, device, at=utcnow(), actor_id=actor.staff_id,
                     action="store.recount_share", entity_type="store", entity_id=settings.id,
                     changes={"recount_share_ppm": {"before": before, "after": share_ppm}},
                     reason=None)
