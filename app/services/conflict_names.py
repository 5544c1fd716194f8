"""Names for what a sync conflict is about, in the shop's words: a product by its name and
SKU, an order by its reference; and which of the conflicts came from this till's own edits.

The conflicts screen asks once per refresh for all open conflicts (one read), so it never
shows a bare id such as "product 50d2c923".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from app.store.local import LocalStore
from app.store.models import Order, OutboxOperation, Product

ENTITY_WORDS = {"product": "Product", "order": "Order", "approval": "Approval", "customer": "Customer",
                "stock_movement": "Stock change", "store": "Store settings"}


@dataclass(frozen=True)
class ConflictSubject:
    """What one conflict is about (``what``) and whether this till made the conflicting edit."""

    what: str
    ours: bool


def sku_text(sku: str) -> str:
    """ "SKU 4711", or the SKU as it is when it already says so ("SKU000001")."""
    return sku if sku.upper().startswith("SKU") else f"SKU {sku}"


def describe(store: LocalStore, items: Iterable[tuple[str, str, str | None]]) -> list[ConflictSubject]:
    """(entity_type, entity_id, op_id) of each conflict -> its subject, in the same order."""
    items = list(items)
    products = [eid for etype, eid, _ in items if etype == "product"]
    orders = [eid for etype, eid, _ in items if etype == "order"]
    op_ids = [op for _, _, op in items if op]
    with store.db.read() as s:
        names = {p.id: f"{p.name} · {sku_text(p.sku)}"
                 for p in s.scalars(select(Product).where(Product.id.in_(products)))}
        names |= {o.id: f"Order {o.reference}" for o in s.scalars(select(Order).where(Order.id.in_(orders)))}
        ours = set(s.scalars(select(OutboxOperation.op_id).where(OutboxOperation.op_id.in_(op_ids))))
    return [ConflictSubject(names.get(eid) or f"{ENTITY_WORDS.get(etype, etype.title())} not on this till",
                            op is not None and op in ours)
            for etype, eid, op in items]
