"""Stock work: receiving, adjustments with a reason, count sessions, low stock.

Every stock change is a delta in the movement ledger and syncs as a
``stock.adjust`` operation, so changes made on several terminals simply add up.
A count commits the difference between what was counted and what the ledger
expected *when the item was counted*: sales rung up after that moment are not
wiped out by the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.limits import MAX_MOVEMENT_REFERENCE, MAX_REASON
from app.domain.operations import OpType
from app.domain.payloads import StockAdjust
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.store.local import LocalStore
from app.store.models import Product, StockMovement
from app.store.unit_of_work import Actor, mutation


class AdjustReason(StrEnum):
    DAMAGE = "damage"
    THEFT = "theft"
    CORRECTION = "correction"
    EXPIRED = "expired"
    SAMPLE = "sample"


class StockError(ValueError):
    """Stock work that cannot be done as asked; the message is for the stock person."""


def _on_hand(session, product_id: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
                              .where(StockMovement.product_id == product_id)) or 0)


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
    return _record(store, actor, Action.STOCK_RECEIVE, "receive", product_id, qty_milli, None, supplier_ref)


def adjust(store: LocalStore, actor: Actor, product_id: str, delta_milli: int, reason: AdjustReason | str,
           note: str | None = None) -> str:
    require(actor.role, Action.STOCK_ADJUST)
    if delta_milli == 0:
        raise StockError("An adjustment changes the quantity")
    reason = AdjustReason(reason)
    text = reason.value if not note else f"{reason.value}: {note}"
    return _record(store, actor, OpType.STOCK_ADJUST, "adjust", product_id, delta_milli, text, None)


@dataclass
class CountedItem:
    product_id: str
    expected_milli: int  # ledger on-hand when first counted
    counted_milli: int = 0

    @property
    def difference(self) -> int:
        return self.counted_milli - self.expected_milli


@dataclass
class CountSession:
    """Scans accumulate per product; nothing is written until commit."""

    store: LocalStore
    reference: str = field(default_factory=lambda: f"COUNT-{new_id()[-8:]}")
    items: dict[str, CountedItem] = field(default_factory=dict)

    def scan(self, product_id: str, qty_milli: int = 1000) -> CountedItem:
        item = self.items.get(product_id)
        if item is None:
            with self.store.db.read() as s:
                item = CountedItem(product_id, _on_hand(s, product_id))
            self.items[product_id] = item
        item.counted_milli += qty_milli
        return item

    def set_count(self, product_id: str, qty_milli: int) -> CountedItem:
        item = self.scan(product_id, 0)
        item.counted_milli = qty_milli
        return item

    def differences(self) -> list[CountedItem]:
        return [i for i in self.items.values() if i.difference]


def commit_count(store: LocalStore, actor: Actor, session: CountSession, reason: str = "stock count") -> int:
    """Write one ``count`` movement per product whose count differs; returns how many."""
    require(actor.role, Action.STOCK_COUNT)
    written = 0
    for item in session.differences():
        _record(store, actor, Action.STOCK_COUNT, "count", item.product_id, item.difference, reason, session.reference)
        written += 1
    session.items.clear()
    return written


@dataclass(frozen=True)
class LowStock:
    product_id: str
    sku: str
    name: str
    on_hand_milli: int
    reorder_level_milli: int


def low_stock(store: LocalStore, limit: int = 500) -> list[LowStock]:
    """Stock-tracked active products at or below their reorder level, emptiest first."""
    on_hand = (select(StockMovement.product_id, func.sum(StockMovement.qty_delta_milli).label("qty"))
               .group_by(StockMovement.product_id).subquery())
    qty = func.coalesce(on_hand.c.qty, 0)
    stmt = (select(Product.id, Product.sku, Product.name, qty, Product.reorder_level_milli)
            .outerjoin(on_hand, on_hand.c.product_id == Product.id)
            .where(Product.active, Product.stock_tracked, Product.reorder_level_milli > 0,
                   qty <= Product.reorder_level_milli)
            .order_by(qty - Product.reorder_level_milli).limit(limit))
    with store.db.read() as s:
        return [LowStock(*row) for row in s.execute(stmt)]
