"""Catalog edits on the terminal: quick-add, field edits with price history.

Every value passes the shared product rules (app/domain/product_rules.py, the server's
too) before anything is written; a barcode or an SKU of another local product is refused
with the server's wording, naming that product. A refusal is a :class:`CatalogError`:
nothing written, no audit entry, no outbox operation.

An edit syncs as ``product.update`` with the base value of each changed field, so
an offline edit of the price and a central edit of the name both apply, while two
different prices for the same product become a conflict for a manager. A sale
keeps the price it was rung up at: order lines hold their own snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.operations import OpType
from app.domain.payloads import EntityUpdate, FieldEdit, ProductCreate
from app.domain.permissions import Action, require
from app.domain.product_rules import (
    ProductFieldError,
    barcode_taken,
    check_product,
    code_spellings,
    sku_taken,
    stored_form,
)
from app.domain.text_rules import too_long
from app.store.local import LocalStore
from app.store.models import Barcode, Category, PriceChange, Product
from app.store.unit_of_work import Actor, Mutation, mutation

EDITABLE = ("name", "price", "tax_rate_ppm", "category", "reorder_level_milli", "active", "barcodes",
            "sold_by_weight", "stock_tracked")


class CatalogError(ValueError):
    """A catalog change that cannot be made; the message names the field, and ``field``
    is the field's name (``barcodes``) when one field is at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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


def _checked(values: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``values`` through the shared product rules (:func:`check_product`), as stored."""
    try:
        return check_product(values, current)
    except ProductFieldError as exc:
        raise _error(exc) from exc


def _error(exc: ProductFieldError) -> CatalogError:
    return CatalogError(str(exc), exc.field)


def check_barcodes_free(s: Session, codes: Iterable[str], product_id: str | None) -> None:
    """CatalogError naming the other product if one of ``codes`` (checked, in stored form)
    already belongs to another product in this store (also under its UPC-A spelling)."""
    codes = list(codes)
    if not codes:
        return
    query = (select(Barcode.code, Product.name, Product.sku).join(Product, Barcode.product_id == Product.id)
             .where(Barcode.code.in_(code_spellings(codes))).order_by(Product.sku))
    if product_id is not None:
        query = query.where(Product.id != product_id)
    held = [(stored_form(r.code), r.name, r.sku) for r in s.execute(query)]
    for code in codes:
        for other_code, name, sku in held:
            if other_code == code:
                raise _error(barcode_taken(code, name, sku))


def check_sku_free(s: Session, sku: str, product_id: str | None) -> None:
    """CatalogError naming the other product if another product in this store has ``sku``
    (compared exactly, as the store's unique SKU column compares it)."""
    query = select(Product.name).where(Product.sku == sku).order_by(Product.id).limit(1)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    other = s.scalar(query)
    if other is not None:
        raise _error(sku_taken(sku, other))


def product_state(p: Product) -> dict[str, Any]:
    return {"sku": p.sku, "name": p.name, "price": p.price, "tax_rate_ppm": p.tax_rate_ppm,
            "category": p.category.name if p.category else None, "barcodes": sorted(b.code for b in p.barcodes),
            "reorder_level_milli": p.reorder_level_milli, "active": p.active,
            "sold_by_weight": p.sold_by_weight, "stock_tracked": p.stock_tracked}


def values_of(new: NewProduct) -> dict[str, Any]:
    """Every field of ``new`` as the product rules name them."""
    return {"sku": new.sku, "name": new.name, "category": new.category, "price": new.price,
            "tax_rate_ppm": new.tax_rate_ppm, "barcodes": list(new.barcodes),
            "reorder_level_milli": new.reorder_level_milli, "active": new.active,
            "stock_tracked": new.stock_tracked, "sold_by_weight": new.sold_by_weight}


def validate(new: NewProduct) -> dict[str, Any]:
    """Every value of ``new`` through the shared product rules (app/domain/product_rules.py,
    also the server's); returns them as stored (barcodes normalized). CatalogError."""
    return _checked(values_of(new))


def add_in(m: Mutation, new: NewProduct) -> Product:
    """Create a product inside an open mutation (quick-add and CSV import share it)."""
    values = validate(new)
    s = m.session
    check_sku_free(s, values["sku"], None)
    codes = values["barcodes"]
    check_barcodes_free(s, codes, None)
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
            action=OpType.PRODUCT_CREATE)
    m.emit(OpType.PRODUCT_CREATE, product.id, ProductCreate(
        sku=new.sku, name=product.name, category=new.category, price=new.price,
        tax_rate_ppm=new.tax_rate_ppm, barcodes=codes, active=new.active,
        stock_tracked=new.stock_tracked, reorder_level_milli=new.reorder_level_milli,
        sold_by_weight=new.sold_by_weight))
    return product


def quick_add(store: LocalStore, actor: Actor, new: NewProduct) -> str:
    """Add a product on the spot (an unknown barcode was scanned)."""
    require(actor.role, Action.PRODUCT_QUICK_ADD)
    with mutation(store.db, store.device_id, actor, OpType.PRODUCT_CREATE) as m:
        return add_in(m, new).id


def field_edits(edits: dict[str, dict[str, Any]], reason: str | None) -> EntityUpdate:
    """A product.update payload from :func:`apply_edits`' {field: {base, value}}."""
    return EntityUpdate(fields={k: FieldEdit(**v) for k, v in edits.items()}, reason=reason)


def apply_edits(m: Mutation, product: Product, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the changed fields on ``product``; returns {field: {base, value}} of real changes."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CatalogError(f"Cannot edit {', '.join(sorted(unknown))}")
    before = product_state(product)
    # each value, and the product they make, through the shared rules before anything is set
    values = _checked(changes, before)
    if "barcodes" in values:
        check_barcodes_free(m.session, values["barcodes"], product.id)
    for field_name, value in values.items():
        if field_name == "barcodes":
            product.barcodes = [Barcode(code=c) for c in value]
        elif field_name == "category":
            product.category_id = category_id(m.session, value)
            product.category = m.session.get(Category, product.category_id) if product.category_id else None
        else:
            setattr(product, field_name, value)
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
    problem = too_long("The reason", reason, MAX_REASON)
    if problem:
        raise CatalogError(problem)
    with mutation(store.db, store.device_id, actor, OpType.PRODUCT_UPDATE) as m:
        product = m.session.get(Product, product_id)
        if product is None:
            raise CatalogError("That product no longer exists")
        edits = apply_edits(m, product, changes)
        if not edits:
            raise CatalogError("Nothing was changed")
        m.audit("product", product.id, {k: {"before": v["base"], "after": v["value"]} for k, v in edits.items()},
                reason=reason)
        m.emit(OpType.PRODUCT_UPDATE, product.id, field_edits(edits, reason),
               base_version=product.version)
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
