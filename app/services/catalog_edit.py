"""Catalog edits on the terminal: quick-add, field edits with price history.

An edit syncs as ``product.update`` with the base value of each changed field, so
an offline edit of the price and a central edit of the name both apply, while two
different prices for the same product become a conflict for a manager. A sale
keeps the price it was rung up at: order lines hold their own snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.barcode import BarcodeError, normalize
from app.domain.ids import new_id
from app.domain.permissions import Action, require
from app.domain.product_rules import ProductFieldError, check_fields
from app.store.local import LocalStore
from app.store.models import Barcode, Category, PriceChange, Product
from app.store.unit_of_work import Actor, Mutation, mutation

EDITABLE = ("name", "price", "tax_rate_ppm", "category", "reorder_level_milli", "active", "barcodes",
            "sold_by_weight", "stock_tracked")


class CatalogError(ValueError):
    """A catalog change that cannot be made; the message names the field."""


@dataclass(frozen=True)
class NewProduct:
    sku: str
    name: str
    price: int
    tax_rate_ppm: int
    barcodes: tuple[str, ...] = ()
    category: str | None = None
    reorder_level_milli: int = 0
    sold_by_weight: bool = False
    stock_tracked: bool = True
    active: bool = True


def category_id(s: Session, name: str | None) -> str | None:
    """The id of the category called ``name``, created if new."""
    if not name:
        return None
    existing = s.scalar(select(Category.id).where(Category.name == name))
    if existing:
        return existing
    cat = Category(id=new_id(), name=name)
    s.add(cat)
    s.flush()
    return cat.id


def check_barcodes(s: Session, codes: tuple[str, ...] | list[str], product_id: str | None) -> list[str]:
    result = []
    for raw in codes:
        code = normalize(raw)  # raises BarcodeError on a bad check digit
        owner = s.scalar(select(Barcode.product_id).where(Barcode.code == code))
        if owner and owner != product_id:
            raise CatalogError(f"Barcode {code} already belongs to another product")
        result.append(code)
    return result


def product_state(p: Product) -> dict[str, Any]:
    return {"sku": p.sku, "name": p.name, "price": p.price, "tax_rate_ppm": p.tax_rate_ppm,
            "category": p.category.name if p.category else None, "barcodes": sorted(b.code for b in p.barcodes),
            "reorder_level_milli": p.reorder_level_milli, "active": p.active,
            "sold_by_weight": p.sold_by_weight, "stock_tracked": p.stock_tracked}


def validate(new: NewProduct) -> None:
    """The shared product rules (app/domain/product_rules.py, also the server's)."""
    try:
        check_fields({"sku": new.sku, "name": new.name, "price": new.price,
                      "tax_rate_ppm": new.tax_rate_ppm})
    except ProductFieldError as exc:
        raise CatalogError(str(exc)) from exc


def add_in(m: Mutation, new: NewProduct) -> Product:
    """Create a product inside an open mutation (quick-add and CSV import share it)."""
    validate(new)
    s = m.session
    if s.scalar(select(Product.id).where(Product.sku == new.sku)):
        raise CatalogError(f"SKU {new.sku} already exists")
    codes = check_barcodes(s, new.barcodes, None)
    product = Product(id=new_id(), sku=new.sku, name=new.name.strip(), category_id=category_id(s, new.category),
                      price=new.price, tax_rate_ppm=new.tax_rate_ppm, active=new.active,
                      stock_tracked=new.stock_tracked, sold_by_weight=new.sold_by_weight,
                      reorder_level_milli=new.reorder_level_milli, version=0, updated_at=m.at)
    product.barcodes = [Barcode(code=c) for c in codes]
    s.add(product)
    s.flush()  # the price history row refers to the product
    s.add(PriceChange(id=new_id(), product_id=product.id, old_price=None, new_price=new.price,
                      actor_id=m.actor.staff_id, changed_at=m.at))
    s.flush()
    m.audit("product", product.id, {k: {"before": None, "after": v} for k, v in product_state(product).items()},
            action="product.create")
    m.emit("product.create", product.id, {
        "sku": new.sku, "name": product.name, "category": new.category, "price": new.price,
        "tax_rate_ppm": new.tax_rate_ppm, "barcodes": codes, "active": new.active,
        "stock_tracked": new.stock_tracked, "reorder_level_milli": new.reorder_level_milli,
        "sold_by_weight": new.sold_by_weight})
    return product


def quick_add(store: LocalStore, actor: Actor, new: NewProduct) -> str:
    """Add a product on the spot (an unknown barcode was scanned)."""
    require(actor.role, Action.PRODUCT_QUICK_ADD)
    with mutation(store.db, store.device_id, actor, "product.create") as m:
        return add_in(m, new).id


def apply_edits(m: Mutation, product: Product, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the changed fields on ``product``; returns {field: {base, value}} of real changes."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CatalogError(f"Cannot edit {', '.join(sorted(unknown))}")
    before = product_state(product)
    for field_name, value in changes.items():
        if field_name == "barcodes":
            codes = check_barcodes(m.session, value, product.id)
            product.barcodes = [Barcode(code=c) for c in codes]
        elif field_name == "category":
            product.category_id = category_id(m.session, value)
            product.category = m.session.get(Category, product.category_id) if product.category_id else None
        else:
            setattr(product, field_name, value)
    validate(NewProduct(product.sku, product.name, product.price, product.tax_rate_ppm))
    m.session.flush()
    after = product_state(product)
    edits = {k: {"base": before[k], "value": after[k]} for k in changes if before[k] != after[k]}
    if "price" in edits:
        m.session.add(PriceChange(id=new_id(), product_id=product.id, old_price=before["price"],
                                  new_price=after["price"], actor_id=m.actor.staff_id, changed_at=m.at))
    product.updated_at = m.at
    return edits


def update_product(store: LocalStore, actor: Actor, product_id: str, changes: dict[str, Any],
                   reason: str | None = None) -> dict[str, dict[str, Any]]:
    require(actor.role, Action.CATALOG_EDIT)
    with mutation(store.db, store.device_id, actor, "product.update") as m:
        product = m.session.get(Product, product_id)
        if product is None:
            raise CatalogError("That product no longer exists")
        try:
            edits = apply_edits(m, product, changes)
        except BarcodeError as exc:
            raise CatalogError(str(exc)) from exc
        if not edits:
            raise CatalogError("Nothing was changed")
        m.audit("product", product.id, {k: {"before": v["base"], "after": v["value"]} for k, v in edits.items()},
                reason=reason)
        m.emit("product.update", product.id, {"fields": edits, "reason": reason}, base_version=product.version)
        return edits


def price_history(store: LocalStore, product_id: str) -> list[PriceChange]:
    with store.db.read() as s:
        rows = list(s.scalars(select(PriceChange).where(PriceChange.product_id == product_id)
                              .order_by(PriceChange.changed_at)))
        s.expunge_all()
        return rows


def details(store: LocalStore, product_id: str) -> dict[str, Any]:
    """Everything the catalog editor shows about a product (see :func:`product_state`)."""
    with store.db.read() as s:
        product = s.get(Product, product_id)
        if product is None:
            raise CatalogError("That product no longer exists")
        return {"id": product.id, "version": product.version, **product_state(product)}


def common_tax_rates(store: LocalStore, limit: int = 6) -> list[int]:
    """The tax rates (ppm) the catalog uses, most used first: the quick-add form offers them."""
    from sqlalchemy import func

    with store.db.read() as s:
        rows = s.execute(select(Product.tax_rate_ppm).group_by(Product.tax_rate_ppm)
                         .order_by(func.count().desc()).limit(limit))
        return [int(r[0]) for r in rows]
