"""stock.accept: a stock clerk accepts an item of the store's reconciliation list as it
stands (issue 18 item 6; app/services/stock_reconcile.py on the till).

The server keeps who accepted what, when, why and from which till (``stock_reviews``,
one row per item and store) with an audit entry in the journal, and puts the acceptance
in the store's feed (entity type ``stock_review``), so every other till of the store
drops the item from its list. A second acceptance of an item already accepted (another
till, the same minute) adds nothing: applied with the flag ``already_accepted``.

What no true till sends is refused in words: a key of another shape or of another kind
than the payload's, a product not in the organization's catalog, a count or
compensation that is not a movement of that kind, of that product, in this store.
Who may: the catalogue's permission (``stock.count``: stock staff and managers and up).
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain import stock_rules
from app.domain.operations import Entity, OpType
from app.domain.payloads import StockAccept
from server.db.models import Product, StockMovement, StockReview
from server.feed.serialize import stock_review_state
from server.sync.common import OpContext, Outcome, Rejected
from sync.protocol import OpStatus

#: the movement kind each kind of item names
_MOVEMENT_KIND = {stock_rules.LARGE_COUNT: stock_rules.COUNT,
                  stock_rules.COMPENSATION: stock_rules.COUNT_FIX}


def stock_accept(oc: OpContext) -> Outcome:
    p = oc.payload_as(StockAccept)
    if p.review_id != oc.op.entity_id:
        raise Rejected("entity_id must be the review_id")
    store_id = oc.terminal.store_id
    if store_id is None:
        raise Rejected("an item of a store's reconciliation list is accepted at a till of "
                       "that store")
    parts = stock_rules.parse_review_key(p.key)
    if parts is None or parts[0] != p.kind:
        raise Rejected(f"{p.key!r} is not the key of a {p.kind} item of the reconciliation list")
    kind, ref, _qty = parts
    product = oc.session.get(Product, p.product_id)
    if product is None or product.org_id != oc.terminal.org_id:
        raise Rejected(f"product {p.product_id} is not in this organization's catalog")
    if kind == stock_rules.NEGATIVE:
        if ref != p.product_id:
            raise Rejected(f"{p.key!r} is not an item of product {p.product_id}")
    else:
        movement = oc.session.get(StockMovement, ref)
        if movement is None or movement.store_id != store_id \
                or movement.product_id != p.product_id or movement.kind != _MOVEMENT_KIND[kind]:
            raise Rejected(f"movement {ref} is not a {_MOVEMENT_KIND[kind]} of product "
                           f"{p.product_id} in this store")
    held = oc.session.scalars(select(StockReview).where(
        StockReview.store_id == store_id, StockReview.key == p.key)).first()
    if held is not None:
        return Outcome(OpStatus.APPLIED, held.version, flags=["already_accepted"])
    if oc.session.get(StockReview, p.review_id) is not None:
        # that id on another item (another key, store or organization): answering
        # already_accepted would swallow this acceptance, the item left on every list
        raise Rejected(f"review id {p.review_id} is already used by another acceptance; "
                       "each acceptance needs its own id")
    note = p.note.strip() if p.note and p.note.strip() else None
    review = StockReview(
        id=p.review_id, org_id=oc.terminal.org_id, store_id=store_id, key=p.key, kind=kind,
        product_id=p.product_id, note=note, accepted_by=oc.actor.id, accepted_at=p.accepted_at,
        device_id=oc.terminal.terminal_id, op_id=oc.op.op_id, version=1)
    oc.session.add(review)
    oc.session.flush()
    oc.audit(Entity.STOCK_REVIEW, p.review_id, OpType.STOCK_ACCEPT,
             {"accepted": {"before": None, "after": p.key}, "product_id": p.product_id,
              "on_hand_milli": p.on_hand_milli, "moved_milli": p.moved_milli},
             reason=note, store_id=store_id)
    oc.publish(Entity.STOCK_REVIEW, review.id, review.version, stock_review_state(review),
               store_id=store_id)
    return Outcome(OpStatus.APPLIED, review.version)
