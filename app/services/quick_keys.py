"""Quick keys: the register's buttons for items with no barcode (bread by the loaf, a
coffee): a key sells one product, or opens a category's products as keys.

Whoever may edit the catalog (managers, stock staff) sets and clears keys; each change is
written to this till's audit trail with the row, in one transaction. The layout is this
till's own and does not sync: tills in one shop often sell different things (the café
till, the deli counter), and a key is a shortcut, not shop data. A key whose product was
made inactive or deleted shows as empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.domain.limits import MAX_NAME
from app.domain.permissions import Action, require
from app.services.catalog import ProductRow
from app.store import audit
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Category, Device, Product
from app.store.models_till_ui import QuickKey
from app.store.unit_of_work import Actor

KEYS = 12  # 3 rows of 4 on the register
MAX_LABEL = 40
PRODUCT, CATEGORY = "product", "category"


class QuickKeyError(ValueError):
    """A key that cannot be set; the message is for the person."""


@dataclass(frozen=True)
class KeyView:
    position: int
    kind: str  # product, category, or "" for an empty key
    label: str
    product_id: str | None = None
    category_id: str | None = None
    price: int | None = None


def keys(store: LocalStore) -> list[KeyView]:
    """All KEYS positions, empty ones included, in order."""
    with store.db.read() as s:
        rows = {k.position: k for k in s.scalars(select(QuickKey))}
        products = {p.id: p for p in s.scalars(select(Product).where(
            Product.id.in_([k.product_id for k in rows.values() if k.product_id]), Product.active))}
        categories = {c.id: c.name for c in s.scalars(select(Category).where(
            Category.id.in_([k.category_id for k in rows.values() if k.category_id])))}
    result = []
    for pos in range(KEYS):
        k = rows.get(pos)
        if k is not None and k.kind == PRODUCT and k.product_id in products:
            p = products[k.product_id]
            result.append(KeyView(pos, PRODUCT, k.label or p.name, p.id, None, p.price))
        elif k is not None and k.kind == CATEGORY and k.category_id in categories:
            result.append(KeyView(pos, CATEGORY, k.label or categories[k.category_id], None, k.category_id))
        else:
            result.append(KeyView(pos, "", ""))
    return result


def categories(store: LocalStore) -> list[tuple[str, str]]:
    """(id, name) of every category, by name, for the key editor."""
    with store.db.read() as s:
        return [(c.id, c.name) for c in s.scalars(select(Category).order_by(Category.name))]


def category_products(store: LocalStore, category_id: str, limit: int = KEYS - 1) -> list[ProductRow]:
    """The active products of a category, by name, as keys (one is kept for Back)."""
    with store.db.read() as s:
        return [ProductRow(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, p.sold_by_weight, p.active)
                for p in s.scalars(select(Product).where(Product.category_id == category_id, Product.active)
                                   .order_by(Product.name).limit(limit))]


def set_key(store: LocalStore, actor: Actor, position: int, *, product_id: str | None = None,
            category_id: str | None = None, label: str | None = None) -> None:
    """Put a product or a category on key ``position`` (0..KEYS-1)."""
    require(actor.role, Action.CATALOG_EDIT)
    if not 0 <= position < KEYS:
        raise QuickKeyError(f"There are keys 1 to {KEYS}")
    if (product_id is None) == (category_id is None):
        raise QuickKeyError("Choose a product or a category for the key")
    label = (label or "").strip() or None
    if label is not None and len(label) > min(MAX_LABEL, MAX_NAME):
        raise QuickKeyError(f"A key's label is at most {MAX_LABEL} characters")
    now = utcnow()
    with store.db.write() as s:
        if product_id is not None and s.get(Product, product_id) is None:
            raise QuickKeyError("That product is not in the catalog")
        if category_id is not None and s.get(Category, category_id) is None:
            raise QuickKeyError("That category is not in the catalog")
        row = s.get(QuickKey, position)
        before = {"kind": row.kind, "product_id": row.product_id, "category_id": row.category_id,
                  "label": row.label} if row else None
        if row is None:
            row = QuickKey(position=position)
            s.add(row)
        row.kind = PRODUCT if product_id else CATEGORY
        row.product_id, row.category_id, row.label = product_id, category_id, label
        row.updated_by, row.updated_at = actor.staff_id, now
        after = {"kind": row.kind, "product_id": product_id, "category_id": category_id, "label": label}
        audit.append(s, s.get(Device, store.device_id), at=now, actor_id=actor.staff_id, action="quick_key.set",
                     entity_type="quick_key", entity_id=str(position),
                     changes={"key": {"before": before, "after": after}}, reason=None)


def clear_key(store: LocalStore, actor: Actor, position: int) -> None:
    require(actor.role, Action.CATALOG_EDIT)
    with store.db.write() as s:
        row = s.get(QuickKey, position)
        if row is None:
            return
        before = {"kind": row.kind, "product_id": row.product_id, "category_id": row.category_id,
                  "label": row.label}
        s.delete(row)
        audit.append(s, s.get(Device, store.device_id), at=utcnow(), actor_id=actor.staff_id,
                     action="quick_key.clear", entity_type="quick_key", entity_id=str(position),
                     changes={"key": {"before": before, "after": None}}, reason=None)
