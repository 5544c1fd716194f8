"""Stock work: receiving, adjustments with a reason, count sessions, low stock.

Every stock change is a delta in the movement ledger and syncs as a
``stock.adjust`` operation, so changes made on several terminals simply add up.
A count is exact: it records the quantity counted and when, in one transaction
(app/services/stock_count.py); the server sets it against its ledger up to that
moment, so sales rung up after it (on any till) are not wiped out by the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.limits import MAX_MOVEMENT_REFERENCE, MAX_REASON
from app.domain.operations import OpType
from app.domain.payloads import StockAdjust
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long

# count sessions live in app/services/stock_count.py; their names are kept here
from app.services.stock_count import (  # noqa: F401
    CountedItem,
    CountError,
    CountSession,
    StockError,
    commit_count,
    on_hand,
    on_hand_by_product,
)
from app.store.local import LocalStore
from app.store.models import Product, StockMovement
from app.store.unit_of_work import Actor, mutation


class AdjustReason(StrEnum):
    DAMAGE = "damage"
    THEFT = "theft"
    CORRECTION = "correction"
    EXPIRED = "expired"
    SAMPLE = "sample"


_on_hand = on_hand


def _record(store: LocalStore, actor: Actor, action: OpType | Action, kind: str, product_id: str,
            delta_milli: int, reason: str | None, reference: str | None) -> str:
    problem = (too_long("The reason", reason, MAX_REASON)
               or too_long("The delivery reference", reference, MAX_MOVEMENT_REFERENCE))
    if problem:
        raise StockError(problem)
    with mutation(store.db, store.device_id, actor, action) as m:
        product = m.session.get(Product, product_id)
        if product is None:
            raise StockError("That product does not exist")
        before = _on_hand(m.session, product_id)
        movement = StockMovement(id=new_id(), product_id=product_id, kind=kind, qty_delta_milli=delta_milli,
                                 reason=reason, reference=reference, actor_id=actor.staff_id,
                                 device_id=m.device.id, created_at=m.at)
        m.session.add(movement)
        m.audit("product", product_id, {"on_hand_milli": {"before": before, "after": before + delta_milli}},
                reason=reason)
        m.emit(OpType.STOCK_ADJUST, product_id, StockAdjust(
            movement_id=movement.id, product_id=product_id, kind=kind, qty_delta_milli=delta_milli,
            reason=reason, reference=reference, created_at=m.at))
        return movement.id


def receive(store: LocalStore, actor: Actor, product_id: str, qty_milli: int, supplier_ref: str | None = None) -> str:
    require(actor.role, Action.STOCK_RECEIVE)
    if qty_milli <= 0:
        raise StockError("Received quantity must be more than zero")
    return _record(store, actor, Action.STOCK_RECEIVE, stock_rules.RECEIVE, product_id, qty_milli, None, supplier_ref)


def adjust(store: LocalStore, actor: Actor, product_id: str, delta_milli: int, reason: AdjustReason | str,
           note: str | None = None) -> str:
    require(actor.role, Action.STOCK_ADJUST)
    if delta_milli == 0:
        raise StockError("An adjustment changes the quantity")
    reason = AdjustReason(reason)
    text = reason.value if not note else f"{reason.value}: {note}"
    return _record(store, actor, OpType.STOCK_ADJUST, stock_rules.ADJUST, product_id, delta_milli, text, None)


@dataclass(frozen=True)
class LowStock:
    product_id: str
    sku: str
    name: str
    on_hand_milli: int
    reorder_level_milli: int


def low_stock(store: LocalStore, limit: int = 500) -> list[LowStock]:
    """Stock-tracked active products at or below their reorder level, emptiest first."""
    on_hand = on_hand_by_product()
    qty = func.coalesce(on_hand.c.qty, 0)
    stmt = (select(Product.id, Product.sku, Product.name, qty, Product.reorder_level_milli)
            .outerjoin(on_hand, on_hand.c.product_id == Product.id)
            .where(Product.active, Product.stock_tracked, Product.reorder_level_milli > 0,
                   qty <= Product.reorder_level_milli)
            .order_by(qty - Product.reorder_level_milli).limit(limit))
    with store.db.read() as s:
        return [LowStock(*row) for row in s.execute(stmt)]
